"""System checks on the retention periods, for settings that did not come through
config/settings.py's own validation (a settings module of one's own, an override)."""

from django.conf import settings
from django.core.checks import Error, register

from privacy.retention import PERIOD_SETTINGS


@register()
def check_retention_periods(app_configs, **kwargs):
    problems = []
    for name in PERIOD_SETTINGS:
        value = getattr(settings, name, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(
                Error(
                    f"{name} must be a whole number of days, at least 1, not {value!r}.",
                    id="privacy.E001",
                )
            )
    if problems:
        return problems
    if settings.RETENTION_METADATA_DAYS < settings.RETENTION_CONTENT_DAYS:
        problems.append(
            Error(
                "RETENTION_METADATA_DAYS must be at least RETENTION_CONTENT_DAYS.",
                hint="Content is removed first; metadata (and the message itself) after.",
                id="privacy.E002",
            )
        )
    if settings.RETENTION_WEBHOOK_DAYS > settings.RETENTION_CONTENT_DAYS:
        problems.append(
            Error(
                "RETENTION_WEBHOOK_DAYS must not exceed RETENTION_CONTENT_DAYS.",
                hint="Raw webhook bodies hold message text: they may not outlive content.",
                id="privacy.E003",
            )
        )
    return problems
