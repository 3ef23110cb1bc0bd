"""Helpers for tests against pytest-django's live server.

With SQLite the test database is one in-memory connection that pytest-django hands to the
live server's request threads and that the test thread uses too. Two threads inside it at once
fail at random ("database table is locked"): the server handles one request at a time (see the
`page` fixture), and the test thread's own database work takes the same lock via `database()`.
"""

import threading
from contextlib import contextmanager

import requests

from messaging import payloads as p
from messaging.signature import sign
from tests.webhook_support import run_webhook_tasks

DATABASE_LOCK = threading.RLock()
APP_SECRET = "test-app-secret"


@contextmanager
def database():
    """Use the database from the test thread (never around HTTP calls or browser actions)."""
    with DATABASE_LOCK:
        yield


def close_browser_context(context):
    """Close a browser context, then wait for a request it left on the live server: the
    database flush after the test must not race it ("database table is locked")."""
    context.close()
    with DATABASE_LOCK:
        pass


def post_webhook_over_http(live_server, payload):
    """A signed webhook body, POSTed to the live server the way Meta delivers it."""
    raw = p.encode(payload)
    response = requests.post(
        f"{live_server.url}/webhooks/whatsapp/",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    with database():
        run_webhook_tasks()  # what db_worker does next, in production
    return response
