"""Sending a message template in a real browser, after the 24-hour window has closed.

The customer's message arrives as Meta posts it (a signed webhook over HTTP); staff open the
conversation, pick a template, fill in its parameters, watch the live preview and send.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from messaging import payloads as p
from messaging.backends import locmem
from messaging.models import Message
from tests.live_support import post_webhook_over_http
from tests.template_helpers import ORDER_UPDATE, make_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A poll runs every 2 s; the preview waits 300 ms after typing.
LIVE = 3000
SLOW = 10_000
AMINA = "966501234567"


def deliver_old_text(live_server, text, hours_ago):
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=AMINA, name="Amina Khalid")],
                messages=[
                    p.text_message(
                        text, sender=AMINA, timestamp=timezone.now() - timedelta(hours=hours_ago)
                    )
                ],
            )
        ),
    )


def sign_in(page, password):
    page.goto("/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Conversations")).to_be_attached(timeout=SLOW)


def test_staff_send_a_template_after_the_window_closed_and_see_it_in_the_timeline(
    page, page_errors, staff_user, password, live_server
):
    deliver_old_text(live_server, "Where is my order?", hours_ago=30)
    make_template("order_update", ORDER_UPDATE)
    sign_in(page, password)
    page.locator("#conversation-list .conversation-row", has_text="Amina Khalid").get_by_role(
        "link"
    ).click()
    expect(page.get_by_role("textbox", name="Reply")).to_be_disabled(timeout=SLOW)

    page.get_by_role("link", name="Send a template").click()
    picker = page.get_by_label("Template", exact=True)
    expect(picker).to_be_focused(timeout=SLOW)  # the panel has opened and settled
    picker.select_option(label="order_update · en_US")
    header = page.get_by_role("textbox", name="{{1}} Header")
    expect(header).to_be_focused(timeout=SLOW)  # the first empty field
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("Hello {{1}}, your order {{2}} is {{3}}.")

    header.fill("4567")
    page.get_by_role("textbox", name="{{1}} Body").fill("Amina")
    page.get_by_role("textbox", name="{{2}} Body").fill("4567")
    page.get_by_role("textbox", name="{{3}} Body").fill("on its way")
    page.get_by_role("textbox", name="{{1}} Button 2, link").fill("4567")

    expect(preview).to_contain_text("Order 4567", timeout=LIVE)
    expect(preview).to_contain_text("Hello Amina, your order 4567 is on its way.", timeout=LIVE)
    page.get_by_role("button", name="Send template").click()

    expect(page.get_by_role("status")).to_have_text("Template sent.", timeout=SLOW)
    message = Message.objects.get(direction="out")
    assert message.type == "template"
    # The poll the send triggers brings the new message to the page at once.
    expect(page.locator(f"#m-{message.pk}")).to_be_attached(timeout=LIVE)

    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)
    # (The outbox also holds the read receipt sent when the conversation was opened.)
    [payload] = [body for _number, body in locmem.outbox if body.get("type") == "template"]
    assert payload["template"]["name"] == "order_update"

    page.reload()
    sent = page.locator("#timeline article.msg-out", has_text="Hello Amina, your order 4567")
    expect(sent).to_be_visible(timeout=SLOW)
    expect(sent).to_contain_text("order_update")
    assert page_errors == []


def test_the_template_panel_fits_a_360_pixel_wide_phone(
    page, page_errors, staff_user, password, live_server
):
    deliver_old_text(live_server, "Hello?", hours_ago=30)
    template = make_template("order_update", ORDER_UPDATE)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, password)
    conversation = Message.objects.get().conversation

    page.goto(f"/c/{conversation.pk}/template/?template={template.pk}")

    expect(page.get_by_role("button", name="Send template")).to_be_visible(timeout=SLOW)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page_errors == []


def test_a_value_meta_would_refuse_is_explained_before_anything_is_sent(
    page, page_errors, staff_user, password, live_server
):
    deliver_old_text(live_server, "Where is my order?", hours_ago=30)
    template = make_template("order_update", ORDER_UPDATE)
    sign_in(page, password)
    conversation = Message.objects.get().conversation
    page.goto(f"/c/{conversation.pk}/template/?template={template.pk}")
    for name, value in [
        ("{{1}} Header", "4567"),
        ("{{1}} Body", "Amina"),
        ("{{2}} Body", "4567"),
        ("{{3}} Body", "on     its way"),  # five spaces: Meta refuses more than four
        ("{{1}} Button 2, link", "4567"),
    ]:
        page.get_by_role("textbox", name=name).fill(value)

    page.get_by_role("button", name="Send template").click()

    expect(page.locator("#tp-body-3-error")).to_have_text(
        "{{3}} in the body cannot contain more than four spaces in a row.", timeout=SLOW
    )
    expect(page.get_by_role("textbox", name="{{3}} Body")).to_be_focused()
    expect(page.get_by_role("textbox", name="{{1}} Body")).to_have_value("Amina")
    assert not Message.objects.filter(direction="out").exists()
    # The refusal is a 422 (which the browser reports); nothing else went wrong.
    assert [e for e in page_errors if "422" not in e] == []
