from django.urls import path

from inbox import (
    views,
    views_media,
    views_privacy,
    views_settings,
    views_teamwork,
    views_templates,
)
from inbox.views_search import find_in_conversation
from staff.security import passive_view
from staff.two_factor import two_factor_exempt

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    # The page polls by itself: not activity that keeps a session alive.
    path("poll/", passive_view(views.poll), name="poll"),
    # Also while a superuser must first set up two-factor sign-in (staff.two_factor).
    path("language/", two_factor_exempt(views.choose_language), name="language"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/messages/", views.older_messages, name="older"),
    path("c/<int:pk>/find/", find_in_conversation, name="find"),
    path("c/<int:pk>/reply/", views.reply, name="reply"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/state/", views.set_state, name="state"),
    path("c/<int:pk>/read/", views.mark_read, name="read"),
    path("c/<int:pk>/unread/", views.mark_unread, name="unread"),
    path("c/<int:pk>/m/<int:message_pk>/retry/", views.retry, name="retry"),
    path("c/<int:pk>/m/<int:message_pk>/react/", views.react, name="react"),
    path("c/<int:pk>/template/", views_templates.template_panel, name="template"),
    path(
        "c/<int:pk>/template/preview/",
        views_templates.template_preview,
        name="template_preview",
    ),
    path("c/<int:pk>/template/send/", views_templates.template_send, name="template_send"),
    path("c/<int:pk>/attach/", views_media.attach, name="attach"),
    path("c/<int:pk>/deletion-request/", views_privacy.request_deletion, name="deletion_request"),
    path("media/<int:message_pk>/", views_media.media, name="media"),
    path("c/<int:pk>/labels/", views_teamwork.label, name="label"),
    path("c/<int:pk>/notes/", views_teamwork.note, name="note"),
    path(
        "settings/notifications/",
        views_settings.notification_settings,
        name="notification_settings",
    ),
    path("settings/", views_settings.preferences, name="preferences"),
    path("settings/labels/", views_settings.labels, name="labels"),
    path("settings/labels/add/", views_settings.label_add, name="label_add"),
    path("settings/labels/<int:label_pk>/", views_settings.label_edit, name="label_edit"),
    path(
        "settings/labels/<int:label_pk>/delete/",
        views_settings.label_delete,
        name="label_delete",
    ),
    path("settings/quick-replies/", views_settings.quick_replies, name="quick_replies"),
    path("settings/quick-replies/add/", views_settings.quick_reply_add, name="quick_reply_add"),
    path(
        "settings/quick-replies/<int:quick_reply_pk>/",
        views_settings.quick_reply_edit,
        name="quick_reply_edit",
    ),
    path(
        "settings/quick-replies/<int:quick_reply_pk>/delete/",
        views_settings.quick_reply_delete,
        name="quick_reply_delete",
    ),
]
