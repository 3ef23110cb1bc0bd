"""System checks on the retention periods, for settings that did not come through
config/settings.py's own validation (a settings module of one's own, an override), and a
deployment check on the tombstone key."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from privacy.retention import PERIOD_SETTINGS


@register()
def check_retention_periods(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[Error]:
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
    if settings.RETENTION_DELETION_REQUESTS_DAYS < settings.RETENTION_WEBHOOK_DAYS + 7:
        problems.append(
            Error(
                "RETENTION_DELETION_REQUESTS_DAYS must be at least RETENTION_WEBHOOK_DAYS + 7.",
                hint=(
                    "Erasure tombstones go with the requests: they must outlive Meta's 7-day "
                    "redelivery window and the raw webhook bodies."
                ),
                id="privacy.E004",
            )
        )
    return problems


# Shorter than this, a key is guessable enough to matter (an HMAC key of 32 random characters
# carries well over 128 bits).
MIN_HASH_KEY_LENGTH = 32


@register(Tags.security, deploy=True)
def check_erasure_hash_key(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[Warning]:
    key = settings.ERASURE_HASH_KEY
    if getattr(settings, "ERASURE_HASH_KEY_DERIVED", False):
        return [
            Warning(
                "ERASURE_HASH_KEY is not set: erasure tombstones are keyed with SECRET_KEY, so "
                "rotating SECRET_KEY would stop redelivered webhooks of erased people from "
                "being recognised (they would be stored again).",
                hint=(
                    "Set ERASURE_HASH_KEY (or ERASURE_HASH_KEY_FILE) to 50 random characters and "
                    "never change it. To keep the tombstones made so far valid, give it the "
                    "value it has now instead: 'erasure:' followed by the current SECRET_KEY."
                ),
                id="privacy.W001",
            )
        ]
    if len(key) < MIN_HASH_KEY_LENGTH:
        return [
            Warning(
                f"ERASURE_HASH_KEY is shorter than {MIN_HASH_KEY_LENGTH} characters.",
                hint="Phone numbers are few enough to guess: the key must not be.",
                id="privacy.W002",
            )
        ]
    return []
