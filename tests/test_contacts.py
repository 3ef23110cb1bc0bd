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
