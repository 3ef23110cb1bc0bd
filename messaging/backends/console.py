"""A transport for local development: prints what would be sent and pretends Meta took it."""

import json
import secrets
import sys

from messaging.backends.base import BaseBackend, SendResult


class ConsoleBackend(BaseBackend):
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, phone_number_id, payload):
        wamid = "wamid.CONSOLE" + secrets.token_hex(12).upper()
        self.stream.write(
            f"[whatsapp console] POST /{phone_number_id}/messages → {wamid}\n"
            f"{json.dumps(payload, ensure_ascii=False, indent=2)}\n"
        )
        self.stream.flush()
        return SendResult(wamid=wamid)
