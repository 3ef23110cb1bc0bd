"""manage.py seed_load: bulk benchmark data that is consistent with what ingestion would build.

Runs on whichever database the suite uses: COPY on PostgreSQL, bulk_create on SQLite.
"""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max

from messaging.models import Contact, Conversation, Message, StatusEvent

NOW = "2026-11-20T12:00:00+00:00"
ARABIC = re.compile(r"[\u0600-\u06ff]")
NOT_COUNTED = {"reaction", "edit", "revoke", "system"}
RANK = {"sent": 1, "delivered": 2, "read": 3}

pytestmark = pytest.mark.django_db


def seed(**options):
    out = io.StringIO()
    defaults = {
        "contacts": 30,
        "messages": 1500,
        "numbers": 2,
        "big_conversations": 1,
        "big_size": 400,
        "seed": 7,
        "now": NOW,
    }
    call_command("seed_load", stdout=out, **(defaults | options))
    return out.getvalue()


def test_it_loads_the_counts_asked_for():
    output = seed()
    assert Contact.objects.count() == 30
    assert Conversation.objects.count() == 30
    assert Message.objects.count() == 1500
    biggest = Conversation.objects.annotate(n=Count("messages")).aggregate(Max("n"))["n__max"]
    assert biggest >= 400
    assert "Loaded 30 contacts" in output
    assert "\r" in output  # the progress bar redraws in place
    assert ("COPY" if connection.vendor == "postgresql" else "bulk_create") in output


def test_it_gives_every_message_a_unique_wamid():
    seed()
    assert Message.objects.filter(wamid__isnull=True).count() == 0
    assert Message.objects.values("wamid").distinct().count() == 1500
    assert all(w.startswith("wamid.") for w in Message.objects.values_list("wamid", flat=True))


def test_it_keeps_every_conversations_denormalised_fields_consistent():
    seed()
    for conversation in Conversation.objects.all():
        messages = list(conversation.messages.order_by("timestamp", "pk"))
        newest = [m for m in messages if m.type not in {"edit", "revoke"}][-1]
        assert conversation.last_message_id == newest.pk
        assert conversation.last_message_at == newest.timestamp
        inbound = [
            m.timestamp for m in messages if m.direction == "in" and m.type not in NOT_COUNTED
        ]
        assert conversation.last_inbound_at == (max(inbound) if inbound else None)
        unread = 0
        for message in reversed(messages):
            if message.direction == "out":
                break
            unread += message.type not in NOT_COUNTED
        assert conversation.unread_count == unread
        if unread:
            assert conversation.state == "open"


def test_it_mixes_types_languages_and_directions():
    seed()
    types = set(Message.objects.values_list("type", flat=True))
    assert {"text", "image", "document", "location", "reaction"} <= types
    texts = list(Message.objects.filter(type="text").values_list("text", flat=True))
    assert any(ARABIC.search(text) for text in texts)
    assert any(text.isascii() for text in texts)
    outbound = Message.objects.filter(direction="out").count()
    assert 0.25 < outbound / 1500 < 0.6


def test_it_records_the_statuses_of_outbound_messages():
    seed()
    for message in Message.objects.filter(direction="out").prefetch_related("status_events"):
        events = list(message.status_events.all())
        assert events, "every outbound message has at least one status event"
        assert all(event.wamid == message.wamid for event in events)
        if message.status == "failed":
            assert message.error_code
            assert message.error_title
            assert events[-1].errors[0]["code"] == message.error_code
        else:
            assert message.status == max((e.status for e in events), key=RANK.get)
            assert message.status_at == max(e.timestamp for e in events)
    assert not Message.objects.filter(direction="in").exclude(status="received").exists()
    assert StatusEvent.objects.filter(message__isnull=True).count() == 0


def test_it_applies_reactions_to_the_message_they_react_to():
    seed()
    reactions = Message.objects.filter(type="reaction").order_by("timestamp", "pk")
    assert reactions
    latest = {}
    for reaction in reactions:
        latest[reaction.target_wamid] = reaction.data["emoji"]
    for wamid, emoji in latest.items():
        target = Message.objects.get(wamid=wamid)
        assert target.reactions == {"contact": emoji}


def test_it_is_repeatable_with_the_same_seed():
    seed()
    first = list(Message.objects.order_by("pk").values_list("type", "direction", "text", "wamid"))
    Message.objects.all().delete()
    Conversation.objects.all().delete()
    Contact.objects.all().delete()
    seed()
    again = list(Message.objects.order_by("pk").values_list("type", "direction", "text", "wamid"))
    assert again == first


def test_it_refuses_to_load_the_same_seed_twice_but_takes_another():
    seed(contacts=5, messages=50, big_conversations=0)
    with pytest.raises(CommandError, match="already loaded"):
        seed(contacts=5, messages=50, big_conversations=0)
    seed(contacts=5, messages=50, big_conversations=0, seed=8)
    assert Message.objects.count() == 100
    assert Contact.objects.count() == 10


def test_the_inbox_shows_the_loaded_data(staff_client):
    seed()
    response = staff_client.get("/")
    assert response.status_code == 200
    open_conversations = Conversation.objects.filter(state="open").count()
    assert len(response.context["conversations"]) == min(open_conversations, 30)
    big = Conversation.objects.annotate(n=Count("messages")).order_by("-n").first()
    response = staff_client.get(f"/c/{big.pk}/")
    assert response.status_code == 200
    assert len(response.context["timeline"]) >= 40
