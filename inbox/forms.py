from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from messaging.ids import MAX_ID, parse_id
from staff.two_factor import TwoFactorLoginFormMixin


# A user with two-factor sign-in set up must also give a current code (staff.two_factor).
class StaffAuthenticationForm(TwoFactorLoginFormMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("This account has no access to the inbox. Ask an administrator."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


# The inbox's own forms. Pages always send well-formed values; anything else was tampered with
# (or is very stale), and the view answers 400 with these messages instead of failing.


class ReplyForm(forms.Form):
    # Not stripped or limited here: the messaging layer refuses an empty or too long text
    # with a reason, and the draft goes back to the composer as it was typed.
    text = forms.CharField(required=False, strip=False)
    client_token = forms.UUIDField(
        required=False, error_messages={"invalid": _("The form's double-submit token is broken.")}
    )
    reply_to = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        error_messages={
            "invalid": _("The message to reply to must be given by its number."),
            "min_value": _("The message to reply to must be given by its number."),
            "max_value": _("The message to reply to must be given by its number."),
        },
    )


class AssignForm(forms.Form):
    """Whom to assign: "me", a member of staff by id, or nobody ("")."""

    assignee = forms.CharField(required=False)

    def __init__(self, data, *, user, staff):
        super().__init__(data)
        self.user, self.staff = user, staff

    def clean_assignee(self):
        choice = self.cleaned_data["assignee"]
        if choice == "me":
            return self.user
        if not choice:
            return None
        pk = parse_id(choice)
        person = self.staff.filter(pk=pk).first() if pk else None
        if person is None:
            raise forms.ValidationError(
                _("Choose an active member of staff who can open this conversation."),
                code="invalid_choice",
            )
        return person


class StateForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("open", "open"), ("closed", "closed")],
        error_messages={
            "required": _("Say whether to close or reopen the conversation."),
            "invalid_choice": _("A conversation can only be open or closed."),
        },
    )
