from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import Warning, register


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
