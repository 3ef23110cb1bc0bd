"""The list says when its filters hide matches of a search, with one link that shows them,
counting only conversations the person may see; a conversation opened from a search knows
its newest matching message (the page scrolls to it)."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from inbox import search, services
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, Message
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db

SECOND_NUMBER = {"phone_number_id": "222", "display_phone_number": "15550000002"}


@pytest.fixture(
    params=[(1000, 100), (2, 1), (2, 50)],
    ids=["rare-term-by-index", "common-term-walks-the-list", "common-in-few-conversations"],
)
def search_strategy(request, monkeypatch):
    """On PostgreSQL each way the search can go; SQLite always walks with icontains."""
    probe, spread = request.param
    monkeypatch.setattr(services, "SEARCH_PROBE", probe)
    monkeypatch.setattr(services, "SEARCH_SPREAD", spread)


def deliver(text, *, sender, name, **value_options):
    message = p.text_message(text, sender=sender, timestamp=timezone.now())
    contacts = [p.contact(wa_id=sender, name=name)]
    receive(p.encode(p.envelope(p.value(contacts=contacts, messages=[message], **value_options))))
    return Message.objects.select_related("conversation").get(wamid=message["id"]).conversation


def close(conversation):
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.CLOSED)


def hint(client, **params):
    html = client.get("/", params).content.decode()
    found = re.search(
        r'<p class="search-hidden" role="status"><span>([^<]+)</span>\s*'
        r'<a href="([^"]+)">([^<]+)</a>',
        html,
    )
    return found.groups() if found else None


@pytest.mark.usefixtures("search_strategy")
def test_it_says_how_many_closed_conversations_match_and_links_to_include_them(staff_client):
    deliver("Where is my refund?", sender="966500000001", name="Open one")
    for n in range(3):
        close(deliver(f"refund number {n}", sender=f"96650000001{n}", name=f"Closed {n}"))
    deliver("Thanks", sender="966500000020", name="Unrelated")

    summary, link, action = hint(staff_client, q="refund")

    assert summary == "3 more in closed conversations"
    assert action == "Include them"
    assert link.replace("&amp;", "&") == "/?assigned=all&state=all&q=refund"
    html = staff_client.get(link.replace("&amp;", "&")).content.decode()
    assert html.count('class="conversation-row') == 4
    assert 'class="search-hidden"' not in html


def test_it_says_how_many_open_conversations_match_when_listing_closed_ones(staff_client):
    deliver("refund please", sender="966500000001", name="Open one")

    summary, _link, _action = hint(staff_client, q="refund", state="closed")

    assert summary == "1 more in open conversations"


def test_it_says_nothing_when_no_match_is_hidden(staff_client):
    deliver("refund please", sender="966500000001", name="Open one")
    close(deliver("Thanks", sender="966500000002", name="Closed, no match"))

    assert hint(staff_client, q="refund") is None
    assert hint(staff_client, q="refund", state="all") is None


def test_it_points_to_a_search_of_everything_when_other_filters_hide_matches(client, supervisor):
    client.force_login(supervisor)
    mine = deliver("refund please", sender="966500000001", name="Mine")
    Conversation.objects.filter(pk=mine.pk).update(assignee=supervisor)
    deliver("refund too", sender="966500000002", name="Unassigned")
    close(deliver("refund three", sender="966500000003", name="Closed"))

    summary, link, action = hint(client, q="refund", assigned="mine")

    assert summary == "2 more outside these filters"
    assert action == "Search everything"
    assert link.replace("&amp;", "&") == "/?assigned=all&state=all&q=refund"


def test_it_counts_only_conversations_of_numbers_the_person_may_see(client, staff_user):
    deliver("refund please", sender="966500000001", name="Seen")
    close(deliver("refund closed", sender="966500000002", name="Seen closed"))
    close(deliver("refund elsewhere", sender="966500000003", name="Hidden", **SECOND_NUMBER))
    profile, _ = StaffProfile.objects.get_or_create(user=staff_user)
    profile.numbers.add(BusinessNumber.objects.get(phone_number_id=p.PHONE_NUMBER_ID))
    client.force_login(staff_user)

    summary, _link, _action = hint(client, q="refund")

    assert summary == "1 more in closed conversations"


def test_it_stops_counting_past_the_limit(staff_client, monkeypatch):
    monkeypatch.setattr(search, "HIDDEN_LIMIT", 2)
    for n in range(4):
        close(deliver(f"refund {n}", sender=f"96650000001{n}", name=f"Closed {n}"))

    summary, _link, _action = hint(staff_client, q="refund")

    assert summary == "2+ more in closed conversations"


def test_it_shows_the_hint_above_a_list_with_no_match(staff_client):
    close(deliver("refund please", sender="966500000001", name="Closed"))

    html = staff_client.get("/", {"q": "refund"}).content.decode()

    assert "No conversations match your search." in html
    assert "1 more in closed conversations" in html


def test_it_leaves_the_hint_out_of_later_pages_of_the_list(staff_client):
    close(deliver("refund please", sender="966500000001", name="Closed"))
    deliver("refund open", sender="966500000002", name="Open")

    html = staff_client.get(
        "/", {"q": "refund", "after": "9999999999.000000_1"}, headers={"HX-Request": "true"}
    ).content.decode()

    assert "search-hidden" not in html


def test_it_adds_one_query_to_a_searched_list_whatever_it_hides(
    staff_client, django_assert_max_num_queries
):
    deliver("refund please", sender="966500000001", name="Open")
    staff_client.get("/", {"q": "refund"})
    with django_assert_max_num_queries(100) as plain:
        staff_client.get("/", {"q": "refund", "state": "all"})
    for n in range(5):
        close(deliver(f"refund {n}", sender=f"96650000001{n}", name=f"Closed {n}"))

    with django_assert_max_num_queries(len(plain) + 1):
        staff_client.get("/", {"q": "refund"})


def test_it_marks_the_newest_message_a_search_found_for_the_page_to_open_at(staff_client):
    conversation = deliver("Where is my refund?", sender="966500000001", name="Amina")
    older = conversation.messages.get()
    deliver("Thanks", sender="966500000001", name="Amina")
    url = reverse("inbox:conversation", args=[conversation.pk])

    html = staff_client.get(url, {"q": "REFUND"}).content.decode()

    assert f'id="search-match" hidden data-message="m-{older.pk}" data-term="REFUND"' in html
    assert 'id="search-match"' not in staff_client.get(url).content.decode()
    assert 'id="search-match"' not in staff_client.get(url, {"q": "Amina"}).content.decode()


def test_it_says_so_in_arabic_too(staff_client):
    for n in range(3):
        close(deliver(f"refund {n}", sender=f"96650000001{n}", name=f"Closed {n}"))
    staff_client.post(reverse("inbox:language"), {"language": "ar", "next": "/"})

    summary, _link, action = hint(staff_client, q="refund")

    assert summary == "3 نتائج أخرى في المحادثات المغلقة"
    assert action == "تضمينها"
