"""System checks on the WhatsApp credentials: a missing app secret or verify token on every
run; their strength on `manage.py check --deploy`, saying which credential looks weak and why,
never its value. `credential_status` tells the admin the same, again without values.
"""

import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Tags, Warning, register

from messaging.backends import backend_path

APP_SECRET = re.compile(r"[0-9a-fA-F]{32}")
MIN_VERIFY_TOKEN = 16
MIN_ACCESS_TOKEN = 50


@register()
def check_webhook_credentials(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[Warning]:
    problems = []
    if not settings.WHATSAPP_APP_SECRETS:
        problems.append(
            Warning(
                "WHATSAPP_APP_SECRET is not set: the WhatsApp webhook refuses every POST, "
                "so no messages or statuses arrive.",
                hint="Set it to your Meta app's secret (App settings → Basic).",
                id="messaging.W001",
            )
        )
    if not settings.WHATSAPP_VERIFY_TOKEN:
        problems.append(
            Warning(
                "WHATSAPP_VERIFY_TOKEN is not set: Meta cannot verify the webhook URL.",
                hint="Set it to a random string and enter the same one in Meta's webhook setup.",
                id="messaging.W002",
            )
        )
    return problems


def sends_through_meta() -> bool:
    transport: dict[str, Any] = settings.WHATSAPP_TRANSPORT
    return backend_path(transport["BACKEND"]) == backend_path("cloud")


@register(Tags.security, deploy=True)
def check_credential_strength(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[Warning]:
    problems = []
    secrets = settings.WHATSAPP_APP_SECRETS
    for number, secret in enumerate(secrets, start=1):
        if weak_app_secret(secret):
            problems.append(
                Warning(
                    f"WHATSAPP_APP_SECRET (secret {number} of {len(secrets)}) does not look like "
                    f"a Meta app secret: those are 32 hexadecimal characters, this one has "
                    f"{len(secret)} characters.",
                    hint="Copy it again from your Meta app: App settings → Basic → App secret.",
                    id="credentials.W001",
                )
            )
    token = settings.WHATSAPP_VERIFY_TOKEN
    if weak_verify_token(token):
        problems.append(
            Warning(
                f"WHATSAPP_VERIFY_TOKEN is short ({len(token)} characters): anyone who guesses "
                f"it can subscribe the webhook URL to a Meta app.",
                hint=f"Use at least {MIN_VERIFY_TOKEN} random characters, e.g. "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'.",
                id="credentials.W002",
            )
        )
    access = settings.WHATSAPP_ACCESS_TOKEN
    if sends_through_meta() and not access:
        problems.append(
            Warning(
                "WHATSAPP_ACCESS_TOKEN is not set while WHATSAPP_BACKEND is cloud: "
                "no reply can be sent.",
                hint="Set it to a system-user token (README, Connecting a Meta app).",
                id="credentials.W003",
            )
        )
    elif sends_through_meta() and weak_access_token(access):
        problems.append(
            Warning(
                f"WHATSAPP_ACCESS_TOKEN is suspiciously short ({len(access)} characters) for a "
                f"Meta access token: it is probably a placeholder or truncated.",
                hint="Generate a system-user token in Meta's Business Settings and set it again.",
                id="credentials.W004",
            )
        )
    return problems


def weak_app_secret(secret: str) -> bool:
    return not APP_SECRET.fullmatch(secret)


def weak_verify_token(token: str) -> bool:
    return bool(token) and len(token) < MIN_VERIFY_TOKEN


def weak_access_token(token: str) -> bool:
    return bool(token) and len(token) < MIN_ACCESS_TOKEN


def credential_status() -> dict[str, int | bool]:
    """Whether each WhatsApp credential is set and looks strong, for the admin; never a value."""
    secrets = settings.WHATSAPP_APP_SECRETS
    verify, access = settings.WHATSAPP_VERIFY_TOKEN, settings.WHATSAPP_ACCESS_TOKEN
    return {
        "app_secrets": len(secrets),
        "weak_app_secrets": sum(weak_app_secret(secret) for secret in secrets),
        "verify_token": bool(verify),
        "weak_verify_token": weak_verify_token(verify),
        "access_token": bool(access),
        "weak_access_token": sends_through_meta() and weak_access_token(access),
        "access_token_needed": sends_through_meta(),
    }
