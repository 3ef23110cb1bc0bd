"""Two-factor sign-in with an authenticator app (TOTP through django-otp).

- Optional for every staff member: /accounts/two-factor/ (`staff.two_factor_views`) sets up
  an authenticator app, and removes it again with a current code.
- `TwoFactorLoginFormMixin`: once someone has a confirmed device, signing in (the inbox's
  form and the admin's) needs a current code as well as the password. A wrong or missing code
  gets the same error as a wrong password and counts as a failed sign-in for django-axes.
  django-otp stores the device that verified the code in the session (OTPMiddleware then
  makes `request.user.is_verified()` true).
- `TwoFactorRequiredMiddleware`: with REQUIRE_2FA_FOR_SUPERUSERS on, a superuser without a
  confirmed device can only set one up (or sign out); a superuser with one must have signed in
  with a code to use any page.

Codes go through each device's own verification: its throttling (after a wrong code the next
try must wait 1, 2, 4, … seconds) and replay protection (an accepted code is never accepted
again). A lost phone: a superuser deletes the person's device in the admin (README, "Access
control").
"""

import re
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

# The form field that carries the code (also masked in django-axes' records).
TOKEN_FIELD = "otp_token"  # noqa: S105 - a form field name, not a secret
# What people may type: the digits, perhaps grouped with spaces or a hyphen ("123 456").
TOKEN_SEPARATORS = re.compile(r"[\s-]+")
TOKEN_SHAPE = re.compile(r"[0-9]{6,8}")


def two_factor_exempt(view_func):
    """Let a superuser who still has to set up two-factor sign-in reach this view (with
    REQUIRE_2FA_FOR_SUPERUSERS on, every other page sends them to the set-up page)."""
    view_func.two_factor_exempt = True
    return view_func


def totp_devices(user, confirmed=True):
    """The user's authenticator-app devices (confirmed=None: confirmed or not)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.devices_for_user(user, confirmed=confirmed)


def has_device(user):
    """Whether the user has a confirmed device of any kind django-otp knows."""
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


def must_enrol(user):
    """Whether the rules require this user to set up two-factor sign-in before anything else."""
    return settings.REQUIRE_2FA_FOR_SUPERUSERS and user.is_superuser and not has_device(user)


def clean_token(token):
    """The code as the devices expect it, or "" when it cannot be one."""
    token = TOKEN_SEPARATORS.sub("", token or "")
    return token if TOKEN_SHAPE.fullmatch(token) else ""


def verify(user, token, devices=None):
    """The device of `user` that accepts `token` (among `devices`, by default their confirmed
    ones), or None. Rows are locked while a code is checked, so two requests cannot both
    use one code."""
    from django_otp import devices_for_user

    token = clean_token(token)
    if not token:
        return None
    with transaction.atomic():
        if devices is None:
            candidates = devices_for_user(user, confirmed=True, for_verify=True)
        else:
            candidates = devices.select_for_update()
        for device in candidates:
            if device.user_id == user.pk and device.verify_token(token):
                return device
    return None


def code_field(**kwargs):
    return forms.CharField(
        label=gettext_lazy("Authentication code"),
        strip=True,
        # No max_length: anything that is not a code is simply a wrong code (clean_token).
        widget=forms.TextInput(
            attrs={
                "maxlength": 12,
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": r"[0-9 \-]*",
                "spellcheck": "false",
                "dir": "ltr",
            }
        ),
        **kwargs,
    )


class TwoFactorLoginFormMixin(forms.Form):
    """For AuthenticationForm subclasses: a user with a confirmed device must also give a
    current code. Put it before the AuthenticationForm in the bases."""

    otp_token = code_field(
        required=False,
        help_text=gettext_lazy("Only if you have set up an authenticator app."),
    )

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        user.otp_device = None
        if not has_device(user):
            return
        device = verify(user, self.cleaned_data.get(TOKEN_FIELD))
        if device is None:
            # The password was right, but that alone does not let this user in: refused like a
            # wrong password, so a guessed password is not confirmed, and counted like one by
            # django-axes (and the audit log), which listen for this signal.
            self.user_cache = None
            user_login_failed.send(
                sender=__name__,
                credentials={"username": self.cleaned_data.get("username")},
                request=self.request,
            )
            raise self.get_invalid_login_error()
        # django-otp's user_logged_in receiver calls django_otp.login(request, device), which
        # keeps the device in the session: the session is verified.
        user.otp_device = device


class TwoFactorRequiredMiddleware:
    """With REQUIRE_2FA_FOR_SUPERUSERS on: a signed-in superuser without a confirmed device is
    sent to the set-up page from every page but that one, sign-out and public pages; a
    superuser with a device whose session was not verified by a code (e.g. signed in before
    adding it elsewhere) is signed out and asked to sign in again.

    Goes after OTPMiddleware (request.user.is_verified) and StaffRequiredMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.REQUIRE_2FA_FOR_SUPERUSERS:
            return None
        if not getattr(view_func, "login_required", True):
            return None  # public pages (sign-in, privacy, webhook, health check)
        if getattr(view_func, "two_factor_exempt", False):
            return None
        user = request.user
        if not (user.is_authenticated and user.is_superuser) or user.is_verified():
            return None
        if has_device(user):
            logout(request)
            messages.info(
                request,
                _("Sign in again with a code from your authenticator app."),
                fail_silently=True,
            )
            # An htmx request gets HX-Redirect from SessionExpiryMiddleware.
            return redirect_to_login(request.get_full_path())
        url = f"{reverse('two_factor')}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(url)
        return redirect(url)
