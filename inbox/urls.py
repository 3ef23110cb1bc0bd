from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("poll/", views.poll, name="poll"),
    path("language/", views.choose_language, name="language"),
    path("c/<int:pk>/", views.conversation, name="conversation"),
    path("c/<int:pk>/messages/", views.older_messages, name="older"),
    path("c/<int:pk>/reply/", views.reply, name="reply"),
    path("c/<int:pk>/assign/", views.assign, name="assign"),
    path("c/<int:pk>/state/", views.set_state, name="state"),
    path("c/<int:pk>/unread/", views.mark_unread, name="unread"),
]
