from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from config.two_factor import TwoFactorLoginFormMixin


# A user with two-factor sign-in set up must also give a current code (config.two_factor).
class StaffAuthenticationForm(TwoFactorLoginFormMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("This account has no access to the inbox. Ask an administrator."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")
