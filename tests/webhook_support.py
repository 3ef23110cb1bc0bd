"""Posting signed webhook bodies from many threads at once (PostgreSQL concurrency tests),
and finding the shared WhatsApp payload corpus."""

import threading
from pathlib import Path

from django.db import connection
from django.test import Client

from messaging.signature import sign

URL = "/webhooks/whatsapp/"


def post_concurrently(bodies, settings):
    """POST every body at the same moment, each from its own thread and connection; the
    response status codes, in completion order."""
    start = threading.Barrier(len(bodies))
    statuses = []

    def deliver(body):
        try:
            start.wait()
            response = Client().post(
                URL,
                body,
                content_type="application/json",
                headers={"X-Hub-Signature-256": sign(body, settings.WHATSAPP_APP_SECRETS[0])},
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def corpus_dir() -> Path:
    """../shared/whatsapp-corpus beside the repository, or beside any folder above it (a git
    worktree nests the checkout deeper); the first candidate when there is none."""
    candidates = [
        parent / "shared" / "whatsapp-corpus" for parent in Path(__file__).resolve().parents[2:]
    ]
    return next((path for path in candidates if path.is_dir()), candidates[0])
