"""messaging.contacts: finding contacts by phone or BSUID, linking, and merging two records of
one person without losing anything staff or the person's requests attached to either."""

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from automation.models import (
    AutoReplyClaim,
    ConversationLabel,
    ConversationPriority,
    Label,
    Note,
    StaffNotification,
    WaitAlert,
)
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation, InboxChange, Message
from privacy.models import DeletionRequest

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PHONE = "966501234567"
BSUID = "SA.40404040404040"


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def deliver(*values):
    return receive(p.encode(p.envelope(*values)))


def by_phone(text, wamid, minutes, **options):
    return p.value(
        contacts=[p.contact(wa_id=PHONE, name="Amina")],
        messages=[p.text_message(text, sender=PHONE, wamid=wamid, timestamp=at(minutes))],
        **options,
    )


def by_bsuid(text, wamid, minutes):
    return p.value(
        contacts=[p.contact(user_id=BSUID, username="amina.k")],
        messages=[p.text_message(text, sender=BSUID, wamid=wamid, timestamp=at(minutes))],
    )


def pairing(wamid, minutes):
    """A message that tells us the phone and the BSUID are one person."""
    return p.value(
        contacts=[p.contact(wa_id=PHONE, user_id=BSUID, name="Amina")],
        messages=[p.text_message("both", sender=PHONE, wamid=wamid, timestamp=at(minutes))],
    )


def row_counts():
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }


@pytest.fixture
def two_records():
    """The same person twice: first by phone, later by BSUID, each with a conversation."""
    deliver(by_phone("by phone", "wamid.P", 1))
    deliver(by_bsuid("by bsuid", "wamid.B", 2))
    phone = Conversation.objects.get(contact__wa_id=PHONE)
    bsuid = Conversation.objects.get(contact__user_id=BSUID)
    assert phone.contact_id < bsuid.contact_id  # the phone record is kept, the other goes
    return phone, bsuid


def test_merging_moves_notes_labels_priority_and_deletion_requests_of_the_merged_away_record(
    two_records, staff_user, supervisor
):
    kept, merged_away = two_records
    vip, billing = Label.objects.create(name="VIP"), Label.objects.create(name="Billing")
    ConversationLabel.objects.create(conversation=kept, label=vip)
    ConversationLabel.objects.create(conversation=merged_away, label=vip)  # once after merging
    ConversationLabel.objects.create(conversation=merged_away, label=billing)
    ConversationPriority.objects.create(
        conversation=merged_away, level=ConversationPriority.Level.URGENT
    )
    note = Note.objects.create(conversation=merged_away, author=staff_user, text="Call back")
    claim = AutoReplyClaim.objects.create(conversation=merged_away, kind="greeting")
    alert = WaitAlert.objects.create(conversation=merged_away, waiting_since=at(2))
    notification = StaffNotification.objects.create(
        user=supervisor, kind="waiting", conversation=merged_away
    )
    request = DeletionRequest.objects.create(
        contact=merged_away.contact, user_id=BSUID, channel="whatsapp"
    )
    before = row_counts()

    deliver(pairing("wamid.BOTH", 3))

    contact = Contact.objects.get()
    assert (contact.pk, contact.wa_id, contact.user_id) == (kept.contact_id, PHONE, BSUID)
    conversation = Conversation.objects.get()
    assert conversation.pk == kept.pk
    assert sorted(conversation.labels.values_list("name", flat=True)) == ["Billing", "VIP"]
    assert conversation.priority.level == ConversationPriority.Level.URGENT
    for row in (note, claim, alert, notification):
        row.refresh_from_db()
        assert row.conversation_id == kept.pk
    request.refresh_from_db()
    assert request.contact == contact
    assert set(conversation.messages.values_list("wamid", flat=True)) == {
        "wamid.P",
        "wamid.B",
        "wamid.BOTH",
    }
    # Nothing else went: one contact, one conversation and the duplicate label link (the
    # pairing itself added its message, its raw body and the body's link to the contact).
    after = row_counts()
    changed = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    changed.pop("messaging.InboxChange")  # announcements of the merge
    assert changed == {
        "messaging.Contact": -1,
        "messaging.Conversation": -1,
        "automation.ConversationLabel": -1,
        "messaging.Message": 1,
        "messaging.WebhookEvent": 1,
        "messaging.WebhookEvent_contacts": 1,
    }


def test_merging_keeps_the_higher_priority_and_a_single_claim_per_reason(two_records):
    kept, merged_away = two_records
    ConversationPriority.objects.create(conversation=kept, level=ConversationPriority.Level.HIGH)
    ConversationPriority.objects.create(
        conversation=merged_away, level=ConversationPriority.Level.LOW
    )
    AutoReplyClaim.objects.create(conversation=kept, kind="greeting")
    AutoReplyClaim.objects.create(conversation=merged_away, kind="greeting")
    AutoReplyClaim.objects.create(conversation=merged_away, kind="away", key="7")

    deliver(pairing("wamid.BOTH", 3))

    assert ConversationPriority.objects.get().level == ConversationPriority.Level.HIGH
    claims = AutoReplyClaim.objects.filter(conversation=kept)
    assert sorted(claims.values_list("kind", "key")) == [("away", "7"), ("greeting", "")]


def test_merging_combines_counters_state_and_assignee_and_keeps_the_earliest_creation(
    two_records, staff_user, supervisor
):
    kept, merged_away = two_records
    Conversation.objects.filter(pk=kept.pk).update(
        state=Conversation.State.CLOSED, assignee=staff_user, unread_count=0
    )
    Conversation.objects.filter(pk=merged_away.pk).update(assignee=supervisor)
    earliest = at(-60 * 24)
    Conversation.objects.filter(pk=merged_away.pk).update(created_at=earliest)
    Contact.objects.filter(pk=merged_away.contact_id).update(created_at=earliest)

    deliver(pairing("wamid.BOTH", 3))

    conversation = Conversation.objects.get()
    assert conversation.state == Conversation.State.OPEN
    assert conversation.unread_count == 2  # "by bsuid" and "both"
    # Both were assigned: the one the person wrote in last keeps its assignee.
    assert conversation.assignee == supervisor
    assert (conversation.last_message.wamid, conversation.last_inbound_at) == ("wamid.BOTH", at(3))
    assert conversation.created_at == earliest
    assert Contact.objects.get().created_at == earliest


def test_a_merged_away_conversations_feed_entries_follow_it(two_records):
    kept, merged_away = two_records
    feed = set(InboxChange.objects.filter(conversation=merged_away).values_list("pk", flat=True))

    deliver(pairing("wamid.BOTH", 3))

    assert set(InboxChange.objects.filter(pk__in=feed).values_list("conversation", flat=True)) == {
        kept.pk
    }


def test_conversations_with_other_business_numbers_move_whole(staff_user):
    deliver(by_phone("to the first number", "wamid.P", 1))
    deliver(
        p.value(
            phone_number_id="999000111",
            contacts=[p.contact(user_id=BSUID)],
            messages=[
                p.text_message("to the second", sender=BSUID, wamid="wamid.B", timestamp=at(2))
            ],
        )
    )
    second = Conversation.objects.get(business_number__phone_number_id="999000111")
    Note.objects.create(conversation=second, author=staff_user, text="Second line")

    deliver(pairing("wamid.BOTH", 3))

    contact = Contact.objects.get()
    assert set(contact.conversations.values_list("pk", flat=True)) >= {second.pk}
    assert Note.objects.get().conversation_id == second.pk
    assert BusinessNumber.objects.count() == 2
    assert Message.objects.filter(conversation__contact=contact).count() == 3


# Conflicts: phone numbers are recycled; the BSUID is the person.

OTHER_PHONE = "966507654321"
OTHER_BSUID = "SA.51515151515151"


def from_person(phone, bsuid, wamid, minutes, text="hello"):
    return p.value(
        contacts=[p.contact(wa_id=phone, user_id=bsuid)],
        messages=[p.text_message(text, sender=phone, wamid=wamid, timestamp=at(minutes))],
    )


def messages_of(contact):
    messages = Message.objects.filter(conversation__contact=contact)
    return set(messages.values_list("wamid", flat=True))


def test_a_recycled_number_paired_with_another_persons_bsuid_merges_no_one(caplog):
    deliver(from_person(PHONE, BSUID, "wamid.A", 1))  # A = (PHONE, BSUID)
    deliver(from_person(OTHER_PHONE, OTHER_BSUID, "wamid.B", 2))  # B = (OTHER_PHONE, OTHER_BSUID)
    a, b = Contact.objects.get(user_id=BSUID), Contact.objects.get(user_id=OTHER_BSUID)

    deliver(from_person(PHONE, OTHER_BSUID, "wamid.NEW", 3))  # B now has A's old number

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.wa_id, a.user_id) == (None, BSUID)  # keeps its history under its BSUID
    assert (b.wa_id, b.user_id) == (PHONE, OTHER_BSUID)
    assert messages_of(a) == {"wamid.A"}
    assert messages_of(b) == {"wamid.B", "wamid.NEW"}
    assert f"contact {a.pk}: its phone number now belongs to another WhatsApp user" in caplog.text
    assert PHONE not in caplog.text
    assert OTHER_PHONE not in caplog.text


def test_a_number_seen_with_a_new_bsuid_starts_a_new_contact_and_the_old_keeps_its_history():
    deliver(from_person(PHONE, BSUID, "wamid.OLD", 1))
    old = Contact.objects.get()

    deliver(from_person(PHONE, OTHER_BSUID, "wamid.NEW", 2))

    old.refresh_from_db()
    new = Contact.objects.get(user_id=OTHER_BSUID)
    assert (old.wa_id, new.wa_id) == (None, PHONE)
    assert (messages_of(old), messages_of(new)) == ({"wamid.OLD"}, {"wamid.NEW"})


def test_a_bsuid_seen_with_a_new_number_takes_the_number():
    deliver(from_person(OTHER_PHONE, BSUID, "wamid.1", 1))

    deliver(from_person(PHONE, BSUID, "wamid.2", 2))

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id) == (PHONE, BSUID)
    assert messages_of(contact) == {"wamid.1", "wamid.2"}


def test_a_phone_only_record_merges_into_the_bsuid_that_now_has_its_number():
    """Nothing says a record known by phone alone is someone else: one record, one number."""
    deliver(by_phone("phone only", "wamid.P", 1))
    deliver(from_person(OTHER_PHONE, BSUID, "wamid.B", 2))

    deliver(from_person(PHONE, BSUID, "wamid.BOTH", 3))

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id) == (PHONE, BSUID)
    assert messages_of(contact) == {"wamid.P", "wamid.B", "wamid.BOTH"}


def outbound_to(contact, wamid):
    number = BusinessNumber.objects.get()
    conversation = Conversation.objects.get(contact=contact)
    return Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        type="text",
        text="Your order has shipped",
        wamid=wamid,
        timestamp=at(5),
        status=Message.Status.SENT,
    ), number


def read_status(wamid, phone, bsuid):
    status = p.status(wamid, "read", recipient=phone, recipient_user_id=bsuid, timestamp=at(6))
    return p.value(statuses=[status])


def test_a_status_pairing_a_phone_and_a_bsuid_merges_their_two_records(two_records):
    kept, _merged_away = two_records
    message, _number = outbound_to(kept.contact, "wamid.OUT")

    event = deliver(read_status("wamid.OUT", PHONE, BSUID))

    contact = Contact.objects.get()
    assert (contact.pk, contact.wa_id, contact.user_id) == (kept.contact_id, PHONE, BSUID)
    assert messages_of(contact) == {"wamid.P", "wamid.B", "wamid.OUT"}
    message.refresh_from_db()
    assert message.status == Message.Status.READ
    assert list(event.contacts.all()) == [contact]


def test_a_status_pairing_a_recycled_number_detaches_it_and_creates_no_contact():
    deliver(from_person(PHONE, BSUID, "wamid.A", 1))
    a = Contact.objects.get()
    outbound_to(a, "wamid.OUT")

    deliver(read_status("wamid.OUT", PHONE, OTHER_BSUID))

    a.refresh_from_db()
    assert (a.wa_id, a.user_id) == (None, BSUID)
    assert Contact.objects.count() == 1


def number_change(old_phone, new_phone, wamid, minutes):
    notice = p.system_number_change(old_phone, new_phone, wamid=wamid, timestamp=at(minutes))
    return p.value(messages=[notice])


def test_a_number_change_onto_a_number_another_record_of_the_person_holds_merges_them():
    deliver(from_person(PHONE, BSUID, "wamid.OLD", 1))
    deliver(  # the new number wrote first (Meta's deliveries are unordered), by phone alone
        p.value(
            contacts=[p.contact(wa_id=OTHER_PHONE)],
            messages=[p.text_message("hi", sender=OTHER_PHONE, wamid="wamid.NEWNUM")],
        )
    )
    assert Contact.objects.count() == 2

    deliver(number_change(PHONE, OTHER_PHONE, "wamid.SYS", 3))

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id) == (OTHER_PHONE, BSUID)
    assert messages_of(contact) == {"wamid.OLD", "wamid.NEWNUM", "wamid.SYS"}


def test_a_number_change_onto_a_number_its_previous_owner_holds_detaches_it_from_them():
    deliver(from_person(PHONE, BSUID, "wamid.MINE", 1))
    deliver(from_person(OTHER_PHONE, OTHER_BSUID, "wamid.THEIRS", 2))
    previous_owner = Contact.objects.get(user_id=OTHER_BSUID)

    deliver(number_change(PHONE, OTHER_PHONE, "wamid.SYS", 3))

    previous_owner.refresh_from_db()
    person = Contact.objects.get(user_id=BSUID)
    assert (person.wa_id, previous_owner.wa_id) == (OTHER_PHONE, None)
    assert messages_of(previous_owner) == {"wamid.THEIRS"}
    assert messages_of(person) == {"wamid.MINE", "wamid.SYS"}
