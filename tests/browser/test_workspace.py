"""The conversation workspace measured in a real Chromium, in English and in Arabic: the
template drawer leaves the timeline most of a laptop screen, and a phone shows a compact
header above mostly messages. Also the header's menus and the contact panel, by keyboard
and pointer."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import SLOW, deliver_text, open_conversation, scripts_ready, sign_in
from tests.live_support import close_browser_context
from tests.template_helpers import ORDER_UPDATE, make_template

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["en", "ar"]

# What of an element lies inside the viewport, in CSS pixels.
VISIBLE_HEIGHT = """el => {
  const r = el.getBoundingClientRect();
  return Math.max(0, Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0));
}"""


@pytest.fixture
def sized_page(browser, live_server, page_errors, live_settings, serialised_live_server):
    """A page factory for a given screen size (phones are touch screens)."""
    contexts = []

    def make(width, height):
        phone = width < 500
        context = browser.new_context(
            base_url=live_server.url,
            locale="en-GB",
            viewport={"width": width, "height": height},
            has_touch=phone,
            is_mobile=phone,
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and page_errors.append(msg.text))
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
        return page

    yield make
    for context in contexts:
        close_browser_context(context)


def a_long_chat(live_server):
    for i in range(15):
        deliver_text(live_server, f"Question number {i}: when does my order arrive?")


def settled(page):
    """The page has read the conversation: the poll re-renders the header no more, so an
    open menu stays open."""
    expect(page.locator("#conversation-header")).to_have_attribute("data-unread", "0", timeout=SLOW)


def in_language(page, language):
    if language == "ar":
        page.get_by_role("button", name="العربية").click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl", timeout=SLOW)
        scripts_ready(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_template_drawer_leaves_at_least_half_the_screen_to_the_timeline(
    sized_page, page_errors, staff_user, password, live_server, language
):
    a_long_chat(live_server)
    make_template("order_update", ORDER_UPDATE)
    page = sized_page(1366, 820)
    sign_in(page, password)
    in_language(page, language)
    open_conversation(page, "Amina Khalid")
    settled(page)

    page.locator(".template-open").click()
    expect(page.locator("#template-choice")).to_be_focused(timeout=SLOW)
    page.locator("#template-choice").select_option(index=1)
    expect(page.locator("#template-preview")).to_be_visible(timeout=SLOW)

    timeline = page.locator("#timeline")
    assert timeline.evaluate(VISIBLE_HEIGHT) >= 0.5 * 820
    # Beside the drawer, not under it: most of the timeline's width is still uncovered.
    drawer = page.locator("#template-composer").bounding_box()
    box = timeline.bounding_box()
    overlap = max(
        0,
        min(box["x"] + box["width"], drawer["x"] + drawer["width"]) - max(box["x"], drawer["x"]),
    )
    assert box["width"] - overlap >= 300
    expect(page.locator("#reply-text")).to_be_in_viewport()
    assert page_errors == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_phone_shows_a_compact_header_above_mostly_messages(
    sized_page, page_errors, staff_user, password, live_server, language
):
    a_long_chat(live_server)
    page = sized_page(360, 740)
    sign_in(page, password)
    in_language(page, language)
    open_conversation(page, "Amina Khalid")
    settled(page)

    # Measured in one step: the poll may swap the header for a fresh copy at any moment.
    header = page.evaluate("document.getElementById('conversation-header').offsetHeight")
    assert header <= 120
    assert page.locator("#timeline").evaluate(VISIBLE_HEIGHT) >= 0.45 * 740
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page_errors == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_a_phone_the_contact_panel_is_a_screen_of_its_own(
    sized_page, page_errors, staff_user, password, live_server, language
):
    deliver_text(live_server, "Hello")
    page = sized_page(360, 740)
    sign_in(page, password)
    in_language(page, language)
    open_conversation(page, "Amina Khalid")

    page.locator("[data-panel-toggle]").tap()

    panel = page.locator("#contact-panel")
    expect(panel).to_be_visible()
    expect(panel).to_be_focused()
    expect(page.locator(".inbox-conversation")).to_be_hidden()
    assert panel.bounding_box()["width"] >= 350

    page.locator("[data-panel-close]").tap()

    expect(panel).to_be_hidden()
    expect(page.locator(".inbox-conversation")).to_be_visible()
    assert page_errors == []


def test_the_contact_panel_opens_beside_the_conversation_on_a_laptop_and_is_remembered(
    sized_page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello")
    page = sized_page(1366, 820)
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    panel = page.locator("#contact-panel")
    toggle = page.locator("[data-panel-toggle]")
    expect(panel).to_be_visible()  # wide enough: open unless someone closed it
    expect(toggle).to_have_attribute("aria-expanded", "true")

    toggle.click()

    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.reload()
    scripts_ready(page)
    expect(page.locator("#contact-panel")).to_be_hidden()
    assert page_errors == []


def test_a_deletion_request_needs_a_confirmation_and_then_shows_as_a_chip(
    sized_page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Please delete everything you have about me")
    page = sized_page(1366, 820)
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    settled(page)

    page.locator(".more-menu > summary").click()
    page.get_by_text("Customer asked for deletion…").click()
    confirm = page.get_by_role("button", name="Record deletion request")
    expect(confirm).to_be_visible()
    expect(page.locator(".chip-deletion")).to_have_count(0)  # nothing recorded yet
    confirm.click()

    expect(page.locator("#conversation-header .chip-deletion")).to_have_text(
        re.compile("Deletion requested"), timeout=SLOW
    )
    page.locator(".more-menu > summary").click()
    expect(page.get_by_text("Customer asked for deletion…")).to_have_count(0)
    assert page_errors == []


def test_escape_closes_the_more_menu_and_returns_to_its_button(
    sized_page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello")
    page = sized_page(1366, 820)
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    settled(page)
    summary = page.locator(".more-menu > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".more-menu")).to_have_attribute("open", "")
    page.get_by_role("button", name="Mark unread").focus()

    page.keyboard.press("Escape")

    expect(page.locator(".more-menu")).not_to_have_attribute("open", re.compile(".*"))
    expect(summary).to_be_focused()
    assert page_errors == []
