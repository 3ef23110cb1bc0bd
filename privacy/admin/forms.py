"""The deletion-request admin's forms: recording a request within the officer's numbers, and
rejecting one."""

from typing import Any, cast

from django import forms
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from messaging.models import Contact
from messaging.querysets import Viewer
from privacy.models import (
    DeletionRequest,
    holding,
)
from privacy.scrub import normalise_id
from staff.models import StaffProfile
from staff.permissions import users_with_perm, with_every_number


class DeletionRequestForm(forms.ModelForm):
    # Who fills the form in (DeletionRequestAdmin.get_form sets it): the ids a person limited
    # to some business numbers gives must be of someone who wrote to one of them.
    viewer: Viewer | None = None

    class Meta:
        model = DeletionRequest
        fields = ["phone", "user_id", "contact", "channel", "received_at", "status", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            # Completed and rejected are reached only through "Erase data" and "Reject".
            cast(forms.ChoiceField, self.fields["status"]).choices = [
                (value, label)
                for value, label in DeletionRequest.Status.choices
                if value in DeletionRequest.OPEN_STATES
            ]

    def clean_phone(self) -> str:
        return normalise_id(self.cleaned_data.get("phone", ""))

    def clean_user_id(self) -> str:
        return normalise_id(self.cleaned_data.get("user_id", ""))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not (cleaned.get("phone") or cleaned.get("user_id") or cleaned.get("contact")):
            raise forms.ValidationError(
                _("Give the requester's phone number, business-scoped user id, or contact.")
            )
        self._check_ids_in_scope()
        return cleaned

    def _check_ids_in_scope(self) -> None:
        """Someone limited to some numbers names only people who wrote to one of them: an id
        no contact of theirs holds is refused alike, whether someone else or nobody holds it,
        so the form tells nothing about other numbers. (The contact field offers only their
        contacts: DeletionRequestAdmin.formfield_for_foreignkey.)"""
        if self.viewer is None or StaffProfile.objects.number_scope(self.viewer) is None:
            return
        theirs = Contact.objects.visible_to(self.viewer)
        for name in ("phone", "user_id"):
            value = self.cleaned_data.get(name)
            if value and name in self.changed_data and not theirs.filter(holding(value)).exists():
                self.add_error(
                    name,
                    _(
                        "Nobody who wrote to the business numbers you handle has this number "
                        "or id. Someone who handles every number can record requests for "
                        "anyone: %(names)s."
                    )
                    % {"names": who_handles_every_number("privacy.add_deletionrequest")},
                )


class VisibleRawIdWidget(ForeignKeyRawIdWidget):
    """The raw id input of a contact, naming only a contact the viewer may see: an id of
    another number's contact, typed in and sent back with the form's errors, shows nothing."""

    def __init__(self, *args: Any, visible: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible = visible

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        try:
            seen = self.visible.filter(pk=value).exists()
        except (ValueError, OverflowError, ValidationError):
            seen = False
        return super().label_and_url_for_value(value) if seen else ("", "")


def who_handles_every_number(perm: str) -> str:
    """The usernames of the active staff holding `perm` who see every business number: who
    can act where someone limited to some numbers may not."""
    staff = users_with_perm(perm).filter(is_staff=True)
    names = with_every_number(staff).order_by("username").values_list("username", flat=True)
    return ", ".join(names) or str(_("nobody yet (a superuser can give someone every number)"))


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejection"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "dir": "auto"}),
        strip=True,
    )
