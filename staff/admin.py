"""Two-factor sign-in in the admin (staff.two_factor).

- The admin's own sign-in page asks for the authentication code too: a password alone must
  not get around two-factor sign-in through /admin/login/.
- Superusers see everyone's authenticator-app devices (django-otp's TOTP device admin) and
  can delete a lost one, which is how someone who lost their phone gets back in. Keys and QR
  codes are never shown (OTP_ADMIN_HIDE_SENSITIVE_DATA), and devices are not added here:
  everyone sets up their own on /accounts/two-factor/, so no one else ever sees the key.
"""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.two_factor import TwoFactorLoginFormMixin


class AdminTwoFactorAuthenticationForm(TwoFactorLoginFormMixin, AdminAuthenticationForm):
    pass


admin.site.login_form = AdminTwoFactorAuthenticationForm
admin.site.login_template = "registration/admin_login.html"


class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, StaffTOTPDeviceAdmin)
