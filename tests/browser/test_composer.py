"""The composer in a real browser (issue 18's acceptance): Reply / Note modes, the @mention
picker that never scrolls the page, drafts kept per conversation until sign-out, focus in the
composer when a conversation opens with Enter, and the keyboard-shortcut help, in English and
Arabic where the layout differs."""

import re

import pytest
from playwright.sync_api import expect

from automation.models import Note
from messaging.models import Conversation, Message
from tests.browser_support import (
    AMINA,
    SLOW,
    deliver_text,
    open_conversation,
    row,
    scripts_ready,
    sign_in,
)
from tests.live_support import close_browser_context, database
from tests.staff_support import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIVE = 3000  # the poll runs every second in these tests: a new note shows within 3 s
JOHN = "447700900123"
ARABIC = "العربية"

# Every box that could scroll when a picker opens: the page itself and the inbox's columns.
SCROLL_POSITIONS = """() => [document.scrollingElement, document.body,
  document.getElementById('main'), document.querySelector('.inbox'),
  document.querySelector('.inbox-conversation')]
  .map((element) => element.scrollTop)"""


@pytest.fixture
def agent(staff_user):
    """An agent who may write notes."""
    with database():
        return grant(staff_user, "add_note")


@pytest.fixture
def page_without_javascript(
    browser, live_server, page_errors, live_settings, serialised_live_server
):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", java_script_enabled=False
    )
    page = context.new_page()
    page.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
    yield page
    close_browser_context(context)


@pytest.fixture
def colleagues(django_user_model):
    """Enough colleagues who can open conversations that the mention list must scroll."""
    with database():
        for n in range(14):
            user = django_user_model.objects.create_user(
                username=f"colleague{n:02}", first_name=f"Colleague {n}", is_staff=True
            )
            grant(user, "view_conversation")


# Whether the note with this text lies wholly inside the timeline's visible part.
NOTE_IN_TIMELINE_VIEW = """(text) => {
  const timeline = document.getElementById('timeline').getBoundingClientRect();
  const note = Array.from(document.querySelectorAll('#timeline article.msg-note'))
    .find((element) => element.textContent.includes(text));
  if (!note) return false;
  const box = note.getBoundingClientRect();
  return box.top >= timeline.top && box.bottom <= timeline.bottom;
}"""


def in_language(page, language):
    if language == "ar":
        page.get_by_role("button", name=ARABIC).click()
        expect(page.locator("html")).to_have_attribute("dir", "rtl", timeout=SLOW)
        scripts_ready(page)


def draft_keys(page):
    return page.evaluate(
        "() => Object.keys(sessionStorage).filter((key) => key.startsWith('waba:draft:'))"
    )


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_mention_picker_never_scrolls_the_page_and_an_added_note_is_scrolled_into_view(
    page, page_errors, agent, colleagues, password, live_server, language
):
    page.set_viewport_size({"width": 1366, "height": 820})
    for n in range(20):
        deliver_text(live_server, f"Message number {n} about my order")
    sign_in(page, password)
    in_language(page, language)
    open_conversation(page, "Amina Khalid")
    before = page.evaluate(SCROLL_POSITIONS)
    topbar = page.locator(".topbar").bounding_box()

    page.locator("#composer [data-mode=note]").click()
    page.keyboard.type("Please check @colleague")
    mentions = page.locator("#note-mentions")
    expect(mentions).to_be_visible()
    for _ in range(10):  # past the list's visible end: the list scrolls, nothing else
        page.keyboard.press("ArrowDown")

    assert page.evaluate(SCROLL_POSITIONS) == before
    assert page.locator(".topbar").bounding_box() == topbar
    listed = mentions.bounding_box()
    assert listed["y"] >= topbar["y"] + topbar["height"]
    assert listed["y"] + listed["height"] <= 820
    assert mentions.evaluate("(list) => list.scrollTop") > 0
    selected = mentions.locator("[aria-selected=true]").bounding_box()
    assert listed["y"] <= selected["y"]
    assert selected["y"] + selected["height"] <= listed["y"] + listed["height"] + 1

    page.keyboard.press("Enter")  # inserts the colleague
    page.locator("#timeline").evaluate("(timeline) => { timeline.scrollTop = 0; }")
    page.locator("#reply-text").press("Enter")  # adds the note
    note = page.locator("#timeline article.msg-note", has_text="Please check")
    expect(note).to_be_visible(timeout=LIVE)
    expect(page.locator("#reply-text")).to_have_value("")
    page.wait_for_function(NOTE_IN_TIMELINE_VIEW, arg="Please check", timeout=LIVE)
    assert page.evaluate(SCROLL_POSITIONS) == before
    assert page_errors == []


def test_note_mode_looks_different_from_reply_mode_and_replaces_the_separate_note_form(
    page, page_errors, agent, password, live_server
):
    deliver_text(live_server, "Is my refund ready?")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    composer = page.locator("#composer")
    reply_colour = composer.evaluate("(form) => getComputedStyle(form).backgroundColor")

    page.get_by_role("button", name="Internal note").click()

    expect(composer).to_have_class(re.compile(r"\bis-note\b"))
    assert composer.evaluate("(form) => getComputedStyle(form).backgroundColor") != reply_colour
    expect(page.get_by_role("button", name="Add note")).to_be_visible()
    expect(
        page.get_by_text("Only colleagues see notes: never sent to the customer.")
    ).to_be_visible()
    expect(page.locator("#note-composer")).to_be_hidden()  # the no-JavaScript form
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(composer).not_to_have_class(re.compile(r"\bis-note\b"))
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert page_errors == []


def test_a_draft_survives_switching_conversations_and_is_gone_after_sign_out(
    page, page_errors, agent, password, live_server
):
    deliver_text(live_server, "Where is my parcel?")
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    page.locator("#reply-text").fill("Your parcel left on Mon")
    open_conversation(page, "John Carter")
    page.get_by_role("button", name="Internal note").click()
    page.keyboard.type("Ask the warehouse")
    expect(page.locator("#reply-text")).to_have_value("Ask the warehouse")

    open_conversation(page, "Amina Khalid")
    expect(page.locator("#reply-text")).to_have_value("Your parcel left on Mon")
    expect(page.locator("#composer")).not_to_have_class(re.compile(r"\bis-note\b"))
    open_conversation(page, "John Carter")
    expect(page.locator("#reply-text")).to_have_value("Ask the warehouse")
    expect(page.locator("#composer")).to_have_class(re.compile(r"\bis-note\b"))
    assert len(draft_keys(page)) == 2

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Username")).to_be_visible(timeout=SLOW)
    assert draft_keys(page) == []
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    expect(page.locator("#reply-text")).to_have_value("")
    assert page_errors == []


def test_a_sent_reply_leaves_no_draft_behind(page, page_errors, agent, password, live_server):
    deliver_text(live_server, "Hello?")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    page.locator("#reply-text").fill("Hello Amina")
    assert len(draft_keys(page)) == 1

    page.locator("#reply-text").press("Enter")

    expect(page.locator("#timeline article.msg-out", has_text="Hello Amina")).to_be_visible(
        timeout=LIVE
    )
    assert draft_keys(page) == []
    page.reload()
    scripts_ready(page)
    expect(page.locator("#reply-text")).to_have_value("")
    assert page_errors == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_opening_a_conversation_with_enter_puts_focus_in_the_composer(
    page, page_errors, agent, password, live_server, language
):
    deliver_text(live_server, "First question")
    deliver_text(live_server, "Second question", sender=JOHN, name="John Carter")
    sign_in(page, password)
    in_language(page, language)

    page.keyboard.press("j")
    expect(row(page, "John Carter").get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#conversation-header h2")).to_have_text("John Carter", timeout=SLOW)
    scripts_ready(page)
    box = page.locator("#reply-text")
    expect(box).to_be_focused()
    # The placeholder reads in the page's direction (in Arabic: right to left, punctuation in
    # place); typed text still picks its own.
    direction = "(box) => getComputedStyle(box).direction"
    assert box.evaluate(direction) == ("rtl" if language == "ar" else "ltr")
    page.keyboard.type("Hello John")
    expect(box).to_have_value("Hello John")
    assert box.evaluate(direction) == "ltr"
    assert page_errors == []


@pytest.mark.parametrize(
    ("language", "title", "note_label"),
    [
        ("en", "Keyboard shortcuts", "Internal note"),
        ("ar", "اختصارات لوحة المفاتيح", "ملاحظة داخلية"),
    ],
)
def test_question_mark_opens_the_shortcut_help_and_letters_switch_the_composer_mode(
    page, page_errors, agent, password, live_server, language, title, note_label
):
    deliver_text(live_server, "Hello")
    sign_in(page, password)
    in_language(page, language)
    open_conversation(page, "Amina Khalid")
    page.keyboard.press("Escape")  # leaves the composer: letters are shortcuts now
    expect(page.locator("#timeline")).to_be_focused()

    page.keyboard.press("Shift+Slash")
    help_dialog = page.get_by_role("dialog", name=title)
    expect(help_dialog).to_be_visible()
    expect(help_dialog.locator("kbd", has_text="?")).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("n")
    expect(page.get_by_role("textbox", name=note_label)).to_be_focused()
    expect(page.locator("#composer")).to_have_class(re.compile(r"\bis-note\b"))
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    expect(page.locator("#composer")).not_to_have_class(re.compile(r"\bis-note\b"))
    assert page_errors == []


def test_keys_assign_to_me_close_and_go_to_the_next_unread_conversation(
    page, page_errors, agent, password, live_server
):
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    deliver_text(live_server, "Where is my parcel?")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")  # the newest: John's, unread, is below it
    header = page.locator("#conversation-header")
    page.keyboard.press("Escape")
    # Each key presses a header button: wait for the headers that polls bring (after the read,
    # after the assignment) so that no key lands on one being replaced.
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0, timeout=SLOW)

    page.keyboard.press("a")
    expect(header).to_contain_text("Assigned to you", timeout=SLOW)
    expect(row(page, "Amina Khalid").locator(".row-assignee")).to_have_text("Amina", timeout=SLOW)
    # A header button pressed before htmx took over its new header posts the plain form, and
    # the page that comes back puts focus in the composer again: leave it.
    scripts_ready(page)
    page.locator("#timeline").focus()
    page.keyboard.press("c")
    expect(header.get_by_role("button", name="Reopen")).to_be_visible(timeout=SLOW)
    page.locator("#timeline").focus()
    page.keyboard.press("u")

    expect(page.locator("#conversation-header h2")).to_have_text("John Carter", timeout=SLOW)
    with database():
        amina = Conversation.objects.get(contact__wa_id=AMINA)
    assert (amina.assignee.username, amina.state) == ("amina", "closed")
    assert page_errors == []


def test_the_composer_grows_with_its_text_up_to_a_limit(
    page, page_errors, agent, password, live_server
):
    deliver_text(live_server, "Tell me everything")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    box = page.locator("#reply-text")
    empty = box.bounding_box()["height"]

    box.fill("one\ntwo\nthree")
    box.dispatch_event("input")
    three_lines = box.bounding_box()["height"]
    box.fill("\n".join(f"line {n}" for n in range(40)))
    box.dispatch_event("input")
    many_lines = box.bounding_box()["height"]

    assert empty < three_lines < many_lines <= 200
    assert box.evaluate("(box) => box.scrollHeight > box.clientHeight")  # scrolls past it
    assert page_errors == []


def test_without_javascript_the_reply_form_sends_and_the_note_form_adds_notes(
    page_without_javascript, page_errors, agent, password, live_server
):
    page = page_without_javascript
    deliver_text(live_server, "Anyone there?")
    sign_in(page, password, javascript=False)
    row(page, "Amina Khalid").get_by_role("link").click()
    expect(page.get_by_role("button", name="Internal note", exact=True)).to_be_hidden()

    page.get_by_role("textbox", name="Reply").fill("Yes, here")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#timeline article.msg-out", has_text="Yes, here")).to_be_visible(
        timeout=SLOW
    )
    page.locator("#note-composer summary").click()
    page.get_by_role("textbox", name="Note for colleagues: never sent to the customer").fill(
        "Answered by hand"
    )
    page.get_by_role("button", name="Add note").click()

    expect(page.locator("#timeline article.msg-note", has_text="Answered by hand")).to_be_visible(
        timeout=SLOW
    )
    with database():
        assert Note.objects.get().text == "Answered by hand"
        assert list(Message.objects.filter(direction="out").values_list("text", flat=True)) == [
            "Yes, here"
        ]
    assert page_errors == []
