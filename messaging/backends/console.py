"""A transport for local development: prints what would be sent and pretends Meta took it."""

import json
import secrets
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any, TextIO

from django.db import transaction
from django.utils import timezone

from messaging.backends.base import BaseBackend, MediaInfo, SendError, SendResult
from messaging.tasks import simulate_status

# Seconds after acceptance at which the simulated sent, delivered and read statuses arrive.
STATUS_DELAYS = (1, 3, 6)


class ConsoleBackend(BaseBackend):
    def __init__(
        self, stream: TextIO | None = None, status_delays: Iterable[int] = STATUS_DELAYS
    ) -> None:
        self.stream = stream or sys.stdout
        self.status_delays = tuple(status_delays)

    def send(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        wamid = "wamid.CONSOLE" + secrets.token_hex(12).upper()
        self.stream.write(
            f"[whatsapp console] POST /{phone_number_id}/messages → {wamid}\n"
            f"{json.dumps(payload, ensure_ascii=False, indent=2)}\n"
        )
        self.stream.flush()
        if "to" in payload or "recipient" in payload:
            self.simulate_statuses(
                phone_number_id, wamid, payload.get("to") or payload["recipient"]
            )
        return SendResult(wamid=wamid)

    def simulate_statuses(self, phone_number_id: str, wamid: str, recipient: str) -> None:
        """Make the demo's ticks move: sent, delivered and read arrive as real status
        webhooks would, a few seconds apart, through the same ingestion path."""
        now = timezone.now()
        for delay, status in zip(self.status_delays, ("sent", "delivered", "read"), strict=True):
            deferred = simulate_status.using(run_after=now + timedelta(seconds=delay))
            transaction.on_commit(
                partial(deferred.enqueue, phone_number_id, wamid, recipient, status)
            )

    def upload_media(
        self, phone_number_id: str, filename: str, content: bytes, mime_type: str
    ) -> str:
        media_id = "CONSOLE" + secrets.token_hex(8)
        self.stream.write(
            f"[whatsapp console] POST /{phone_number_id}/media {mime_type} "
            f"{len(content)} bytes → {media_id}\n"
        )
        return media_id

    def media_info(self, media_id: str) -> MediaInfo:
        raise SendError("The console transport has no media to download", code=100)

    def download_media(self, url: str, max_bytes: int) -> Iterator[bytes]:
        raise SendError("The console transport has no media to download", code=100)

    def list_templates(self, waba_id: str) -> Iterator[dict[str, Any]]:
        return iter(())
