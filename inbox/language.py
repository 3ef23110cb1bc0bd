"""Each staff member's interface language and theme, kept on their profile and applied on
every device.

Both are copied into the session at sign-in, so applying them costs no query per request
(base.html reads the theme from the session).
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

from staff.models import StaffProfile

SESSION_KEY = "inbox_language"
THEME_SESSION_KEY = "inbox_theme"


def set_language(request, language):
    StaffProfile.objects.update_or_create(user=request.user, defaults={"language": language})
    request.session[SESSION_KEY] = language
    translation.activate(language)
    request.LANGUAGE_CODE = language


@receiver(user_logged_in)
def restore_language(sender, request, user, **kwargs):
    chosen = StaffProfile.objects.filter(user=user).values_list("language", "theme").first()
    if chosen is None or request is None:
        return
    language, theme = chosen
    if language:
        request.session[SESSION_KEY] = language
    request.session[THEME_SESSION_KEY] = theme


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
