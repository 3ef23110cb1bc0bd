"""Forms of the settings pages in the inbox (inbox.views_settings)."""

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from automation.models import Label, QuickReply, StaffPreferences
from automation.models.replies import TEXT_LIMIT
from staff.models import StaffProfile


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    class Meta:
        model = StaffProfile
        fields = ["language", "theme"]
        labels = {"theme": _("Theme")}
        widgets = {"theme": forms.RadioSelect}


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = StaffPreferences
        fields = ["notify_assigned", "notify_mentioned", "notify_waiting", "available"]
        labels = {"available": _("Round-robin rules may assign conversations to me")}


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["name", "colour", "description"]


def text_field_name(code):
    return f"text_{code}"


class QuickReplyForm(forms.ModelForm):
    """A quick reply with its text in each language on one form (the admin's inline of
    QuickReplyText rows): an empty text means no variant in that language."""

    class Meta:
        model = QuickReply
        fields = ["shortcut", "title", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        existing = {}
        if self.instance.pk:
            existing = {text.language: text.text for text in self.instance.texts.all()}
        for code, _name in settings.LANGUAGES:
            # The language's name in the page's language ("Arabic", not "العربية").
            language = get_language_info(code)["name_translated"]
            self.fields[text_field_name(code)] = forms.CharField(
                label=_("Text in %(language)s") % {"language": language},
                required=False,
                max_length=TEXT_LIMIT,
                widget=forms.Textarea(attrs={"rows": 4, "lang": code, "dir": "auto"}),
                initial=existing.get(code, ""),
            )

    def text_fields(self):
        return [self[text_field_name(code)] for code, _name in settings.LANGUAGES]

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(text_field_name(code)) for code, _name in settings.LANGUAGES):
            raise forms.ValidationError(_("Write the text in at least one language."))
        return cleaned

    @transaction.atomic
    def save(self, commit=True):
        quick_reply = super().save()
        for code, _name in settings.LANGUAGES:
            text = self.cleaned_data[text_field_name(code)]
            if text:
                quick_reply.texts.update_or_create(language=code, defaults={"text": text})
            else:
                quick_reply.texts.filter(language=code).delete()
        return quick_reply
