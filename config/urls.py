from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from config.views import healthz, metrics
from inbox.forms import StaffAuthenticationForm
from inbox.middleware import staff_not_required
from messaging.views import whatsapp_webhook
from staff.security import open_to_internet
from staff.two_factor import two_factor_exempt
from staff.two_factor_views import two_factor

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=StaffAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Anyone may sign out: an account that lost its staff flag, and someone whose session
    # expired while the page was open (no detour through the login page, which would then
    # send them back here with a GET).
    path(
        "accounts/logout/",
        login_not_required(two_factor_exempt(staff_not_required(auth_views.LogoutView.as_view()))),
        name="logout",
    ),
    # Staff set up (or remove) an authenticator app for two-factor sign-in.
    path("accounts/two-factor/", two_factor, name="two_factor"),
    # Reachable from any network, even with INBOX_ALLOWED_NETWORKS set (staff.security).
    path("healthz", open_to_internet(healthz), name="healthz"),
    # Its own network and token rule instead (config.views.may_scrape), so a scraper outside
    # INBOX_ALLOWED_NETWORKS can still use the token.
    path("metrics", open_to_internet(metrics), name="metrics"),
    path("webhooks/whatsapp/", open_to_internet(whatsapp_webhook), name="whatsapp-webhook"),
    path("admin/", admin.site.urls),
    # The public privacy policy (open_to_internet, no sign-in): privacy/views.py.
    path("privacy/", include("privacy.urls")),
    path("", include("inbox.urls")),
]
