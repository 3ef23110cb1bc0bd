"""The inbox in a real browser, fed by signed webhooks posted to the real HTTP endpoint.

Each test signs in through the form, receives WhatsApp traffic the way Meta delivers it (a
signed POST to /webhooks/whatsapp/ on the live server), and checks what a member of staff
sees, including live updates from the poll (every second here: live_settings) without a page
reload.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from messaging import payloads as p
from messaging.backends import locmem
from messaging.models import Conversation, Message
from messaging.sending import queue_text_reply
from tests.browser_support import AMINA, SLOW, open_conversation, row, sign_in
from tests.live_support import close_browser_context, database, post_webhook_over_http

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Anything the server learns must be on screen within 3 s (the product's promise, with a 2 s
# poll; these tests poll every second, for a live server that answers one request at a time).
LIVE = 3000

JOHN = "447700900123"
OMAR = "201001234567"


@pytest.fixture
def phone_page(browser, live_server, page_errors, live_settings, serialised_live_server):
    """Like `page`, on a 360 x 740 touch screen."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        viewport={"width": 360, "height": 740},
        has_touch=True,
        is_mobile=True,
    )
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and page_errors.append(msg.text))
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
    yield page
    close_browser_context(context)


# Meta's side: signed webhook bodies over HTTP.


_last_delivery = [datetime.min.replace(tzinfo=UTC)]


def delivery_moment():
    """Now, but at least a second after the previous delivery: Meta's timestamps are whole
    seconds, and two conversations active in the same second are ordered by id instead."""
    moment = max(timezone.now(), _last_delivery[0] + timedelta(seconds=1))
    _last_delivery[0] = moment
    return moment


def deliver_text(live_server, text, *, sender=AMINA, name="Amina Khalid", timestamp=None):
    """A customer's text message, as Meta posts it."""
    timestamp = timestamp or delivery_moment()
    return post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=sender, name=name)],
                messages=[p.text_message(text, sender=sender, timestamp=timestamp)],
            )
        ),
    )


def deliver_status(live_server, wamid, state, *, recipient=AMINA, errors=None):
    """Meta's delivery status of a message we sent."""
    return post_webhook_over_http(
        live_server,
        p.envelope(p.value(statuses=[p.status(wamid, state, recipient=recipient, errors=errors)])),
    )


def sent_texts():
    """The bodies of the text messages the transport was asked to send (not read receipts)."""
    return [
        payload["text"]["body"] for _, payload in locmem.outbox if payload.get("type") == "text"
    ]


def outbound():
    """Our messages, as the database has them."""
    with database():
        return list(Message.objects.filter(direction="out").order_by("pk"))


def add_history(count, sender=AMINA):
    """`count` older messages, "number 0" (oldest) to "number <count - 1>", a minute apart."""
    with database():
        conversation = Conversation.objects.get(contact__wa_id=sender)
        now = timezone.now()
        Message.objects.bulk_create(
            Message(
                conversation=conversation,
                direction="in",
                type="text",
                text=f"number {i}",
                wamid=f"wamid.history{i}",
                timestamp=now - timedelta(minutes=400 - i),
                status="received",
            )
            for i in range(count)
        )


def history_pk(wamid):
    with database():
        return Message.objects.get(wamid=wamid).pk


def run_worker():
    """Process the task queue once (sends queued replies through the locmem transport)."""
    with database():
        call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)


# Staff's side: the browser.


def mark_document(page):
    """Tag the loaded document; `still_same_document` fails if the page has reloaded since."""
    page.evaluate("window.__noReload = true")


def still_same_document(page):
    return page.evaluate("window.__noReload === true")


def timeline_message(page, text):
    return page.locator("#timeline article.msg", has_text=text)


def composer_textarea(page):
    return page.get_by_role("textbox", name="Reply")


def queue_reply(text, user, sender=AMINA):
    """A reply queued as the composer queues it (the pending row, then the send task)."""
    with database():
        conversation = Conversation.objects.get(contact__wa_id=sender)
        return queue_text_reply(conversation, user, text)


def send_with_enter(page, text):
    composer_textarea(page).fill(text)
    composer_textarea(page).press("Enter")
    # The server answers with a fresh, empty composer once the reply is queued.
    expect(composer_textarea(page)).to_have_value("", timeout=SLOW)


# 1. Reply and follow its delivery ticks.


def test_agent_replies_with_enter_and_sees_the_ticks_move_from_pending_to_read_live(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello, is my order on its way?")

    sign_in(page, password)
    expect(row(page, "Amina Khalid")).to_contain_text("Hello, is my order on its way?")
    open_conversation(page, "Amina Khalid")
    expect(timeline_message(page, "Hello, is my order on its way?")).to_be_visible()
    mark_document(page)

    composer_textarea(page).fill("Yes, it left our warehouse today.")
    composer_textarea(page).press("Enter")

    reply = timeline_message(page, "Yes, it left our warehouse today.")
    expect(reply.locator(".tick-pending")).to_be_visible(timeout=LIVE)
    expect(reply).to_have_class(re.compile(r"\bmsg-out\b"))
    expect(composer_textarea(page)).to_have_value("")

    run_worker()
    (sent,) = outbound()
    assert sent.wamid
    assert sent_texts() == ["Yes, it left our warehouse today."]
    deliver_status(live_server, sent.wamid, "sent")
    deliver_status(live_server, sent.wamid, "read")

    expect(reply.locator(".tick-read")).to_be_visible(timeout=LIVE)
    expect(reply.locator(".tick-pending")).to_have_count(0)
    assert still_same_document(page)
    assert page_errors == []


def test_a_shown_replys_tick_moves_from_pending_to_sent_delivered_and_read_live(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello, is my order on its way?")
    queue_reply("Yes, it left our warehouse today.", staff_user)
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    reply = timeline_message(page, "Yes, it left our warehouse today.")
    expect(reply.locator(".tick-pending")).to_be_visible()
    mark_document(page)

    run_worker()

    (body,) = sent_texts()
    assert body == "Yes, it left our warehouse today."
    wamid = outbound()[0].wamid
    assert wamid
    expect(reply.locator(".tick-sent")).to_be_visible(timeout=LIVE)

    deliver_status(live_server, wamid, "sent")
    deliver_status(live_server, wamid, "delivered")

    expect(reply.locator(".tick-delivered")).to_be_visible(timeout=LIVE)

    deliver_status(live_server, wamid, "read")

    expect(reply.locator(".tick-read")).to_be_visible(timeout=LIVE)
    expect(reply.locator(".tick")).to_have_count(1)
    expect(timeline_message(page, "Yes, it left our warehouse today.")).to_have_count(1)
    assert still_same_document(page)
    assert page_errors == []


def test_sending_a_reply_from_the_composer_violates_no_content_security_policy(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")

    send_with_enter(page, "A reply")

    assert [message.text for message in outbound()] == ["A reply"]
    assert page_errors == []


# 2. Live updates while a conversation is open.


def test_a_new_message_appears_in_the_open_conversation_within_3_seconds(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Salaam, one question")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    mark_document(page)

    deliver_text(live_server, "Second question: do you sell gift cards?")

    message = timeline_message(page, "Second question: do you sell gift cards?")
    expect(message).to_be_visible(timeout=LIVE)
    expect(page.locator("#timeline article.msg").last).to_have_attribute(
        "data-pk", message.get_attribute("data-pk")
    )
    assert still_same_document(page)
    assert page_errors == []


def test_new_messages_update_the_list_live_and_the_title_counts_other_unread_conversations(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    deliver_text(live_server, "Salaam, one question", sender=AMINA, name="Amina Khalid")
    sign_in(page, password)
    open_conversation(page, "John Carter")  # read it
    open_conversation(page, "Amina Khalid")
    expect(page).to_have_title("Amina Khalid · WABA Al Qalam")
    mark_document(page)

    deliver_text(live_server, "Second question: do you sell gift cards?")

    expect(row(page, "Amina Khalid").locator(".row-preview")).to_have_text(
        "Second question: do you sell gift cards?", timeout=LIVE
    )

    deliver_text(live_server, "Any news about Friday?", sender=JOHN, name="John Carter")

    first_row = page.locator("#conversation-list .conversation-row").first
    expect(first_row).to_contain_text("John Carter", timeout=LIVE)
    expect(first_row.locator(".row-preview")).to_have_text("Any news about Friday?")
    expect(first_row.locator(".badge")).to_have_text("1")
    # The open conversation is being read; only John's new message is unread.
    expect(page).to_have_title("(1) Amina Khalid · WABA Al Qalam", timeout=LIVE)
    expect(row(page, "Amina Khalid").locator(".badge")).to_have_count(0)
    expect(timeline_message(page, "Any news about Friday?")).to_have_count(0)
    assert still_same_document(page)
    assert page_errors == []


def test_after_a_change_in_another_conversation_the_open_one_still_updates_live(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Do you ship to the UK?", sender=JOHN, name="John Carter")
    deliver_text(live_server, "Salaam, one question")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    mark_document(page)

    deliver_text(live_server, "Any news about Friday?", sender=JOHN, name="John Carter")
    expect(row(page, "John Carter").locator(".row-preview")).to_have_text(
        "Any news about Friday?", timeout=LIVE
    )
    deliver_text(live_server, "Second question: do you sell gift cards?")

    expect(timeline_message(page, "Second question: do you sell gift cards?")).to_be_visible(
        timeout=LIVE
    )
    expect(row(page, "Amina Khalid").get_by_role("link")).to_have_attribute("aria-current", "true")
    assert still_same_document(page)
    assert page_errors == []


def test_live_updates_keep_the_rows_loaded_with_older_conversations_and_the_focused_row(
    page, page_errors, staff_user, password, live_server
):
    now = timezone.now()
    senders = [f"9665000{i:05d}" for i in range(35)]
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(
                contacts=[
                    p.contact(wa_id=wa_id, name=f"Person {i:02d}")
                    for i, wa_id in enumerate(senders)
                ],
                messages=[
                    p.text_message(
                        f"hello {i}", sender=wa_id, timestamp=now - timedelta(minutes=i + 1)
                    )
                    for i, wa_id in enumerate(senders)
                ],
            )
        ),
    )
    sign_in(page, password)
    links = page.locator("#conversation-list .conversation-row > a")
    expect(links).to_have_count(30)
    page.get_by_role("link", name="Older conversations").click()
    expect(links).to_have_count(35, timeout=SLOW)
    links.nth(32).focus()
    mark_document(page)

    deliver_text(live_server, "I am new here", sender=OMAR, name="Omar")

    expect(links.first).to_contain_text("Omar", timeout=LIVE)
    expect(links).to_have_count(36)
    expect(links.nth(33)).to_be_focused()
    expect(links.nth(33)).to_contain_text("Person 32")

    deliver_text(live_server, "back again", sender=senders[34], name="Person 34")

    expect(links.first).to_contain_text("Person 34", timeout=LIVE)
    expect(links.first.locator(".row-preview")).to_have_text("back again")
    expect(links).to_have_count(36)
    expect(row(page, "Person 34")).to_have_count(1)
    expect(links.nth(34)).to_be_focused()
    expect(links.nth(34)).to_contain_text("Person 32")
    page.keyboard.press("j")
    expect(links.nth(35)).to_contain_text("Person 33")
    expect(links.nth(35)).to_be_focused()

    deliver_text(live_server, "me again", sender=senders[33], name="Person 33")

    # The focused row itself changed: the focus goes with it to the top.
    expect(links.first).to_contain_text("Person 33", timeout=LIVE)
    expect(links.first).to_be_focused()
    expect(links).to_have_count(36)
    assert still_same_document(page)
    assert page_errors == []


def test_a_message_from_yesterday_arriving_late_is_placed_under_its_own_day(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Good morning")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    days = page.locator("#timeline h3.day")
    expect(days).to_have_text(["Today"])
    mark_document(page)

    deliver_text(
        live_server, "Sent last night, delivered late", timestamp=timezone.now() - timedelta(days=1)
    )

    expect(days).to_have_text(["Yesterday", "Today"], timeout=LIVE)
    order = page.locator("#timeline > h3.day, #timeline > article.msg").evaluate_all(
        "items => items.map(item => item.textContent.trim().split('\\n')[0].trim())"
    )
    assert order == ["Yesterday", "Sent last night, delivered late", "Today", "Good morning"]
    assert still_same_document(page)
    assert page_errors == []


# 3. The composer's keys and double submits.


def test_shift_enter_inserts_a_new_line_instead_of_sending(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    sent = []
    page.on("request", lambda request: "/reply/" in request.url and sent.append(request))

    textarea = composer_textarea(page)
    textarea.click()
    page.keyboard.type("First line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")

    expect(textarea).to_have_value("First line\nsecond line")
    expect(textarea).to_be_focused()
    assert sent == []
    assert outbound() == []
    assert page_errors == []


@pytest.mark.parametrize("how", ["double-click on Send", "Enter twice"])
def test_a_double_submit_sends_the_reply_only_once(
    page, page_errors, staff_user, password, live_server, how
):
    deliver_text(live_server, "Hello")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    posts, held = [], []
    page.on("request", lambda request: "/reply/" in request.url and posts.append(request))
    # The first reply is held on its way: the second submit surely comes while it is open.
    page.route("**/reply/**", lambda route: held.append(route))

    composer_textarea(page).fill("Only once, please")
    if how == "double-click on Send":
        page.locator("#composer").get_by_role("button", name="Send").dblclick()
    else:
        composer_textarea(page).press("Enter")
        composer_textarea(page).press("Enter")
    page.evaluate("0")  # a round trip: requests the second submit started are reported

    assert len(held) == len(posts) == 1
    held[0].continue_()
    expect(composer_textarea(page)).to_have_value("", timeout=SLOW)
    assert len(posts) == 1  # nor did a submit queued behind the first go now
    assert posts[0].response().status == 200
    run_worker()

    assert len(outbound()) == 1
    assert sent_texts() == ["Only once, please"]
    page.reload()
    expect(timeline_message(page, "Only once, please")).to_have_count(1)
    assert page_errors == []


# 4. The 24-hour customer-service window.


def test_composer_is_disabled_outside_the_window_and_enabled_live_when_the_customer_writes(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Thanks, bye", timestamp=timezone.now() - timedelta(hours=25))
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    mark_document(page)

    note = page.locator("#composer .composer-note")
    expect(composer_textarea(page)).to_be_disabled()
    expect(page.locator("#composer").get_by_role("button", name="Send")).to_be_disabled()
    expect(note).to_be_visible()
    expect(note).to_contain_text("24-hour window")
    expect(page.locator("#conversation-header")).to_have_attribute("data-window-open", "0")

    deliver_text(live_server, "Sorry, one more thing")

    expect(page.locator("#conversation-header")).to_have_attribute(
        "data-window-open", "1", timeout=LIVE
    )
    expect(composer_textarea(page)).to_be_enabled(timeout=LIVE)
    expect(page.locator("#composer").get_by_role("button", name="Send")).to_be_enabled()
    expect(note).to_be_hidden()
    assert still_same_document(page)
    assert page_errors == []


def test_the_composer_closes_by_itself_when_the_window_runs_out_on_an_open_page(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(
        live_server,
        "Can you still answer?",
        timestamp=timezone.now() - timedelta(hours=24) + timedelta(seconds=90),
    )
    page.clock.install()
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    chip = page.locator("#conversation-header .window-state .chip").first
    note = page.locator("#composer .composer-note")
    expect(chip).to_have_text("1 min left")
    expect(composer_textarea(page)).to_be_enabled()
    expect(note).to_be_hidden()

    page.clock.fast_forward("00:45")
    expect(chip).to_have_text("less than 1 min left")
    page.clock.fast_forward("01:00")

    expect(chip).to_have_text("24-hour window closed")
    expect(chip).to_have_class(re.compile(r"\bchip-window-closed\b"))
    expect(composer_textarea(page)).to_be_disabled()
    expect(page.locator("#composer").get_by_role("button", name="Send")).to_be_disabled()
    expect(note).to_be_visible()
    expect(row(page, "Amina Khalid").locator(".chip-window-closed")).to_have_text("Window closed")
    assert page_errors == []


# 5. Arabic, right to left.


def test_arabic_interface_puts_the_list_on_the_right_and_lets_each_message_pick_its_direction(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "السلام عليكم، متى يصل الكتاب؟", name="أمينة خالد")
    deliver_text(live_server, "Also, do you have the English edition?", name="أمينة خالد")
    sign_in(page, password)

    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl", timeout=SLOW)
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    open_conversation(page, "أمينة خالد")

    expect(timeline_message(page, "السلام عليكم، متى يصل الكتاب؟")).to_be_visible()
    expect(timeline_message(page, "Also, do you have the English edition?")).to_be_visible()
    bodies = page.locator("#timeline .msg-body")
    expect(bodies).to_have_count(2)
    assert bodies.evaluate_all("els => els.map(e => e.getAttribute('dir'))") == ["auto", "auto"]
    list_box = page.locator(".inbox-list").bounding_box()
    conversation_box = page.locator(".inbox-conversation").bounding_box()
    assert list_box["x"] > conversation_box["x"]
    assert page_errors == []


# 6. A phone.


def test_a_phone_shows_the_list_then_the_conversation_full_screen_then_the_list_again(
    phone_page, page_errors, staff_user, password, live_server
):
    page = phone_page
    deliver_text(live_server, "Hello from my phone")
    sign_in(page, password)

    expect(row(page, "Amina Khalid")).to_be_visible()
    expect(page.locator(".inbox-conversation")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    row(page, "Amina Khalid").get_by_role("link").tap()

    expect(timeline_message(page, "Hello from my phone")).to_be_visible(timeout=SLOW)
    expect(page.locator(".inbox-list")).to_be_hidden()
    conversation = page.locator(".inbox-conversation").bounding_box()
    assert conversation["x"] <= 1
    assert conversation["width"] >= 350
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    back = page.get_by_role("link", name="All conversations")
    expect(back).to_be_visible()

    back.tap()

    expect(row(page, "Amina Khalid")).to_be_visible(timeout=SLOW)
    expect(page.locator(".inbox-conversation")).to_be_hidden()
    assert page_errors == []


# 7. The keyboard.


def test_slash_focuses_the_search_box(page, page_errors, staff_user, password, live_server):
    deliver_text(live_server, "Hello")
    sign_in(page, password)

    page.keyboard.press("/")

    expect(page.locator("#search")).to_be_focused()
    expect(page.locator("#search")).to_have_value("")  # the "/" itself is not typed
    assert page_errors == []


def test_j_k_and_arrows_move_through_the_rows_and_enter_opens_the_focused_one(
    page, page_errors, staff_user, password, live_server
):
    now = timezone.now()
    deliver_text(
        live_server, "oldest", sender=OMAR, name="Omar", timestamp=now - timedelta(minutes=3)
    )
    deliver_text(
        live_server, "middle", sender=JOHN, name="John", timestamp=now - timedelta(minutes=2)
    )
    deliver_text(
        live_server, "newest", sender=AMINA, name="Amina", timestamp=now - timedelta(minutes=1)
    )
    with database():
        john = Conversation.objects.get(contact__wa_id=JOHN)
    sign_in(page, password)
    links = page.locator("#conversation-list .conversation-row > a")
    expect(links).to_have_count(3)

    page.keyboard.press("j")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(links.nth(2)).to_be_focused()
    page.keyboard.press("j")  # stays on the last row
    expect(links.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(links.nth(1)).to_be_focused()

    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/c/{john.pk}/"), timeout=SLOW)
    expect(page.locator("#conversation-header h2")).to_have_text("John")
    assert page_errors == []


# 8. A failed message.


def test_a_failed_tick_shows_metas_error_when_opened(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "Hello")
    queue_reply("Here is the tracking link", staff_user)
    run_worker()
    wamid = outbound()[0].wamid
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    reply = timeline_message(page, "Here is the tracking link")
    expect(reply.locator(".tick")).to_be_visible()
    expect(reply.locator(".tick-failed")).to_have_count(0)

    deliver_status(
        live_server,
        wamid,
        "failed",
        errors=[
            p.error(
                131047,
                "Re-engagement message",
                details="Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number.",
            )
        ],
    )

    failed = reply.locator("details.tick-failed")
    expect(failed).to_be_visible(timeout=LIVE)
    expect(failed.get_by_text("Re-engagement message")).to_be_hidden()

    failed.locator("summary").click()

    expect(failed.get_by_text("Re-engagement message")).to_be_visible()
    expect(failed).to_contain_text("131047")
    expect(failed).to_contain_text("more than 24 hours have passed")
    assert page_errors == []


# 9. A long timeline: older pages on scroll, quotes that lead to their original.


def test_older_messages_load_when_the_timeline_is_scrolled_to_the_top(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "first", timestamp=timezone.now() - timedelta(minutes=500))
    add_history(120)
    deliver_text(live_server, "newest")
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")
    expect(timeline_message(page, "number 71")).to_be_attached()
    expect(timeline_message(page, "number 69")).to_have_count(0)

    page.locator("#timeline").evaluate("timeline => { timeline.scrollTop = 0; }")

    expect(timeline_message(page, "number 69")).to_be_attached(timeout=SLOW)
    expect(timeline_message(page, "number 21")).to_be_attached()
    # The page grew above what was on screen, which stays where it was.
    expect(timeline_message(page, "number 71")).to_be_in_viewport()
    page.locator("#timeline").evaluate("timeline => { timeline.scrollTop = 0; }")
    expect(timeline_message(page, "first")).to_be_attached(timeout=SLOW)
    expect(page.locator("#timeline .load-older")).to_have_count(0)
    expect(page.locator("#timeline article.msg")).to_have_count(122)
    assert page_errors == []


def test_a_quote_leads_to_its_original_loading_older_messages_when_it_is_not_shown_yet(
    page, page_errors, staff_user, password, live_server
):
    deliver_text(live_server, "first", timestamp=timezone.now() - timedelta(minutes=500))
    add_history(120)
    for text, quoted in (
        ("about number 100", "wamid.history100"),
        ("about number 5", "wamid.history5"),
    ):
        post_webhook_over_http(
            live_server,
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=AMINA, name="Amina Khalid")],
                    messages=[p.text_message(text, sender=AMINA, reply_to=quoted)],
                )
            ),
        )
    sign_in(page, password)
    open_conversation(page, "Amina Khalid")

    timeline_message(page, "about number 100").locator(".msg-quote").click()

    original = page.locator(f"#m-{history_pk('wamid.history100')}")
    expect(original).to_be_in_viewport(timeout=SLOW)
    expect(original).to_have_class(re.compile(r"\bis-highlighted\b"))
    expect(timeline_message(page, "number 60")).to_have_count(0)  # nothing more was loaded

    timeline_message(page, "about number 5").locator(".msg-quote").click()

    far = page.locator(f"#m-{history_pk('wamid.history5')}")
    expect(far).to_be_in_viewport(timeout=SLOW)
    expect(far).to_have_class(re.compile(r"\bis-highlighted\b"))
    assert page_errors == []
