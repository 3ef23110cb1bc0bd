"""Meta redelivers webhooks for up to 7 days: after erasure, a redelivered event from before
the erasure brings nothing back (and leaves no raw copy of the person), while a genuinely new
message starts a fresh contact."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import payloads as p
from messaging.ingest import accept, receive
from messaging.models import Contact, Conversation, Message, StatusEvent, WebhookEvent
from messaging.sending import queue_text_reply
from privacy.erasure import erase_contact
from privacy.mentions import ERASED_CARD
from privacy.models import ErasureTombstone
from tests.erasure_support import (
    OMAR_MENTION,
    OMAR_MENTION_ERASED,
    OMAR_PHONE,
    OMAR_TEXT,
    ZAINAB_BSUID,
    ZAINAB_NAME,
    ZAINAB_PHONE,
    minutes_ago,
    omar_contact,
    populate,
    traces,
    zainab_card,
    zainab_contact,
    zainab_needles,
)
from tests.webhook_support import run_webhook_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased(staff_user):
    """Everything populated, then Zainab erased: the raw bodies as Meta first sent them."""
    world = populate(staff_user)
    world.her_reply_pk = Message.objects.get(wamid="wamid.OUTZ").pk  # gone after erasure
    erase_contact(phone=ZAINAB_PHONE, actor=staff_user)
    return world


def after_erasure():
    """A Meta timestamp a minute after the erasure: a genuinely new event (Meta's clock has
    whole seconds, so one second later could still be the erasure's second)."""
    return ErasureTombstone.objects.latest("erased_at").erased_at + timedelta(minutes=1)


def snapshot():
    return {
        "contacts": Contact.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
        "statuses": StatusEvent.objects.count(),
        "bodies": sorted(WebhookEvent.objects.values_list("body_sha256", flat=True)),
    }


@pytest.mark.parametrize(
    "name", ["zainab_only", "batch", "omar_mentions", "statuses", "reaction", "edit"]
)
def test_a_redelivered_pre_erasure_webhook_recreates_nothing_and_keeps_no_raw_copy(erased, name):
    before = snapshot()

    for _time in range(3):  # a redelivery, and the same body yet again
        receive(erased.bodies[name])

        assert snapshot() == before
        assert traces(zainab_needles()) == []


def test_redeliveries_applied_together_with_a_new_body_bring_nothing_of_hers_back(erased):
    new_customer = p.encode(
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id="966500000777", name="Layla")],
                messages=[p.text_message("new here", sender="966500000777", wamid="wamid.NEW")],
            )
        )
    )
    before = snapshot()
    for body in [*erased.bodies.values(), new_customer]:
        accept(body)

    assert run_webhook_tasks() == 1

    assert Message.objects.get(wamid="wamid.NEW").conversation.contact.profile_name == "Layla"
    assert Message.objects.count() == before["messages"] + 1
    assert traces(zainab_needles()) == []
    assert not WebhookEvent.objects.exclude(state=WebhookEvent.State.PROCESSED).exists()


def test_a_redelivery_through_the_webhook_answers_ok(erased, post_webhook):
    response = post_webhook(None, body=erased.bodies["zainab_only"])

    assert response.status_code == 200
    assert not Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()
    assert traces(zainab_needles()) == []


def test_the_redelivered_batch_still_delivers_the_other_persons_message_once(erased):
    Message.objects.filter(wamid="wamid.O1").delete()  # as if it had been lost

    receive(erased.bodies["batch"])

    assert Message.objects.get(wamid="wamid.O1").text == OMAR_TEXT
    assert not Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()
    stored = [json.loads(bytes(e.body)) for e in WebhookEvent.objects.all()]
    assert OMAR_TEXT in json.dumps(stored)
    assert traces(zainab_needles()) == []


def test_a_scrubbed_redelivery_is_kept_when_it_still_holds_someone_else(staff_user):
    """A batch first stored after the erasure (so never scrubbed before): rewritten."""
    receive(p.encode(p.envelope(p.value(
        contacts=[zainab_contact()],
        messages=[p.text_message("before", sender=ZAINAB_PHONE, wamid="wamid.A")],
    ))))  # fmt: skip
    erase_contact(phone=ZAINAB_PHONE)
    earlier = timezone.now() - timedelta(hours=1)
    batch = p.encode(
        p.envelope(
            p.value(
                contacts=[zainab_contact(), p.contact(wa_id=OMAR_PHONE, name="Omar")],
                messages=[
                    p.text_message("late copy", sender=ZAINAB_PHONE, timestamp=earlier),
                    p.text_message(OMAR_TEXT, sender=OMAR_PHONE, timestamp=earlier),
                ],
            )
        )
    )

    event = receive(batch)

    event.refresh_from_db()
    assert event.summary["events"]["erased"] == 1
    assert event.body_sha256 == hashlib.sha256(bytes(event.body)).hexdigest()
    assert OMAR_TEXT.encode() in bytes(event.body)
    assert ZAINAB_PHONE.encode() not in bytes(event.body)
    assert Message.objects.filter(text=OMAR_TEXT).exists()
    assert not Message.objects.filter(text="late copy").exists()


def test_a_redelivered_status_for_her_old_message_is_dropped(erased):
    before = snapshot()

    receive(p.encode(p.envelope(p.value(
        statuses=[p.status("wamid.OUTZ", "read", recipient=ZAINAB_PHONE,
                           timestamp=timezone.now() - timedelta(minutes=5))],
    ))))  # fmt: skip

    assert snapshot() == before


def test_a_new_message_after_erasure_starts_a_fresh_contact(erased):
    old_pks = set(Contact.objects.values_list("pk", flat=True))

    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(wa_id=ZAINAB_PHONE, name="Z.")],
        messages=[p.text_message("I am back", sender=ZAINAB_PHONE, wamid="wamid.NEW",
                                 timestamp=after_erasure())],
    ))))  # fmt: skip

    contact = Contact.objects.get(wa_id=ZAINAB_PHONE)
    assert contact.pk not in old_pks
    assert contact.profile_name == "Z."
    messages = Message.objects.filter(conversation__contact=contact)
    assert list(messages.values_list("text", flat=True)) == ["I am back"]


def test_a_new_message_by_user_id_alone_after_erasure_is_kept(erased):
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(user_id=ZAINAB_BSUID)],
        messages=[p.text_message("hello again", sender=ZAINAB_BSUID,
                                 timestamp=after_erasure())],
    ))))  # fmt: skip

    assert Contact.objects.filter(user_id=ZAINAB_BSUID).exists()


def test_other_peoples_webhooks_cost_one_query_more_at_most(erased, django_assert_max_num_queries):
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(wa_id=OMAR_PHONE)],
        messages=[p.text_message("warm-up", sender=OMAR_PHONE)],
    ))))  # fmt: skip

    # As in tests/messaging/test_ingest.py's bound, plus the one tombstone lookup per body.
    with django_assert_max_num_queries(20):
        receive(p.encode(p.envelope(p.value(
            contacts=[p.contact(wa_id=OMAR_PHONE)],
            messages=[p.text_message("one more", sender=OMAR_PHONE)],
        ))))  # fmt: skip


# Whatever the time: what can only bring her back.


def test_a_status_after_the_erasure_for_her_erased_reply_brings_nothing_back(erased):
    before = snapshot()
    late_read = p.status(
        "wamid.OUTZ", "read", recipient=ZAINAB_PHONE, recipient_user_id=ZAINAB_BSUID,
        timestamp=after_erasure(),
    ) | {"biz_opaque_callback_data": f"waq:{erased.her_reply_pk}"}  # fmt: skip

    receive(p.encode(p.envelope(p.value(statuses=[late_read]))))

    assert snapshot() == before
    assert not StatusEvent.objects.filter(wamid="wamid.OUTZ").exists()
    assert traces(zainab_needles()) == []


def test_a_status_after_the_erasure_for_a_new_reply_to_her_is_applied(erased, staff_user):
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(wa_id=ZAINAB_PHONE)],
        messages=[p.text_message("I am back", sender=ZAINAB_PHONE, timestamp=after_erasure())],
    ))))  # fmt: skip
    conversation = Conversation.objects.get(contact__wa_id=ZAINAB_PHONE)
    reply = queue_text_reply(conversation, staff_user, "Welcome back")
    Message.objects.filter(pk=reply.pk).update(wamid="wamid.NEWREPLY", status="sent")
    read = p.status(
        "wamid.NEWREPLY", "read", recipient=ZAINAB_PHONE,
        timestamp=after_erasure() + timedelta(minutes=1),
    )  # fmt: skip

    receive(p.encode(p.envelope(p.value(statuses=[read]))))

    reply.refresh_from_db()
    assert reply.status == Message.Status.READ
    assert StatusEvent.objects.get(wamid="wamid.NEWREPLY").recipient_id == ZAINAB_PHONE


def user_id_update(timestamp=None):
    item = {"wa_id": ZAINAB_PHONE, "user_id": {"previous": ZAINAB_BSUID, "current": "SA.99"}}
    if timestamp is not None:
        item["timestamp"] = p.unix_time(timestamp)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": p.PHONE_NUMBER_ID},
        "user_id_update": [item],
    }
    return p.envelope(p.change(value, field="user_id_update"))


@pytest.mark.parametrize("dated", ["undated", "before", "after"])
def test_a_change_of_her_ids_after_erasure_is_dropped_and_keeps_no_raw_copy(erased, dated):
    when = {"undated": None, "before": timezone.now() - timedelta(minutes=10)}
    before = snapshot()

    event = receive(p.encode(user_id_update(when.get(dated, after_erasure()))))

    assert snapshot() == before
    assert event.pk is None  # the body named only her: deleted
    assert traces([*zainab_needles(), "SA.99"]) == []


def test_a_change_of_her_ids_after_she_came_back_is_applied(erased):
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(wa_id=ZAINAB_PHONE, user_id=ZAINAB_BSUID)],
        messages=[p.text_message("I am back", sender=ZAINAB_PHONE, timestamp=after_erasure())],
    ))))  # fmt: skip

    receive(p.encode(user_id_update(after_erasure() + timedelta(minutes=1))))

    assert Contact.objects.get(wa_id=ZAINAB_PHONE).user_id == "SA.99"


def calls(*callers):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": p.PHONE_NUMBER_ID},
        "contacts": [p.contact(wa_id=phone, name=name) for phone, name in callers],
        "calls": [
            {
                "id": f"wacid.{phone}",
                "from": phone,
                "to": p.DISPLAY_PHONE_NUMBER,
                "event": "connect",
                "direction": "USER_INITIATED",
                "timestamp": p.unix_time(after_erasure()),
            }
            for phone, _name in callers
        ],
    }
    return p.envelope(p.change(value, field="calls"))


def test_a_field_we_ignore_that_names_her_keeps_no_raw_copy(erased):
    event = receive(p.encode(calls((ZAINAB_PHONE, ZAINAB_NAME))))

    assert event.pk is None
    assert traces(zainab_needles()) == []


def test_a_field_we_ignore_naming_her_and_someone_else_keeps_only_the_other(erased):
    event = receive(p.encode(calls((ZAINAB_PHONE, ZAINAB_NAME), (OMAR_PHONE, "Omar"))))

    body = bytes(WebhookEvent.objects.get(pk=event.pk).body)
    assert OMAR_PHONE.encode() in body
    assert traces(zainab_needles()) == []


def test_a_field_we_ignore_naming_nobody_erased_is_kept_as_it_came(erased):
    raw = p.encode(calls((OMAR_PHONE, "Omar")))

    event = receive(raw)

    assert bytes(WebhookEvent.objects.get(pk=event.pk).body) == raw
    assert event.summary["events"] == {"IgnoredField": 1, "ignored:calls": 1}


# Her in other people's messages: a redelivery is redacted as erasure redacted the stored copy.


def omar_mentioning_her(timestamp, *, wamid="wamid.O3"):
    return p.text_message(OMAR_MENTION, wamid=wamid, sender=OMAR_PHONE, timestamp=timestamp)


def stored_bodies():
    return json.dumps(
        [json.loads(bytes(body)) for body in WebhookEvent.objects.values_list("body", flat=True)],
        ensure_ascii=False,
    )


def test_a_redelivered_batch_keeps_the_other_persons_message_without_her_number(erased):
    """Her message and Omar's quoting her number, as Meta first sent them together."""
    batch = p.encode(p.envelope(p.value(
        contacts=[zainab_contact(), omar_contact()],
        messages=[
            p.text_message("late copy", sender=ZAINAB_PHONE, timestamp=minutes_ago(29)),
            omar_mentioning_her(minutes_ago(29)),
        ],
    )))  # fmt: skip

    event = receive(batch)

    body = bytes(WebhookEvent.objects.get(pk=event.pk).body).decode()
    assert OMAR_MENTION_ERASED in body
    assert traces(zainab_needles()) == []


def test_a_lost_message_naming_her_arrives_after_the_erasure_without_her(erased):
    Message.objects.filter(wamid__in=["wamid.O2", "wamid.O3"]).delete()  # never delivered

    receive(erased.bodies["omar_mentions"])

    assert Message.objects.get(wamid="wamid.O3").text == OMAR_MENTION_ERASED
    assert Message.objects.get(wamid="wamid.O2").data["contacts"] == [ERASED_CARD]
    assert traces(zainab_needles()) == []


def test_an_edit_sent_before_the_erasure_brings_back_no_number_of_hers(erased):
    edit = p.message(
        "edit",
        {"original_message_id": "wamid.O1",
         "message": {"type": "text", "text": {"body": OMAR_MENTION}}},
        wamid="wamid.O1E", sender=OMAR_PHONE, timestamp=minutes_ago(5),
    )  # fmt: skip

    receive(p.encode(p.envelope(p.value(contacts=[omar_contact()], messages=[edit]))))

    assert Message.objects.get(wamid="wamid.O1").text == OMAR_MENTION_ERASED
    assert traces(zainab_needles()) == []


def test_what_someone_writes_about_her_after_the_erasure_is_kept_as_written(erased):
    card = p.message("contacts", [zainab_card()], wamid="wamid.O9", sender=OMAR_PHONE,
                     timestamp=after_erasure())  # fmt: skip
    raw = p.encode(p.envelope(p.value(
        contacts=[omar_contact()],
        messages=[omar_mentioning_her(after_erasure(), wamid="wamid.O8"), card],
    )))  # fmt: skip

    event = receive(raw)

    assert bytes(WebhookEvent.objects.get(pk=event.pk).body) == raw
    assert Message.objects.get(wamid="wamid.O8").text == OMAR_MENTION
    assert Message.objects.get(wamid="wamid.O9").data["contacts"] != [ERASED_CARD]


def test_numbers_of_people_never_erased_are_left_in_the_text(erased):
    text = f"Call Omar on +{OMAR_PHONE} or the office on 0096611 222 3333"

    event = receive(p.encode(p.envelope(p.value(
        contacts=[omar_contact()],
        messages=[p.text_message(text, sender=OMAR_PHONE, wamid="wamid.O7",
                                 timestamp=minutes_ago(29))],
    ))))  # fmt: skip

    assert Message.objects.get(wamid="wamid.O7").text == text
    assert text in stored_bodies()
    assert event.pk is not None


@pytest.mark.parametrize(
    ("written", "left"),
    [
        ("+966501112233", "[removed]"),
        ("00966501112233", "[removed]"),
        ("966 50 111 2233", "[removed]"),
        ("+966 (50) 111-22.33", "[removed]"),
        (f"{OMAR_PHONE} {ZAINAB_PHONE}", f"{OMAR_PHONE} [removed]"),
        (ZAINAB_BSUID, "[removed]"),
    ],
)
def test_her_ids_are_found_in_a_redelivery_however_erasure_recognises_them(erased, written, left):
    receive(p.encode(p.envelope(p.value(
        contacts=[omar_contact()],
        messages=[p.text_message(f"Her: {written}.", sender=OMAR_PHONE, wamid="wamid.O6",
                                 timestamp=minutes_ago(29))],
    ))))  # fmt: skip

    assert Message.objects.get(wamid="wamid.O6").text == f"Her: {left}."
    assert traces(zainab_needles()) == []
