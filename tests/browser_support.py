"""Helpers for the browser tests (Playwright driving Chromium against the live server)."""

import re

from playwright.sync_api import expect

from messaging import payloads as p
from tests.live_support import post_webhook_over_http

SLOW = 10_000  # ms: a live-server round trip on a busy CI machine
AMINA = "966501234567"


def deliver_text(live_server, text, *, sender=AMINA, name="Amina Khalid"):
    """A customer's text message, as Meta posts it."""
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=sender, name=name)],
                messages=[p.text_message(text, sender=sender)],
            )
        ),
    )


def scripts_ready(page):
    """Wait until inbox.js and htmx are wired up: keys typed earlier would be lost."""
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_class(re.compile(r"\bjs\b"))


def sign_in(page, password, username="amina", *, javascript=True):
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_attached(timeout=SLOW)
    if javascript:
        scripts_ready(page)


def row(page, name):
    return page.locator("#conversation-list .conversation-row", has_text=name)


def open_conversation(page, name):
    row(page, name).get_by_role("link").click()
    expect(page.locator("#conversation-header h2")).to_have_text(name, timeout=SLOW)
    scripts_ready(page)
