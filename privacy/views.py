"""The public privacy policy page (/privacy/): no sign-in, reachable from any network, because
Meta (and anyone who messages the organisation) must be able to read it."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_safe

from privacy.retention import periods
from staff.security import open_to_internet

# The organisation's own wording, one template per language (privacy/templates/privacy/);
# an organisation replaces it by putting templates of the same names in the project's
# templates/privacy/ directory, which comes first in TEMPLATES DIRS (see README).
POLICY_TEXT_TEMPLATE = "privacy/policy_text_{language}.html"
FALLBACK_LANGUAGE = "en"


@open_to_internet
@login_not_required
@require_safe
def policy(request: HttpRequest) -> HttpResponse:
    """The policy in the visitor's language (their browser's, a signed-in user's choice, or
    ?lang=ar / ?lang=en), with the configured retention periods and contact filled in."""
    language = request.GET.get("lang", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = translation.get_language() or settings.LANGUAGE_CODE
    language = translation.get_supported_language_variant(language)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        return render(
            request,
            "privacy/policy.html",
            {
                "periods": periods(),
                "contact": settings.PRIVACY_CONTACT,
                "policy_templates": [
                    POLICY_TEXT_TEMPLATE.format(language=language),
                    POLICY_TEXT_TEMPLATE.format(language=FALLBACK_LANGUAGE),
                ],
                "languages": settings.LANGUAGES,
                "current_language": language,
            },
        )
