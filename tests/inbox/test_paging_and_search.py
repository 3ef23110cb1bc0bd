"""Keyset paging of the list and the timeline, and message search (trigram index on
PostgreSQL, icontains on SQLite): every row exactly once, the right rows, only visible ones."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox import services
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation, Message
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SECOND_NUMBER = {"phone_number_id": "222", "display_phone_number": "15550000002"}


def deliver(text, *, sender=p.USER_WA_ID, name="Amina Khalid", **value_options):
    message = p.text_message(text, sender=sender, timestamp=timezone.now())
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=sender, name=name)],
                    messages=[message],
                    **value_options,
                )
            )
        )
    )
    return Message.objects.select_related("conversation").get(wamid=message["id"]).conversation


def ids_on(html, prefix):
    return [int(pk) for pk in re.findall(rf'id="{prefix}-(\d+)"', html)]


# Keyset paging


def test_it_shows_every_message_of_a_long_timeline_once_even_when_timestamps_are_equal(
    staff_client,
):
    conversation = deliver("first")
    start = timezone.now() - timedelta(days=1)
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction="in",
            # Reactions are shown on their target, not as rows: pages must skip them cleanly.
            type="reaction" if i % 11 == 0 else "text",
            wamid=f"wamid.same{i}",
            # Groups of seven share a moment, and a page boundary falls inside some groups.
            timestamp=start + timedelta(seconds=i // 7),
            text=f"message {i}",
            status="received",
        )
        for i in range(173)
    )
    expected = list(
        conversation.messages.exclude(type__in=services.TIMELINE_HIDDEN_TYPES)
        .order_by("timestamp", "pk")
        .values_list("pk", flat=True)
    )

    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    pages = [ids_on(html, "m")]
    while older := re.search(r'hx-get="(/c/\d+/messages/\?before=[^"]+)"', html):
        html = staff_client.get(older.group(1), headers=HTMX).content.decode()
        pages.insert(0, ids_on(html, "m"))

    assert len(pages) == 4
    assert [pk for page in pages for pk in page] == expected


def test_it_lists_every_conversation_once_across_pages_when_activity_times_are_equal(
    staff_client,
):
    number = BusinessNumber.objects.create(phone_number_id="333", display_phone_number="1555")
    moment = timezone.now() - timedelta(minutes=5)
    contacts = Contact.objects.bulk_create(
        Contact(wa_id=f"9665000{i:05d}", profile_name=f"Person {i}") for i in range(75)
    )
    Conversation.objects.bulk_create(
        Conversation(
            business_number=number,
            contact=contact,
            # Three moments for 75 conversations: every page boundary is inside a tie.
            last_message_at=moment - timedelta(seconds=i % 3),
        )
        for i, contact in enumerate(contacts)
    )
    expected = list(
        Conversation.objects.order_by("-last_message_at", "-pk").values_list("pk", flat=True)
    )

    html = staff_client.get("/").content.decode()
    seen = [int(pk) for pk in re.findall(r'data-conversation="(\d+)"', html)]
    while after := re.search(r'hx-get="/\?after=([^"&]+)', html):
        html = staff_client.get("/", {"after": after.group(1)}, headers=HTMX).content.decode()
        seen += [int(pk) for pk in re.findall(r'data-conversation="(\d+)"', html)]

    assert seen == expected


# Search


@pytest.fixture(
    params=[(1000, 100), (2, 1), (2, 50)],
    ids=["rare-term-by-index", "common-term-walks-the-list", "common-in-few-conversations"],
)
def search_strategy(request, monkeypatch):
    """On PostgreSQL each way the search can go; SQLite always walks with icontains."""
    probe, spread = request.param
    monkeypatch.setattr(services, "SEARCH_PROBE", probe)
    monkeypatch.setattr(services, "SEARCH_SPREAD", spread)


def listed(client, query):
    html = client.get("/", {"q": query}).content.decode()
    return set(re.findall(r'class="row-name"><bdi>([^<]+)</bdi>', html))


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_arabic_and_english_words_in_message_text(staff_client):
    deliver("Could you send me the invoice for order 4821?", sender="447700900001", name="John")
    deliver("كم تكلفة الشحن إلى جدة؟", sender="966500000002", name="Huda")
    deliver("I would like a REFUND please", sender="966500000003", name="Omar")
    deliver("Thanks!", sender="966500000004", name="Layla")

    assert "John" in listed(staff_client, "invoice")
    assert "John" in listed(staff_client, "order 4821")
    assert "Huda" in listed(staff_client, "الشحن")
    # Any part of a word: Arabic attaches prefixes ("ال", "و", "ب") to the word searched for.
    assert "Huda" in listed(staff_client, "شحن")
    assert "Omar" in listed(staff_client, "refund")
    assert "Layla" not in listed(staff_client, "refund")
    assert listed(staff_client, "xylophone") == set()


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_a_word_said_many_times_in_one_conversation_and_once_elsewhere(staff_client):
    chatty = deliver("refund", sender="966500000005", name="Chatty")
    Message.objects.bulk_create(
        Message(
            conversation=chatty,
            direction="in",
            type="text",
            wamid=f"wamid.chatty{i}",
            timestamp=timezone.now() - timedelta(hours=1, seconds=i),
            text="refund refund",
            status="received",
        )
        for i in range(20)
    )
    deliver("Where is my refund?", sender="966500000006", name="Quiet")
    for i in range(5):
        deliver("Hello", sender=f"96650000010{i}", name=f"Other {i}")

    found = listed(staff_client, "refund")

    assert {"Chatty", "Quiet"} <= found
    assert not any(name.startswith("Other") for name in found)


@pytest.mark.usefixtures("search_strategy")
def test_it_searches_only_the_numbers_a_person_may_see(client, staff_user):
    deliver("The book arrived damaged, refund please", sender="966500000007", name="Seen")
    deliver("الكتاب وصل تالفاً، refund", sender="966500000008", name="Hidden", **SECOND_NUMBER)
    profile, _ = StaffProfile.objects.get_or_create(user=staff_user)
    profile.numbers.add(BusinessNumber.objects.get(phone_number_id=p.PHONE_NUMBER_ID))
    client.force_login(staff_user)

    assert listed(client, "refund") == {"Seen"}
    assert listed(client, "الكتاب") == set()
    assert listed(client, "Hidden") == set()
