"""Keyset paging of the list and the timeline, and message search (trigram index on
PostgreSQL, icontains on SQLite): every row exactly once, the right rows, only visible ones."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from inbox import services
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation, Message
from messaging.search import SEARCHED_CARDS
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


def deliver_item(item, *, sender, name):
    receive(
        p.encode(
            p.envelope(p.value(contacts=[p.contact(wa_id=sender, name=name)], messages=[item]))
        )
    )
    return Message.objects.get(wamid=item["id"])


def shared_cards(*names, sender):
    cards = [
        {"name": {"formatted_name": name}, "phones": [{"phone": "+1 555 0100"}]} for name in names
    ]
    return p.message("contacts", sender=sender) | {"contacts": cards}


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_a_document_by_its_file_name_and_its_caption(staff_client):
    deliver_item(
        p.media_message("document", filename="فاتورة-4821.pdf", caption="the signed copy",
                        sender="966500000011"),
        sender="966500000011", name="Nadia",
    )  # fmt: skip
    deliver("Thanks!", sender="966500000012", name="Other")

    assert listed(staff_client, "فاتورة") == {"Nadia"}
    assert listed(staff_client, "4821.PDF") == {"Nadia"}
    assert listed(staff_client, "signed copy") == {"Nadia"}


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_a_contact_card_by_the_shared_contacts_name(staff_client):
    deliver_item(
        shared_cards("Chandler Bing", "زينب العلي", sender="966500000013"),
        sender="966500000013", name="Rami",
    )  # fmt: skip
    deliver("Hello", sender="966500000014", name="Other")

    assert listed(staff_client, "chandler") == {"Rami"}
    assert listed(staff_client, "زينب") == {"Rami"}


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_every_card_of_a_message_sharing_many(staff_client):
    names = [f"Friend {n:02d}" for n in range(SEARCHED_CARDS)]
    deliver_item(shared_cards(*names, sender="966500000015"), sender="966500000015", name="Many")

    assert listed(staff_client, names[-1]) == {"Many"}


@pytest.mark.usefixtures("search_strategy")
def test_it_finds_a_place_by_its_name_or_address(staff_client):
    deliver_item(
        p.location_message(21.42, 39.82, name="مكتبة القلم", address="Al Aziziyah, Makkah",
                           sender="966500000016"),
        sender="966500000016", name="Visitor",
    )  # fmt: skip

    assert listed(staff_client, "القلم") == {"Visitor"}
    assert listed(staff_client, "aziziyah") == {"Visitor"}


@pytest.mark.usefixtures("search_strategy")
def test_it_stops_finding_a_card_or_file_once_its_content_is_removed(staff_client):
    card = deliver_item(
        shared_cards("Zainab Ali", sender="966500000017"), sender="966500000017", name="Sami"
    )
    document = deliver_item(
        p.media_message("document", filename="passport.pdf", sender="966500000018"),
        sender="966500000018", name="Huda",
    )  # fmt: skip

    # As retention and erasure rewrite data (privacy.retention, privacy.mentions).
    Message.objects.filter(pk=card.pk).update(data={"contacts": [{"erased": True}]})
    Message.objects.filter(pk=document.pk).update(data={"mime_type": "application/pdf"})

    assert listed(staff_client, "Zainab") == set()
    assert listed(staff_client, "passport") == set()


@pytest.mark.parametrize("term", ["invoice", "فاتورة"])
def test_the_search_can_use_the_trigram_indexes_of_text_and_other_words_on_postgresql(term):
    """The index of migration 0011 is built on a copy of messaging.search.search_words()'s SQL:
    a query whose expression differs in any way could not use it (the search would read
    every message of a million). The planner is told to avoid reading the table, so that it
    takes an index wherever it can, however little data the test has."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no trigram indexes and scans")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")

    plan = Message.objects.containing(term).values_list("conversation_id", flat=True).explain()

    assert "message_text_trgm_idx" in plan
    assert "message_search_words_trgm_idx" in plan
