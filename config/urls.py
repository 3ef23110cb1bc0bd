from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.security import open_to_internet
from config.views import healthz
from inbox.forms import StaffAuthenticationForm
from inbox.middleware import staff_not_required
from messaging.views import whatsapp_webhook

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=StaffAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Anyone signed in may sign out, including an account that lost its staff flag.
    path("accounts/logout/", staff_not_required(auth_views.LogoutView.as_view()), name="logout"),
    # Reachable from any network, even with INBOX_ALLOWED_NETWORKS set (config.security).
    path("healthz", open_to_internet(healthz), name="healthz"),
    path("webhooks/whatsapp/", open_to_internet(whatsapp_webhook), name="whatsapp-webhook"),
    path("admin/", admin.site.urls),
    path("", include("inbox.urls")),
]
