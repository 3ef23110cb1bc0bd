"""The search inside an open conversation (inbox:find): the messages a term finds, newest
first, only in a conversation the person may see."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox import search
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, Message
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db


def add(conversation, text, *, minutes_ago, kind="text"):
    return Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        type=kind,
        text=text,
        wamid=f"wamid.{text}.{minutes_ago}",
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
        status=Message.Status.RECEIVED,
    )


def find(client, conversation, q):
    return client.get(reverse("inbox:find", args=[conversation.pk]), {"q": q})


def test_it_lists_the_messages_a_term_finds_newest_first(staff_client, conversation):
    older = add(conversation, "Where is my REFUND", minutes_ago=30)
    add(conversation, "Thanks", minutes_ago=20)
    newer = add(conversation, "refund received", minutes_ago=10)
    add(conversation, "refund", minutes_ago=5, kind="reaction")  # shown on its target only

    answer = find(staff_client, conversation, "refund").json()

    assert answer == {"messages": [f"m-{newer.pk}", f"m-{older.pk}"], "more": False}


def test_it_finds_arabic_words_in_any_part(staff_client, conversation):
    found = add(conversation, "كم تكلفة الشحن إلى جدة؟", minutes_ago=3)

    assert find(staff_client, conversation, "شحن").json()["messages"] == [f"m-{found.pk}"]


def test_it_says_when_there_are_more_than_it_lists(staff_client, conversation, monkeypatch):
    monkeypatch.setattr(search, "FOUND_LIMIT", 2)
    for minutes in range(3):
        add(conversation, f"refund {minutes}", minutes_ago=minutes + 1)

    answer = find(staff_client, conversation, "refund").json()

    assert len(answer["messages"]) == 2
    assert answer["more"] is True


def test_it_finds_nothing_for_an_empty_term(staff_client, conversation):
    assert find(staff_client, conversation, "  ").json() == {"messages": [], "more": False}


def test_it_hides_conversations_of_numbers_the_person_may_not_see(client, staff_user):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id="222",
                    display_phone_number="15550000002",
                    contacts=[p.contact(wa_id="966500000009", name="Elsewhere")],
                    messages=[p.text_message("refund", sender="966500000009")],
                )
            )
        )
    )
    elsewhere = Conversation.objects.get()
    profile, _ = StaffProfile.objects.get_or_create(user=staff_user)
    profile.numbers.add(BusinessNumber.objects.create(phone_number_id="111", name="Ours"))
    client.force_login(staff_user)

    assert find(client, elsewhere, "refund").status_code == 404


def test_it_refuses_people_who_may_not_read_conversations(client, non_staff_user, conversation):
    client.force_login(non_staff_user)

    assert find(client, conversation, "Hello").status_code == 403
