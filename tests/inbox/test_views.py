"""The staff inbox: list, conversation, reply, actions and live polling."""

import io
import json
import re
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, InboxChange, Message
from tests.staff_support import grant

pytestmark = pytest.mark.django_db


def deliver_text(
    text="Hello", *, sender=p.USER_WA_ID, name="Amina Khalid", minutes_ago=1, **options
):
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=sender, name=name)],
            messages=[
                p.text_message(
                    text, sender=sender, timestamp=timezone.now() - timedelta(minutes=minutes_ago)
                )
            ],
            **options,
        )
    )
    receive(p.encode(body))
    return Conversation.objects.get(
        contact__wa_id=sender,
        **(
            {"business_number__phone_number_id": options["phone_number_id"]}
            if "phone_number_id" in options
            else {}
        ),
    )


def conversation_url(conversation, name="inbox:conversation"):
    return reverse(name, args=[conversation.pk])


def article(html, message):
    """The markup of one message in a page (articles do not nest)."""
    start = html.index(f'<article id="m-{message.pk}"')
    return html[start : html.index("</article>", start)]


def row_of(html, conversation):
    start = html.index(f'<li id="row-{conversation.pk}"')
    return html[start : html.index("</li>", start)]


def reactions_of(html, message):
    """The emoji shown under a message, in its reactions line."""
    markup = article(html, message)
    if 'class="msg-reactions"' not in markup:
        return []
    line = markup.split('class="msg-reactions"')[1].split("</p>")[0]
    return re.findall(r"<span [^>]*>([^<]+)</span>", line)


def inbound(conversation, kind, *, text="", data=None, minutes_ago=1, **fields):
    """A stored inbound message of any type (what ingestion leaves behind)."""
    return Message.objects.create(
        conversation=conversation,
        direction="in",
        type=kind,
        text=text,
        data=data or {},
        wamid=f"wamid.{uuid.uuid4().hex}",
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
        status="received",
        **fields,
    )


# The list


def test_the_list_shows_conversations_newest_activity_first(staff_client):
    deliver_text("old news", sender="966500000001", name="Older", minutes_ago=30)
    deliver_text("fresh", sender="966500000002", name="Newer", minutes_ago=1)

    html = staff_client.get("/").content.decode()

    assert html.index("Newer") < html.index("Older")
    assert "fresh" in html
    assert 'class="badge"' in html


def test_the_list_filters_mine_unassigned_and_closed(staff_client, staff_user):
    mine = deliver_text(sender="966500000001", name="Mine Person")
    deliver_text(sender="966500000002", name="Nobody Person")
    closed = deliver_text(sender="966500000003", name="Closed Person")
    Conversation.objects.filter(pk=mine.pk).update(assignee=staff_user)
    Conversation.objects.filter(pk=closed.pk).update(state="closed")

    mine_page = staff_client.get("/?assigned=mine").content.decode()
    unassigned_page = staff_client.get("/?assigned=unassigned").content.decode()
    closed_page = staff_client.get("/?state=closed").content.decode()

    assert "Mine Person" in mine_page
    assert "Nobody Person" not in mine_page
    assert "Nobody Person" in unassigned_page
    assert "Mine Person" not in unassigned_page
    assert "Closed Person" in closed_page
    assert "Nobody Person" not in closed_page
    assert "Closed Person" not in unassigned_page


def test_the_number_filter_appears_with_a_second_business_number(staff_client):
    deliver_text(sender="966500000001", name="First Line")
    assert 'id="number"' not in staff_client.get("/").content.decode()

    deliver_text(
        sender="966500000002",
        name="Second Line",
        phone_number_id="222",
        display_phone_number="15550000002",
    )
    second = BusinessNumber.objects.get(phone_number_id="222")

    html = staff_client.get(f"/?number={second.pk}").content.decode()
    assert 'id="number"' in html
    assert "Second Line" in html
    assert "First Line" not in html


@pytest.mark.parametrize(
    "query", ["Amina", "amina k", "966 50 123", "@amina.k", "invoice", "الطلب"], ids=str
)
def test_search_finds_by_name_phone_username_and_message_text(staff_client, query):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[
                        p.contact(wa_id="966501234567", name="Amina Khalid", username="amina.k")
                    ],
                    messages=[
                        p.text_message("Where is my invoice?", sender="966501234567"),
                        p.text_message("أين الطلب؟", sender="966501234567"),
                    ],
                )
            )
        )
    )
    deliver_text("unrelated", sender="447700900123", name="John Carter")

    html = staff_client.get("/", {"q": query}).content.decode()

    assert "Amina Khalid" in html
    assert "John Carter" not in html


def test_search_that_finds_nothing_says_so(staff_client):
    deliver_text()

    assert "No conversations match your search." in staff_client.get("/?q=zzzz").content.decode()


def test_a_contact_known_only_by_phone_is_named_by_the_formatted_number(staff_client):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id="966501234567")],
                    messages=[p.text_message("Hello", sender="966501234567")],
                )
            )
        )
    )
    conversation = Conversation.objects.get()

    list_html = staff_client.get("/").content.decode()
    page = staff_client.get(conversation_url(conversation)).content.decode()

    assert '<span class="row-name"><bdi>+966 50 123 4567</bdi></span>' in list_html
    assert "<title>+966 50 123 4567 · WABA Al Qalam</title>" in page
    assert "<h2><bdi>+966 50 123 4567</bdi></h2>" in page
    conversation_part, panel = page.split('id="contact-panel"')
    assert conversation_part.count("+966 50 123 4567") == 3  # title, row, heading: not again
    assert panel.count("+966 50 123 4567") == 1  # the contact panel's number, not its name too


def test_the_list_is_paginated_by_keyset_without_repeats(staff_client):
    for i in range(35):
        deliver_text(
            f"message {i}", sender=f"96650000{i:04d}", name=f"Person {i:02d}", minutes_ago=i + 1
        )

    first = staff_client.get("/").content.decode()
    cursor = first.split('hx-get="/?after=')[1].split('"')[0].replace("&amp;", "&")
    second = staff_client.get("/", {"after": cursor.split("&")[0]}, headers={"HX-Request": "true"})

    names_first = {f"Person {i:02d}" for i in range(35) if f"Person {i:02d}<" in first}
    names_second = {
        f"Person {i:02d}" for i in range(35) if f"Person {i:02d}<" in second.content.decode()
    }
    assert len(names_first) == 30
    assert len(names_second) == 5
    assert names_first.isdisjoint(names_second)


def test_the_list_costs_the_same_number_of_queries_for_any_number_of_conversations(
    staff_client, django_assert_num_queries
):  # fmt: skip
    deliver_text(sender="966500000001")
    staff_client.get("/")  # warm the session
    with CaptureQueriesContext(connection) as few:
        staff_client.get("/")
    for i in range(25):
        deliver_text(sender=f"96650001{i:04d}", name=f"P{i}")

    with django_assert_num_queries(len(few)):
        staff_client.get("/")


def test_message_text_is_escaped_in_the_list_and_the_conversation(staff_client):
    conversation = deliver_text("<script>alert(1)</script> *bold*")

    list_html = staff_client.get("/").content.decode()
    conversation_html = staff_client.get(conversation_url(conversation)).content.decode()

    assert "<script>alert(1)" not in list_html
    assert "<script>alert(1)" not in conversation_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong>" in conversation_html


def test_a_row_shows_the_time_left_in_the_window_the_assignee_and_the_number(
    staff_client, supervisor
):
    open_window = deliver_text(sender="966500000001", name="Open Window", minutes_ago=90)
    closed = deliver_text(
        sender="966500000002",
        name="Closed Window",
        minutes_ago=25 * 60,
        phone_number_id="222",
        display_phone_number="15550000002",
    )
    Conversation.objects.filter(pk=open_window.pk).update(assignee=supervisor)

    html = staff_client.get("/").content.decode()

    row = row_of(html, open_window)
    assert re.search(r'class="chip chip-window"[^>]*>22 h left<', row)
    assert '<span class="row-assignee">Salma</span>' in row
    assert f'<span class="chip">{open_window.business_number}</span>' in row
    other = row_of(html, closed)
    assert '<span class="chip chip-window-closed">Window closed</span>' in other
    assert '<span class="row-assignee">Unassigned</span>' in other
    assert f'<span class="chip">{closed.business_number}</span>' in other


def test_a_row_shows_no_number_chip_with_a_single_business_number(staff_client):
    conversation = deliver_text()

    row = row_of(staff_client.get("/").content.decode(), conversation)

    assert str(conversation.business_number) not in row


# The conversation


def test_a_missing_conversation_is_404(staff_client):
    assert staff_client.get("/c/999999/").status_code == 404


def test_non_staff_users_cannot_open_conversations(client, non_staff_user):
    conversation = deliver_text()
    client.force_login(non_staff_user)

    assert client.get(conversation_url(conversation)).status_code == 403


def test_each_message_type_is_rendered(staff_client):
    sender = {"sender": p.USER_WA_ID}
    messages = [
        p.text_message("plain text", wamid="wamid.T", **sender),
        p.media_message("image", caption="a receipt", **sender),
        p.media_message("audio", voice=True, **sender),
        p.media_message("document", filename="invoice-7.pdf", **sender),
        p.location_message(24.7, 46.6, name="Office", address="Riyadh", **sender),
        p.interactive_reply("opt-1", "Track my order", **sender),
        p.message(
            "contacts",
            [{"name": {"formatted_name": "Huda"}, "phones": [{"phone": "+966 55 000 0000"}]}],
            **sender,
        ),
        p.message("hologram", {"x": 1}, **sender),
        p.text_message("a reply", reply_to="wamid.T", **sender),
        p.text_message("passed along", forwarded=True, **sender),
        p.reaction_message("wamid.T", "🙏", **sender),
    ]
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=p.USER_WA_ID, name="A")], messages=messages)
            )
        )
    )

    html = staff_client.get(conversation_url(Conversation.objects.get())).content.decode()

    for expected in [
        "plain text",
        "a receipt",
        "Voice message",
        "invoice-7.pdf",
        "Office",
        "openstreetmap.org",
        "Track my order",
        "Huda",
        "Unsupported message (hologram)",
        'class="msg-quote"',
        "Forwarded",
    ]:
        assert expected in html, expected
    assert html.count('class="msg msg-in') == 10  # the reaction shows on its target
    target = Message.objects.get(wamid="wamid.T")
    assert reactions_of(html, target) == ["🙏"]
    assert reactions_of(html, Message.objects.get(text="a reply")) == []


def test_outbound_ticks_show_each_status_and_failures_explain_themselves(staff_client, staff_user):
    conversation = deliver_text()
    for status in ["pending", "sent", "delivered", "read", "failed"]:
        Message.objects.create(
            conversation=conversation,
            direction="out",
            type="text",
            text=f"reply {status}",
            timestamp=timezone.now(),
            status=status,
            sent_by=staff_user,
            error_code=131047 if status == "failed" else None,
            error_title="Re-engagement message" if status == "failed" else "",
            error_details="More than 24 hours have passed" if status == "failed" else "",
        )

    html = staff_client.get(conversation_url(conversation)).content.decode()

    for css in ["tick-pending", "tick-sent", "tick-delivered", "tick-read", "tick-failed"]:
        assert css in html, css
    assert "Re-engagement message" in html
    assert "More than 24 hours have passed" in html
    assert html.count(">Amina<") >= 5  # who sent each reply


def test_a_long_conversation_opens_on_its_newest_page_with_a_way_to_older_ones(
    staff_client, django_assert_num_queries
):
    conversation = deliver_text("first", minutes_ago=500)
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction="in",
            type="text",
            text=f"number {i}",
            wamid=f"wamid.bulk{i}",
            timestamp=now - timedelta(minutes=400 - i),
            status="received",
        )
        for i in range(120)
    )

    html = staff_client.get(conversation_url(conversation)).content.decode()

    assert "number 119" in html
    assert "number 70" in html
    assert "number 69" not in html
    older = html.split('hx-get="/c/')[1].split('"')[0]
    page = staff_client.get(f"/c/{older}".replace("&amp;", "&")).content.decode()
    assert "number 69" in page
    assert "number 20" in page
    assert "number 70" not in page


def test_older_messages_without_javascript_open_as_a_whole_page(staff_client):
    conversation = deliver_text("first", minutes_ago=500)
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction="in",
            type="text",
            text=f"number {i}",
            wamid=f"wamid.bulk{i}",
            timestamp=now - timedelta(minutes=400 - i),
            status="received",
        )
        for i in range(120)
    )
    html = staff_client.get(conversation_url(conversation), {"state": "all"}).content.decode()
    link = re.search(r'<a class="button button-quiet" href="(/c/\d+/messages/[^"]+)"', html)

    page = staff_client.get(link.group(1).replace("&amp;", "&")).content.decode()

    assert page.startswith("<!doctype html>")
    assert "number 69" in page
    assert "number 70" not in page
    assert 'id="composer"' in page
    assert 'id="conversation-list"' in page
    assert '<option value="all" selected>' in page  # the list keeps its filters
    latest = re.search(r'<p class="load-newer"><a [^>]*href="([^"]+)"', page).group(1)
    assert latest.startswith(conversation_url(conversation))


def test_the_header_says_when_the_window_closes_and_the_page_has_the_words_to_count_down(
    staff_client,
):
    conversation = deliver_text(minutes_ago=90)
    conversation.refresh_from_db()
    closes = int((conversation.last_inbound_at + timedelta(hours=24)).timestamp() * 1000)

    html = staff_client.get(conversation_url(conversation)).content.decode()

    assert f'data-window-closes="{closes}"' in html.split('id="conversation-header"')[1]
    assert f'data-closes="{closes}" data-closed-label="24-hour window closed">22 h left<' in html
    assert f'data-closes="{closes}" data-closed-label="Window closed">22 h left<' in html
    labels = json.loads(
        html.split('<script id="window-labels" type="application/json">')[1].split("</script>")[0]
    )
    assert labels["hours"][0] == "1 h left"
    assert labels["hours"][21] == "22 h left"
    assert labels["minutes"][44] == "45 min left"
    assert labels["under_a_minute"] == "less than 1 min left"
    note = html.split('class="composer-note"')[1].split("</p>")[0]
    assert note.startswith(" hidden>")  # shown by inbox.js when the window closes


def test_opening_a_conversation_costs_the_same_queries_for_10_or_500_messages(
    staff_client, django_assert_num_queries
):
    small = deliver_text(sender="966500000001")
    large = deliver_text(sender="966500000002")
    for conversation, count in ((small, 10), (large, 500)):
        Message.objects.bulk_create(
            Message(
                conversation=conversation,
                direction="in",
                type="text",
                text="x",
                wamid=f"wamid.{conversation.pk}-{i}",
                timestamp=timezone.now() - timedelta(seconds=i),
                status="received",
            )
            for i in range(count)
        )
    staff_client.get(conversation_url(small))
    staff_client.get(conversation_url(large))  # both read now: the same work from here on

    with CaptureQueriesContext(connection) as small_queries:
        staff_client.get(conversation_url(small))
    with django_assert_num_queries(len(small_queries)):
        staff_client.get(conversation_url(large))


def test_edits_revokes_and_the_remaining_types_are_rendered_as_such(staff_client):
    conversation = deliver_text("What time do you open?")
    original = Message.objects.get()
    deleted = inbound(conversation, "text", text="wrong chat", minutes_ago=2)
    messages = [
        p.message(
            "edit",
            {
                "original_message_id": original.wamid,
                "message": {"type": "text", "text": {"body": "What time do you close?"}},
            },
        ),
        p.message("revoke", {"original_message_id": deleted.wamid}),
        p.message(
            "order",
            {"catalog_id": "c1", "text": "Both, please", "product_items": [{}, {}]},
        ),
        p.message("button", {"text": "Yes, confirm", "payload": "confirm"}),
        p.message("request_welcome"),
        p.text_message("I saw your ad"),
        # Last: it moves the contact to a new number.
        p.system_number_change(p.USER_WA_ID, "966509999999", name="Amina"),
    ]
    messages[-2]["referral"] = {"headline": "Eid books sale", "source_type": "ad"}
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")], messages=messages)
            )
        )
    )

    html = staff_client.get(conversation_url(conversation)).content.decode()

    edited = article(html, original)
    assert "What time do you close?" in edited
    assert "What time do you open?" not in edited
    assert '<span class="msg-edited">edited</span>' in edited
    revoked = article(html, deleted)
    assert "This message was deleted" in revoked
    assert "wrong chat" not in html
    kinds = dict(Message.objects.values_list("type", "pk"))
    assert "Order with 2 items" in article(html, Message(pk=kinds["order"]))
    assert "Both, please" in article(html, Message(pk=kinds["order"]))
    assert "Yes, confirm" in article(html, Message(pk=kinds["button"]))
    assert "The customer opened the chat for the first time." in article(
        html, Message(pk=kinds["request_welcome"])
    )
    assert "changed from" in article(html, Message(pk=kinds["system"]))
    assert "From an ad:" in html
    assert "Eid books sale" in html
    assert html.count("<article ") == 7  # edit and revoke show on their targets only


def test_a_quote_shows_only_a_message_of_the_same_conversation(staff_client):
    elsewhere = deliver_text("Secret on another line", sender="447700900123", name="John")
    stray = elsewhere.messages.get()
    conversation = deliver_text("first")
    reply = inbound(conversation, "text", text="my answer", reply_to_wamid=stray.wamid)

    html = article(staff_client.get(conversation_url(conversation)).content.decode(), reply)

    assert "Secret on another line" not in html
    assert "Reply to a message that is not in this inbox" in html


def test_messages_are_grouped_by_day_in_timestamp_order(staff_client):
    # Both of today's messages fall after local midnight, even when the test runs just after it.
    now = timezone.localtime()
    since_midnight = (
        now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    ).total_seconds() / 60
    conversation = deliver_text("today, later", minutes_ago=min(1, since_midnight / 3))
    inbound(conversation, "text", text="today, earlier", minutes_ago=min(3, since_midnight * 2 / 3))
    inbound(conversation, "text", text="two days ago", minutes_ago=2 * 24 * 60)

    html = staff_client.get(conversation_url(conversation)).content.decode()

    timeline = html.split('id="timeline"')[1]
    order = [timeline.index(text) for text in ("two days ago", "today, earlier", "today, later")]
    assert order == sorted(order)
    days = re.findall(r'<h3 class="day" data-day="([\d-]+)"><span>([^<]+)</span>', timeline)
    assert [label for _, label in days][1:] == ["Today"]
    assert len(days) == 2
    assert timeline.index(days[1][1]) < timeline.index("today, earlier")
    assert timeline.index("two days ago") < timeline.index(days[1][1])


def test_times_and_days_are_shown_in_the_organisations_time_zone(staff_client, settings):
    settings.TIME_ZONE = "Asia/Riyadh"
    conversation = deliver_text()
    late_evening_utc = datetime(2025, 3, 1, 22, 30, tzinfo=UTC)
    message = inbound(conversation, "text", text="late evening in London")
    Message.objects.filter(pk=message.pk).update(timestamp=late_evening_utc)

    html = article(staff_client.get(conversation_url(conversation)).content.decode(), message)

    riyadh = late_evening_utc.astimezone(zoneinfo.ZoneInfo("Asia/Riyadh"))
    assert f'datetime="{riyadh.isoformat()}"' in html
    assert ">01:30</time>" in html
    assert 'data-day="2025-03-02"' in html
    assert 'data-day-label="Sunday 2 March 2025"' in html


# Replying


def reply(client, conversation, text="On its way!", token=None, **extra):
    return client.post(
        reverse("inbox:reply", args=[conversation.pk]),
        {"text": text, "client_token": str(token or uuid.uuid4()), **extra},
        headers=extra.pop("headers", {}),
    )


def test_a_reply_is_stored_pending_and_queued_after_commit(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    conversation = deliver_text()

    with django_capture_on_commit_callbacks(execute=True):
        response = reply(staff_client, conversation)

    assert response.status_code == 302
    message = Message.objects.get(direction="out")
    assert (message.status, message.text, message.sent_by, message.wamid) == (
        "pending",
        "On its way!",
        staff_user,
        None,
    )
    assert DBTaskResult.objects.filter(task_path="messaging.tasks.send_message").count() == 1
    conversation.refresh_from_db()
    assert conversation.last_message == message


@pytest.mark.django_db(transaction=True)  # the worker closes connections left in a transaction
def test_the_queued_reply_goes_through_the_transport_when_the_worker_runs(
    staff_client, django_capture_on_commit_callbacks
):
    conversation = deliver_text()
    with django_capture_on_commit_callbacks(execute=True):
        reply(staff_client, conversation, "Thanks, Amina")

    call_command("db_worker", "--batch", "--no-reload", stdout=io.StringIO(), stderr=io.StringIO())

    message = Message.objects.get(direction="out")
    assert message.wamid.startswith("wamid.LOCMEM")
    phone_number_id, payload = locmem.outbox[0]
    assert phone_number_id == p.PHONE_NUMBER_ID
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": p.USER_WA_ID,
        "type": "text",
        "text": {"body": "Thanks, Amina", "preview_url": True},
        "biz_opaque_callback_data": f"waq:{message.pk}",
    }


def test_a_double_submit_sends_once(staff_client, django_capture_on_commit_callbacks):
    conversation = deliver_text()
    token = uuid.uuid4()

    with django_capture_on_commit_callbacks(execute=True):
        reply(staff_client, conversation, token=token)
        reply(staff_client, conversation, token=token)

    assert Message.objects.filter(direction="out").count() == 1
    assert DBTaskResult.objects.count() == 1


def test_a_reply_outside_the_24_hour_window_is_refused(staff_client):
    conversation = deliver_text(minutes_ago=25 * 60)

    response = reply(staff_client, conversation)
    page = staff_client.get(conversation_url(conversation)).content.decode()

    assert response.status_code == 422
    assert not Message.objects.filter(direction="out").exists()
    assert "window for free-form replies has closed" in page
    assert 'name="text" rows="1" dir="auto" maxlength="4096"' in page
    assert "disabled>" in page.split('id="reply-text"')[1].split("</textarea>")[0]


def test_an_empty_reply_is_refused_with_a_reason(staff_client):
    conversation = deliver_text()

    response = reply(staff_client, conversation, "   ", headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert b"Write a message first." in response.content
    assert not Message.objects.filter(direction="out").exists()


def test_a_reply_to_a_message_quotes_it(staff_client, django_capture_on_commit_callbacks):
    conversation = deliver_text("Question?")
    question = Message.objects.get()

    reply(staff_client, conversation, "Answer.", reply_to=question.pk)

    assert Message.objects.get(direction="out").reply_to_wamid == question.wamid


def test_a_refused_reply_without_javascript_keeps_the_draft_and_its_quote(staff_client):
    conversation = deliver_text("Question?")
    question = Message.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=25)
    )

    response = reply(staff_client, conversation, "My answer, typed with care", reply_to=question.pk)

    html = response.content.decode()
    assert response.status_code == 422
    assert "<html" in html
    composer = html.split('id="composer"')[1].split("</form>")[0]
    assert '<p class="form-error" role="alert">The 24-hour window' in composer
    assert ">My answer, typed with care</textarea>" in html
    assert f'name="reply_to" value="{question.pk}"' in html
    preview = html.split('class="reply-preview"')[1].split("</div>")[0]
    assert "Question?" in preview
    assert not preview.startswith(" hidden")


def test_a_refused_reply_over_htmx_keeps_the_quote_too(staff_client):
    conversation = deliver_text("Question?")
    question = Message.objects.get()

    response = reply(
        staff_client, conversation, "  ", reply_to=question.pk, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert f'name="reply_to" value="{question.pk}"' in html
    assert '<span class="reply-preview-text" dir="auto">Question?</span>' in html


def test_the_reply_link_of_a_message_quotes_it_in_the_composer_without_javascript(
    staff_client, django_capture_on_commit_callbacks
):
    conversation = deliver_text("Question?")
    question = Message.objects.get()
    page = staff_client.get(conversation_url(conversation)).content.decode()
    link = re.search(r'<a class="link-button msg-reply" href="([^"]+)"', article(page, question))

    html = staff_client.get(link.group(1).replace("&amp;", "&")).content.decode()

    assert f'name="reply_to" value="{question.pk}"' in html
    assert '<div class="reply-preview">' in html
    assert '<span class="reply-preview-text" dir="auto">Question?</span>' in html
    reply(staff_client, conversation, "Answer.", reply_to=question.pk)
    assert Message.objects.get(direction="out").reply_to_wamid == question.wamid


def test_a_reply_to_a_message_that_is_gone_is_refused_with_the_draft_kept(staff_client):
    conversation = deliver_text("Question?")
    other = deliver_text("Elsewhere", sender="447700900123", name="John")
    elsewhere = other.messages.get()

    response = reply(staff_client, conversation, "Answer.", reply_to=elsewhere.pk)

    assert response.status_code == 422
    assert "no longer available" in response.content.decode()
    assert ">Answer.</textarea>" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("reply_to", "abc", "The message to reply to must be given by its number."),
        ("reply_to", "-4", "The message to reply to must be given by its number."),
        ("client_token", "not-a-uuid", "double-submit token"),
    ],
)
def test_a_tampered_reply_form_is_a_400_that_says_why(staff_client, field, value, reason):
    conversation = deliver_text()

    response = reply(staff_client, conversation, "Hi", **{field: value})

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_a_user_without_the_reply_permission_cannot_send(client, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="x" * 20, is_staff=True)
    reader = grant(reader, "view_conversation")
    client.force_login(reader)
    conversation = deliver_text()

    page = client.get(conversation_url(conversation)).content.decode()
    response = reply(client, conversation)

    assert "can read conversations but not reply" in page
    assert response.status_code == 403
    assert not Message.objects.filter(direction="out").exists()


# Actions


def assign(client, conversation, assignee):
    return client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": assignee})


def test_an_agent_can_take_an_unassigned_conversation_and_let_it_go(staff_client, staff_user):
    conversation = deliver_text()

    assert assign(staff_client, conversation, "me").status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee == staff_user

    assign(staff_client, conversation, "")
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_an_agent_cannot_hand_a_conversation_to_someone_else(staff_client, supervisor):
    conversation = deliver_text()

    assert assign(staff_client, conversation, supervisor.pk).status_code == 403
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_an_agent_cannot_take_a_colleagues_conversation(staff_client, supervisor):
    conversation = deliver_text()
    Conversation.objects.filter(pk=conversation.pk).update(assignee=supervisor)

    assert assign(staff_client, conversation, "me").status_code == 403


def test_a_supervisor_assigns_anyone(client, supervisor, staff_user):
    client.force_login(supervisor)
    conversation = deliver_text()

    assign(client, conversation, staff_user.pk)

    conversation.refresh_from_db()
    assert conversation.assignee == staff_user


def test_close_and_reopen(staff_client):
    conversation = deliver_text()
    url = reverse("inbox:state", args=[conversation.pk])

    staff_client.post(url, {"state": "closed"})
    conversation.refresh_from_db()
    assert conversation.state == "closed"

    staff_client.post(url, {"state": "open"})
    conversation.refresh_from_db()
    assert conversation.state == "open"
    assert staff_client.post(url, {"state": "archived"}).status_code == 400


def test_an_agent_cannot_close_a_colleagues_conversation(staff_client, supervisor):
    conversation = deliver_text()
    Conversation.objects.filter(pk=conversation.pk).update(assignee=supervisor)

    response = staff_client.post(
        reverse("inbox:state", args=[conversation.pk]), {"state": "closed"}
    )

    assert response.status_code == 403


def test_mark_unread_returns_to_the_list_with_the_badge_back(staff_client):
    conversation = deliver_text()
    staff_client.post(reverse("inbox:read", args=[conversation.pk]))

    response = staff_client.post(reverse("inbox:unread", args=[conversation.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith("/?")
    conversation.refresh_from_db()
    assert conversation.unread_count == 1


def test_actions_need_a_post(staff_client):
    conversation = deliver_text()

    assert staff_client.get(reverse("inbox:assign", args=[conversation.pk])).status_code == 405


@pytest.mark.parametrize(
    "assignee", ["abc", "999999", "99999999999999999999999", "1.5", "9" * 5000, "١٢"]
)
def test_assigning_to_someone_who_is_not_staff_is_a_400_that_says_why(client, supervisor, assignee):
    client.force_login(supervisor)
    conversation = deliver_text()

    response = assign(client, conversation, assignee)

    assert response.status_code == 400
    assert "Choose an active member of staff who can open this conversation." in (
        response.content.decode()
    )
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_a_conversation_cannot_be_assigned_to_an_inactive_account(
    client, supervisor, django_user_model
):
    client.force_login(supervisor)
    gone = django_user_model.objects.create_user("gone", is_staff=True, is_active=False)
    conversation = deliver_text()

    assert assign(client, conversation, gone.pk).status_code == 400


@pytest.mark.parametrize(("data", "reason"), [({}, "close or reopen"), ({"state": "x"}, "only")])
def test_a_tampered_state_form_is_a_400_that_says_why(staff_client, data, reason):
    conversation = deliver_text()

    response = staff_client.post(reverse("inbox:state", args=[conversation.pk]), data)

    assert response.status_code == 400
    assert reason in response.content.decode()


@pytest.mark.parametrize("cursor", ["1e400_1", "nan_1", "99999999999999_1", "x_y", "1_"])
def test_a_tampered_paging_cursor_shows_the_first_page_instead_of_failing(staff_client, cursor):
    conversation = deliver_text("first")

    listing = staff_client.get("/", {"after": cursor}, headers={"HX-Request": "true"})
    older = staff_client.get(
        reverse("inbox:older", args=[conversation.pk]),
        {"before": cursor},
        headers={"HX-Request": "true"},
    )

    assert listing.status_code == 200
    assert older.status_code == 200
    assert "first" in older.content.decode()


@pytest.mark.parametrize("name", ["number", "label"])
@pytest.mark.parametrize("value", ["10000000000000000000000000", "-1", "9" * 5000, "x"])
def test_it_ignores_a_list_filter_that_names_no_row_and_shows_the_whole_list(
    staff_client, name, value
):
    deliver_text("still listed")

    response = staff_client.get("/", {name: value})

    assert response.status_code == 200
    assert "still listed" in response.content.decode()


def test_a_search_holding_a_nul_character_searches_without_it(staff_client):
    deliver_text("find me")

    response = staff_client.get("/", {"q": "find\x00 me"})

    assert response.status_code == 200
    assert "find me" in response.content.decode()


# Live updates


def poll(client, since, **params):
    return client.get(reverse("inbox:poll"), {"since": since, **params})


def test_a_poll_with_nothing_new_is_a_204_after_one_change_feed_query(
    staff_client, django_assert_num_queries
):
    deliver_text()
    staff_client.get("/")  # signed in, session warm
    cursor = InboxChange.objects.latest("pk").pk

    # The session, and the user with their permissions, as on every page; then one query on
    # the change feed.
    with django_assert_num_queries(3):
        response = poll(staff_client, cursor)

    assert response.status_code == 204


def test_a_poll_after_a_new_message_returns_it_and_the_list(staff_client):
    conversation = deliver_text("first")
    cursor = InboxChange.objects.latest("pk").pk
    deliver_text("second message")

    response = poll(staff_client, cursor, open=conversation.pk)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="incoming" hx-swap-oob="innerHTML"' in html
    assert "second message" in html.split('id="incoming"')[1]
    assert f'<li id="row-{conversation.pk}"' in html.split('id="incoming-rows"')[1]
    next_since = int(html.split("since=")[1].split("&")[0])
    assert next_since > cursor


def test_a_status_webhook_reaches_the_open_page_as_a_changed_tick(staff_client, staff_user):
    conversation = deliver_text()
    message = Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="hi",
        wamid="wamid.OUT",
        timestamp=timezone.now(),
        status="sent",
        sent_by=staff_user,
    )
    cursor = InboxChange.objects.latest("pk").pk

    receive(p.encode(p.envelope(p.value(statuses=[p.status("wamid.OUT", "read")]))))
    html = poll(staff_client, cursor, open=conversation.pk).content.decode()

    assert f'id="m-{message.pk}"' in html
    assert "tick-read" in html


def test_the_page_polls_as_often_as_the_setting_says(staff_client, settings):
    settings.INBOX_POLL_SECONDS = 5
    deliver_text()

    html = staff_client.get("/").content.decode()

    assert 'hx-trigger="every 5s, inbox:poll from:body"' in html


def test_a_poll_with_a_bad_cursor_is_a_400(staff_client):
    assert poll(staff_client, "yesterday").status_code == 400


def poller_url(html):
    return re.search(r'<div id="poller"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_a_poll_after_a_change_elsewhere_keeps_following_the_open_conversation(staff_client):
    open_one = deliver_text("first", sender="966500000001", name="Open One")
    cursor = InboxChange.objects.latest("pk").pk
    deliver_text("elsewhere", sender="966500000002", name="Other One")

    first = poll(staff_client, cursor, open=open_one.pk).content.decode()
    assert f"open={open_one.pk}" in poller_url(first)
    assert 'id="incoming"' not in first
    deliver_text("in the open one", sender="966500000001", name="Open One")

    second = staff_client.get(poller_url(first)).content.decode()

    assert "in the open one" in second.split('id="incoming"')[1]
    assert 'aria-current="true"' in row_of(second, open_one)


def test_a_poll_sends_only_the_changed_rows_and_drops_those_no_longer_in_the_list(staff_client):
    changed = deliver_text("news", sender="966500000001", name="Changed")
    quiet = deliver_text("old", sender="966500000002", name="Quiet")
    closing = deliver_text("bye", sender="966500000003", name="Closing")
    cursor = InboxChange.objects.latest("pk").pk
    deliver_text("more news", sender="966500000001", name="Changed")
    staff_client.post(reverse("inbox:state", args=[closing.pk]), {"state": "closed"})

    html = poll(staff_client, cursor, state="open").content.decode()

    rows = html.split('<ul id="incoming-rows" hx-swap-oob="innerHTML">')[1].split("</ul>")[0]
    assert f'<li id="row-{changed.pk}"' in rows
    assert "more news" in row_of(rows, changed)
    changed.refresh_from_db()
    sort = int(changed.last_message_at.timestamp() * 1_000_000)
    assert f'data-sort="{sort}" data-pk="{changed.pk}"' in rows
    assert f'id="row-{quiet.pk}"' not in rows
    assert f'<li id="row-{closing.pk}" data-removed></li>' in rows
    assert 'id="conversation-list"' not in html


# Reactions, retries and read receipts


def test_staff_react_to_a_customer_message(staff_client, django_capture_on_commit_callbacks):
    conversation = deliver_text("Thank you!")
    target = Message.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("inbox:react", args=[conversation.pk, target.pk]), {"emoji": "❤️"}
        )

    assert response.status_code == 302
    reaction = Message.objects.get(type="reaction")
    assert (reaction.direction, reaction.data["emoji"], reaction.target_wamid) == (
        "out",
        "❤️",
        target.wamid,
    )
    assert DBTaskResult.objects.filter(task_path="messaging.tasks.send_message").exists()


def test_only_the_offered_reactions_are_accepted(staff_client):
    conversation = deliver_text()
    target = Message.objects.get()

    response = staff_client.post(
        reverse("inbox:react", args=[conversation.pk, target.pk]), {"emoji": "<b>"}
    )

    assert response.status_code == 400


def test_retry_puts_a_failed_message_back_in_the_outbox(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    conversation = deliver_text()
    failed = Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="lost",
        timestamp=timezone.now(),
        status="failed",
        error_code=131026,
        sent_by=staff_user,
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("inbox:retry", args=[conversation.pk, failed.pk]))

    failed.refresh_from_db()
    assert response.status_code == 302
    assert (failed.status, failed.error_code) == ("pending", None)
    queued = DBTaskResult.objects.get(task_path="messaging.tasks.send_message")
    assert queued.args_kwargs["kwargs"] == {"requested_by": staff_user.pk}


def test_send_again_too_soon_says_it_cannot_be_sent_again_yet(staff_client, staff_user):
    conversation = deliver_text()
    unconfirmed = Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="did it arrive?",
        timestamp=timezone.now(),
        status="unknown",
        status_at=timezone.now(),  # the request timed out just now
        sent_by=staff_user,
    )

    response = staff_client.post(
        reverse("inbox:retry", args=[conversation.pk, unconfirmed.pk]), follow=True
    )

    assert "can no longer be sent again" in response.content.decode()
    unconfirmed.refresh_from_db()
    assert unconfirmed.status == "unknown"
    assert not DBTaskResult.objects.filter(task_path="messaging.tasks.send_message").exists()


def test_a_reply_whose_author_account_is_gone_shows_former_staff_not_automation(staff_client):
    conversation = deliver_text()
    Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="from someone who left",
        timestamp=timezone.now(),
        status="sent",
        sent_by=None,
    )

    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()

    assert '<span class="msg-sender">former staff</span>' in html
    assert '<span class="msg-sender">Automation</span>' not in html


def test_the_read_receipt_task_sends_metas_read_body():
    deliver_text()
    message = Message.objects.get()
    from messaging.tasks import send_read_receipt

    send_read_receipt.call(message.pk)

    assert locmem.outbox == [
        (
            p.PHONE_NUMBER_ID,
            {"messaging_product": "whatsapp", "status": "read", "message_id": message.wamid},
        )
    ]
