from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.apps import DefaultConfig


class AuthenticatorAppsConfig(DefaultConfig):
    """django-otp's TOTP devices, under a name the admin's readers understand (staff.admin)."""

    verbose_name = _("Two-factor sign-in")
