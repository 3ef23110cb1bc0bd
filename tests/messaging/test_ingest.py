"""messaging.ingest: applying stored webhook bodies to the database, idempotently."""

import hashlib
import itertools
import queue
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from messaging import payloads as p
from messaging.ingest import receive
from messaging.ingest.annotations import apply_annotation
from messaging.ingest.apply import apply_webhook_event
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    SendAttempt,
    StatusEvent,
    WebhookEvent,
)
from messaging.tasks import record_acceptance
from tests.messaging.test_ingest_queries import ONE_MESSAGE_QUERIES

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def deliver(*values):
    return receive(p.encode(p.envelope(*values)))


def inbound(*messages, wa_id=p.USER_WA_ID, name="Amina", **value_options):
    return p.value(
        contacts=[p.contact(wa_id=wa_id, name=name)], messages=list(messages), **value_options
    )


def outbound_message(wamid="wamid.OUT", status=Message.Status.SENT):
    number, _ = BusinessNumber.objects.get_or_create(phone_number_id=p.PHONE_NUMBER_ID)
    contact, _ = Contact.objects.get_or_create(wa_id=p.USER_WA_ID)
    conversation, _ = Conversation.objects.get_or_create(business_number=number, contact=contact)
    return Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        type="text",
        text="Your order has shipped",
        wamid=wamid,
        timestamp=at(0),
        status=status,
    )


# Messages and conversations


def test_a_text_message_creates_number_contact_conversation_and_message():
    event = deliver(inbound(p.text_message("Hello", wamid="wamid.1", timestamp=at(1))))

    assert event.state == WebhookEvent.State.PROCESSED
    number = BusinessNumber.objects.get()
    assert (number.phone_number_id, number.display_phone_number, number.waba_id) == (
        p.PHONE_NUMBER_ID,
        p.DISPLAY_PHONE_NUMBER,
        p.WABA_ID,
    )
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.profile_name, contact.user_id) == (p.USER_WA_ID, "Amina", None)
    message = Message.objects.get()
    assert (message.direction, message.type, message.text, message.timestamp) == (
        Message.Direction.INBOUND,
        "text",
        "Hello",
        at(1),
    )
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 1
    assert conversation.last_message == message
    assert conversation.last_message_at == at(1)
    assert conversation.last_inbound_at == at(1)
    assert list(event.contacts.all()) == [contact]


def test_a_batch_of_fifty_messages_and_fifty_statuses_over_several_entries_all_land():
    outbound = [outbound_message(f"wamid.OUT{i}") for i in range(50)]
    entries = []
    for chunk in range(5):
        senders = [f"9665000000{chunk}{i}" for i in range(10)]
        messages_value = p.value(
            contacts=[p.contact(wa_id=s, name=f"User {s[-2:]}") for s in senders],
            messages=[
                p.text_message(f"message {chunk}-{i}", sender=s, wamid=f"wamid.IN{chunk}-{i}")
                for i, s in enumerate(senders)
            ],
        )
        statuses_value = p.value(
            statuses=[
                p.status(m.wamid, "delivered", timestamp=at(5))
                for m in outbound[chunk * 10 : chunk * 10 + 10]
            ]
        )
        entries.append(p.entry(p.change(messages_value), p.change(statuses_value)))

    event = receive(p.encode(p.envelope(*entries)))

    assert event.state == WebhookEvent.State.PROCESSED, event.error
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 50
    assert Contact.objects.filter(wa_id__startswith="9665").count() == 50
    assert StatusEvent.objects.count() == 50
    assert set(Message.objects.filter(direction="out").values_list("status", flat=True)) == {
        "delivered"
    }


def test_messages_are_ordered_by_metas_timestamp_not_arrival():
    deliver(inbound(p.text_message("second", wamid="wamid.2", timestamp=at(2))))
    deliver(inbound(p.text_message("first", wamid="wamid.1", timestamp=at(1))))

    conversation = Conversation.objects.get()
    assert conversation.last_message.text == "second"
    assert conversation.last_message_at == at(2)
    assert list(conversation.messages.order_by("timestamp").values_list("text", flat=True)) == [
        "first",
        "second",
    ]


def test_an_arabic_message_is_stored_exactly():
    text = "السلام عليكم، أريد الاستفسار عن طلبي رقم ٤٥٦ 🙏"

    deliver(inbound(p.text_message(text)))

    assert Message.objects.get().text == text


def test_a_new_message_reopens_a_closed_conversation():
    deliver(inbound(p.text_message("one", wamid="wamid.1", timestamp=at(1))))
    Conversation.objects.update(state=Conversation.State.CLOSED)

    deliver(inbound(p.text_message("two", wamid="wamid.2", timestamp=at(2))))

    assert Conversation.objects.get().state == Conversation.State.OPEN


def test_unknown_message_types_are_stored_not_dropped():
    deliver(inbound(p.message("hologram", {"frames": 3}, wamid="wamid.H")))

    message = Message.objects.get()
    assert message.type == "hologram"
    assert message.data == {"payload": {"frames": 3}}


def test_an_unreadable_item_does_not_stop_the_others_and_leaves_the_body_failed_for_replay():
    good = p.text_message("fine", wamid="wamid.GOOD")
    bad = {"id": "wamid.BAD", "type": "text", "timestamp": "not-a-time", "text": {"body": "x"}}

    event = deliver(inbound(bad, good))

    assert Message.objects.get().wamid == "wamid.GOOD"
    assert event.state == WebhookEvent.State.FAILED
    assert event.error == (
        "entry[0].changes[0].value.messages[0]: message timestamp is missing or unreadable"
    )


def test_a_message_with_odd_fields_is_stored_flagged_rather_than_dropped():
    odd = p.location_message(24.7, 46.6, wamid="wamid.LOC", timestamp=at(1))
    odd["location"]["latitude"] = "north-ish"

    event = deliver(inbound(odd))

    assert event.state == WebhookEvent.State.PROCESSED, event.error
    message = Message.objects.get()
    assert (message.wamid, message.type, message.timestamp) == ("wamid.LOC", "location", at(1))
    assert message.data == {"raw": odd, "not_understood": "latitude is not a number"}
    assert event.summary["problems"] == [
        {
            "path": "entry[0].changes[0].value.messages[0]",
            "code": None,
            "title": "not fully understood: latitude is not a number",
        }
    ]
    assert Conversation.objects.get().unread_count == 1


def test_numeric_strings_and_fractional_timestamps_are_read_for_what_they_mean():
    location = p.location_message(0, 0, wamid="wamid.LOC")
    location |= {"timestamp": "1764000000.0", "location": {"latitude": "24.7", "longitude": "46.6"}}

    deliver(inbound(location))

    message = Message.objects.get()
    assert (message.data["latitude"], message.data["longitude"]) == (24.7, 46.6)
    assert message.timestamp == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)


def test_a_value_without_metadata_registers_no_nameless_number_and_fails_for_replay():
    value = p.value(messages=[p.text_message("hi", wamid="wamid.NOMETA")])
    del value["metadata"]

    event = deliver(value)

    assert event.state == WebhookEvent.State.FAILED
    assert "metadata.phone_number_id" in event.error
    assert not BusinessNumber.objects.exists()
    assert not Message.objects.exists()


def test_a_business_number_cannot_have_an_empty_id():
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessNumber.objects.create(phone_number_id="")


def test_value_level_errors_are_recorded_without_failing_the_event():
    event = deliver(p.value(errors=[p.error(131051, "Unsupported message type")]))

    assert event.state == WebhookEvent.State.PROCESSED
    assert event.summary["problems"] == [
        {
            "path": "entry[0].changes[0].value.errors[0]",
            "code": 131051,
            "title": "Unsupported message type",
        }
    ]


def test_fields_we_do_not_act_on_are_recorded_as_ignored():
    event = receive(p.encode(p.envelope(p.change({"id": "x"}, field="calls"))))

    assert event.state == WebhookEvent.State.PROCESSED
    assert event.summary["events"]["ignored:calls"] == 1


# Contacts: phone numbers, BSUIDs and usernames


def test_a_bsuid_only_sender_then_the_same_user_with_phone_is_one_contact():
    bsuid = "US.13491208655302741918"
    deliver(
        p.value(
            contacts=[p.contact(user_id=bsuid, username="amina.k")],
            messages=[p.text_message("hi", sender=bsuid, wamid="wamid.1", timestamp=at(1))],
        )
    )
    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.display_name) == (None, bsuid, "@amina.k")

    deliver(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, user_id=bsuid, name="Amina")],
            messages=[p.text_message("again", wamid="wamid.2", timestamp=at(2))],
        )
    )

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.profile_name) == (p.USER_WA_ID, bsuid, "Amina")
    assert Conversation.objects.get().messages.count() == 2


def test_a_phone_contact_and_a_bsuid_contact_are_merged_when_paired():
    bsuid = "US.9988776655"
    deliver(inbound(p.text_message("by phone", wamid="wamid.1", timestamp=at(1))))
    deliver(
        p.value(
            contacts=[p.contact(user_id=bsuid, username="amina")],
            messages=[p.text_message("by bsuid", sender=bsuid, wamid="wamid.2", timestamp=at(2))],
        )
    )
    assert Contact.objects.count() == 2

    deliver(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, user_id=bsuid, name="Amina")],
            messages=[p.text_message("both", wamid="wamid.3", timestamp=at(3))],
        )
    )

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.username) == (p.USER_WA_ID, bsuid, "amina")
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 3
    assert conversation.unread_count == 3
    assert conversation.last_message.text == "both"


def test_a_phone_number_change_moves_the_contact_to_the_new_number():
    deliver(inbound(p.text_message("old number", wamid="wamid.1", timestamp=at(1))))

    deliver(
        p.value(messages=[p.system_number_change(p.USER_WA_ID, "966511111111", timestamp=at(2))])
    )

    contact = Contact.objects.get()
    assert contact.wa_id == "966511111111"
    assert Message.objects.filter(type="system").count() == 1
    assert Conversation.objects.get().unread_count == 1  # a notice, not a message to answer


# Reactions, edits and revokes


def test_a_reaction_shows_on_its_target_and_an_unreaction_removes_it():
    deliver(inbound(p.text_message("Order ready?", wamid="wamid.T", timestamp=at(1))))
    deliver(inbound(p.reaction_message("wamid.T", "👍", wamid="wamid.R1", timestamp=at(2))))
    assert Message.objects.get(wamid="wamid.T").reactions == {"contact": "👍"}

    deliver(inbound(p.reaction_message("wamid.T", "", wamid="wamid.R2", timestamp=at(3))))

    assert Message.objects.get(wamid="wamid.T").reactions == {}
    assert Conversation.objects.get().unread_count == 1


def test_a_reaction_that_arrives_before_its_target_is_applied_when_the_target_lands():
    deliver(inbound(p.reaction_message("wamid.T", "❤️", wamid="wamid.R", timestamp=at(2))))

    deliver(inbound(p.text_message("hello", wamid="wamid.T", timestamp=at(1))))

    assert Message.objects.get(wamid="wamid.T").reactions == {"contact": "❤️"}


REACTIONS = [("wamid.R1", "❤️", 1), ("wamid.R2", "👍", 2), ("wamid.R3", "", 3)]
REACTION_ORDERS = list(itertools.permutations(REACTIONS))


@pytest.mark.parametrize("target_first", [True, False], ids=["target-first", "target-last"])
@pytest.mark.parametrize(
    "order", REACTION_ORDERS, ids=["-".join(r[0][-2:] for r in o) for o in REACTION_ORDERS]
)
def test_the_newest_reaction_by_metas_timestamp_wins_in_any_arrival_order(order, target_first):
    target = p.text_message("Order ready?", wamid="wamid.T", timestamp=at(0))
    if target_first:
        deliver(inbound(target))
    for wamid, emoji, minute in order:
        deliver(inbound(p.reaction_message("wamid.T", emoji, wamid=wamid, timestamp=at(minute))))
    if not target_first:
        deliver(inbound(target))

    assert Message.objects.get(wamid="wamid.T").reactions == {}  # the un-reaction came last


@pytest.mark.parametrize("newest_first", [True, False])
def test_an_older_reaction_arriving_late_does_not_replace_a_newer_one(newest_first):
    deliver(inbound(p.text_message("Order ready?", wamid="wamid.T", timestamp=at(0))))
    older = p.reaction_message("wamid.T", "❤️", wamid="wamid.R1", timestamp=at(1))
    newer = p.reaction_message("wamid.T", "👍", wamid="wamid.R2", timestamp=at(2))

    for reaction in [newer, older] if newest_first else [older, newer]:
        deliver(inbound(reaction))

    assert Message.objects.get(wamid="wamid.T").reactions == {"contact": "👍"}


def test_the_contacts_and_the_businesss_reactions_are_ordered_separately():
    deliver(inbound(p.text_message("Order ready?", wamid="wamid.T", timestamp=at(0))))
    target = Message.objects.get()
    Message.objects.create(
        conversation=target.conversation,
        direction=Message.Direction.OUTBOUND,
        type="reaction",
        wamid="wamid.OURS",
        target_wamid="wamid.T",
        data={"emoji": "🙏"},
        timestamp=at(5),
        status=Message.Status.SENT,
    )
    apply_annotation(Message.objects.get(wamid="wamid.OURS"), target)

    deliver(inbound(p.reaction_message("wamid.T", "👍", wamid="wamid.R", timestamp=at(2))))

    assert Message.objects.get(wamid="wamid.T").reactions == {"business": "🙏", "contact": "👍"}


def test_an_edit_replaces_the_text_and_a_late_older_edit_does_not_undo_it():
    deliver(inbound(p.text_message("helo", wamid="wamid.T", timestamp=at(1))))
    edit = {
        "original_message_id": "wamid.T",
        "message": {"type": "text", "text": {"body": "hello!"}},
    }
    older = {
        "original_message_id": "wamid.T",
        "message": {"type": "text", "text": {"body": "hello"}},
    }

    deliver(inbound(p.message("edit", edit, wamid="wamid.E2", timestamp=at(3))))
    deliver(inbound(p.message("edit", older, wamid="wamid.E1", timestamp=at(2))))

    target = Message.objects.get(wamid="wamid.T")
    assert (target.text, target.edited_at) == ("hello!", at(3))


def test_a_revoke_removes_the_content_but_keeps_that_a_message_existed():
    deliver(inbound(p.text_message("my card number is …", wamid="wamid.T", timestamp=at(1))))

    deliver(inbound(p.message("revoke", {"original_message_id": "wamid.T"}, wamid="wamid.V")))

    target = Message.objects.get(wamid="wamid.T")
    assert target.text == ""
    assert target.revoked_at is not None


# Statuses

ORDERINGS = sorted(set(itertools.permutations(["sent", "delivered", "read", "delivered", "sent"])))


@pytest.mark.parametrize("order", ORDERINGS, ids=["-".join(o) for o in ORDERINGS])
def test_statuses_in_any_order_with_duplicates_end_at_read(order):
    outbound_message()
    times = {"sent": at(1), "delivered": at(2), "read": at(3)}

    for status in order:
        deliver(p.value(statuses=[p.status("wamid.OUT", status, timestamp=times[status])]))

    message = Message.objects.get()
    assert message.status == Message.Status.READ
    assert StatusEvent.objects.count() == 3


def test_played_follows_read_for_voice_messages():
    outbound_message()

    for status in ["played", "read", "delivered"]:
        deliver(p.value(statuses=[p.status("wamid.OUT", status)]))

    assert Message.objects.get().status == Message.Status.PLAYED


def test_failed_after_delivered_stays_failed_with_its_error():
    outbound_message()
    failure = p.error(131047, "Re-engagement message", details="More than 24 hours have passed")

    deliver(p.value(statuses=[p.status("wamid.OUT", "delivered", timestamp=at(1))]))
    deliver(p.value(statuses=[p.status("wamid.OUT", "failed", timestamp=at(2), errors=[failure])]))
    deliver(p.value(statuses=[p.status("wamid.OUT", "sent", timestamp=at(3))]))
    deliver(p.value(statuses=[p.status("wamid.OUT", "delivered", timestamp=at(4))]))

    message = Message.objects.get()
    assert message.status == Message.Status.FAILED
    assert (message.error_code, message.error_title, message.error_details) == (
        131047,
        "Re-engagement message",
        "More than 24 hours have passed",
    )


def test_statuses_with_conversation_and_pricing_are_kept_in_the_history():
    outbound_message()
    conversation = {
        "id": "c0ffee",
        "expiration_timestamp": "1764000000",
        "origin": {"type": "service"},
    }
    pricing = {"billable": True, "pricing_model": "PMP", "category": "service"}

    deliver(
        p.value(
            statuses=[p.status("wamid.OUT", "sent", conversation=conversation, pricing=pricing)]
        )
    )

    event = StatusEvent.objects.get()
    assert (event.conversation_info, event.pricing) == (conversation, pricing)
    assert event.message == Message.objects.get()


def test_a_status_before_its_outbound_message_is_applied_once_the_sender_records_the_wamid():
    deliver(p.value(statuses=[p.status("wamid.LATE", "delivered", timestamp=at(2))]))
    event = StatusEvent.objects.get()
    assert event.message is None
    message = outbound_message(wamid=None, status=Message.Status.PENDING)
    attempt = SendAttempt.objects.create(message=message, number=1)

    record_acceptance(message, attempt, "wamid.LATE")

    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    event.refresh_from_db()
    assert event.message == message


def test_a_status_naming_our_message_before_its_wamid_is_recorded_adopts_it():
    message = outbound_message(wamid=None, status=Message.Status.UNCONFIRMED)
    status = p.status("wamid.ADOPT", "delivered", timestamp=at(2))

    deliver(p.value(statuses=[status | {"biz_opaque_callback_data": f"waq:{message.pk}"}]))

    message.refresh_from_db()
    assert (message.wamid, message.status) == ("wamid.ADOPT", Message.Status.DELIVERED)
    assert StatusEvent.objects.get().message == message


def blocked(pid):
    """Whether the backend `pid` waits for a lock another transaction holds (live, unlike
    pg_stat_activity, which a transaction sees as a snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
        return cursor.fetchone()[0]


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_a_status_racing_the_senders_commit_is_applied_when_that_commit_lands():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every write, so nothing races")
    message = outbound_message(wamid=None, status=Message.Status.PENDING)
    attempt = SendAttempt.objects.create(message=message, number=1)
    status = p.status("wamid.RACE", "delivered", timestamp=at(2))
    body = p.encode(
        p.envelope(p.value(statuses=[status | {"biz_opaque_callback_data": f"waq:{message.pk}"}]))
    )
    event = WebhookEvent.objects.create(body=body, body_sha256=hashlib.sha256(body).hexdigest())
    backend = queue.Queue()

    def apply_status_webhook():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend.put(cursor.fetchone()[0])
            apply_webhook_event(WebhookEvent.objects.get(pk=event.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=apply_status_webhook)
    with transaction.atomic():  # the sending worker's transaction, not committed yet
        record_acceptance(message, attempt, "wamid.RACE")
        worker.start()
        pid = backend.get(timeout=30)
        # The status cannot see the uncommitted wamid; adopting the message waits for its row.
        deadline = time.monotonic() + 30
        while not blocked(pid):
            assert time.monotonic() < deadline, "the status never waited for the sender"
    worker.join(timeout=30)

    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert StatusEvent.objects.get().message == message


def test_a_redelivered_status_is_recorded_once():
    outbound_message()
    payload = p.value(statuses=[p.status("wamid.OUT", "read", timestamp=at(1))])

    deliver(payload)
    receive(p.encode(p.envelope(payload)) + b" ")  # same status, different body bytes

    assert StatusEvent.objects.count() == 1


# Crashes and replay


def test_a_crash_while_applying_is_recorded_and_replay_applies_it_exactly_once(
    message_insert_failure,
):
    message_insert_failure.start()
    event = deliver(inbound(p.text_message("hello", wamid="wamid.1")))
    assert event.state == WebhookEvent.State.FAILED
    assert not Message.objects.exists()

    message_insert_failure.stop()  # the "bug" is fixed
    apply_webhook_event(event)
    apply_webhook_event(event)

    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.attempts == 3
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_a_crash_on_one_message_does_not_stop_statuses_in_the_same_body(message_insert_failure):
    outbound_message()
    message_insert_failure.start()
    body = p.envelope(
        inbound(p.text_message("hello", wamid="wamid.1")),
        p.value(statuses=[p.status("wamid.OUT", "read")]),
    )

    event = receive(p.encode(body))

    assert event.state == WebhookEvent.State.FAILED
    assert Message.objects.get(wamid="wamid.OUT").status == Message.Status.READ


# Cost


def test_applying_a_one_message_payload_takes_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    deliver(inbound(p.text_message("warm-up", wamid="wamid.0")))  # number and contact exist

    # What each of them is for: tests/messaging/test_ingest_queries.py.
    with django_assert_max_num_queries(ONE_MESSAGE_QUERIES):
        deliver(inbound(p.text_message("hello", wamid="wamid.1")))

    assert Message.objects.count() == 2
