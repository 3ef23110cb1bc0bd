"""Each staff member's interface language, kept on their profile and applied on every device.

The choice is copied into the session at sign-in, so applying it costs no query per request.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

from staff.models import StaffProfile

SESSION_KEY = "inbox_language"


def set_language(request, language):
    StaffProfile.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    translation.activate(language)
    request.LANGUAGE_CODE = language


@receiver(user_logged_in)
def restore_language(sender, request, user, **kwargs):
    language = StaffProfile.objects.filter(user=user).values_list("language", flat=True).first()
    if language and request is not None:
        request.session[SESSION_KEY] = language


class UserLanguageMiddleware:
    """After LocaleMiddleware (browser language), let the person's own choice win."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.session.get(SESSION_KEY)
        if language in self.available:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
