"""Search in a real browser: a conversation opened from a search result scrolls to the match,
loading older messages as a quote does; the search inside the conversation steps to older
matches the same way."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import Message
from tests.browser.test_inbox import add_history, deliver_text, history_pk, timeline_message
from tests.browser_support import SLOW, open_conversation, scripts_ready, sign_in
from tests.live_support import database

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_search_result_opens_at_the_match_and_the_conversation_search_finds_older_ones(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "first", timestamp=timezone.now() - timedelta(minutes=500))
    add_history(120)
    with database():
        Message.objects.filter(wamid="wamid.history30").update(text="the parcel was DAMAGED")
    deliver_text(live_server, "newest")
    sign_in(page, password)

    page.locator("#search").fill("damaged")
    page.locator("#search").press("Enter")
    scripts_ready(page)
    open_conversation(page, "Amina Khalid")

    match = page.locator(f"#m-{history_pk('wamid.history30')}")
    expect(match).to_be_in_viewport(timeout=SLOW)
    expect(match.locator("mark.search-match")).to_have_text("DAMAGED")
    expect(timeline_message(page, "newest")).not_to_be_in_viewport()

    page.get_by_role("button", name="Search in this conversation").click()
    page.get_by_role("searchbox", name="Search in this conversation").fill("number 5")
    page.get_by_role("searchbox", name="Search in this conversation").press("Enter")

    newest = page.locator(f"#m-{history_pk('wamid.history59')}")
    expect(newest).to_be_in_viewport(timeout=SLOW)
    expect(newest.locator("mark.search-match.is-current")).to_have_text("number 5")
    expect(page.locator(".find-status")).to_have_text(re.compile(r"^1 of 11$"))
    expect(match.locator("mark")).to_have_count(0)

    for _ in range(10):
        page.get_by_role("button", name="Older match").click()
    oldest = page.locator(f"#m-{history_pk('wamid.history5')}")
    expect(oldest).to_be_in_viewport(timeout=SLOW)
    expect(page.locator(".find-status")).to_have_text("11 of 11")
    assert page_errors == []
