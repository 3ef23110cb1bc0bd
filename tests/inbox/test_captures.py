"""Real webhook captures (../shared/whatsapp-corpus) as staff see them in the inbox: applied
through the real ingestion, then the conversation page and the search read from the
database."""

import re

import pytest
from django.urls import reverse

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Conversation

pytestmark = pytest.mark.django_db


def conversation_page(client, body):
    receive(p.encode(body))
    conversation = Conversation.objects.get()
    return client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()


def test_an_unsupported_message_shows_whatsapps_reason(staff_client, capture):
    html = conversation_page(staff_client, capture("pywa/message", "unsupported_with_type"))

    assert "Unsupported message (pool)" in html
    assert "Message type unknown" in html
    assert "131051" in html


def test_a_chosen_location_shows_its_name_address_and_link(staff_client, capture):
    html = conversation_page(staff_client, capture("pywa/message", "chosen_location"))

    assert "Facebook HQ" in html
    assert "1 Hacker Way, Menlo Park, CA 94025" in html
    assert (
        '<a href="https://maps.google.com/?cid=2000000000000000000" '
        'rel="noopener noreferrer nofollow" target="_blank">'
    ) in html


def test_a_location_with_a_javascript_url_and_html_in_its_name_shows_them_as_text(
    staff_client, capture
):
    body = capture("pywa/message", "chosen_location")
    location = body["entry"][0]["changes"][0]["value"]["messages"][0]["location"]
    location |= {"name": "<img src=x onerror=alert(1)>", "url": "javascript:alert(1)"}

    html = conversation_page(staff_client, body)

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:alert(1)</p>" in html
    assert 'href="javascript:' not in html


def listed_names(client, query):
    html = client.get("/", {"q": query}).content.decode()
    return set(re.findall(r'class="row-name"><bdi>([^<]+)</bdi>', html))


@pytest.mark.parametrize(
    ("case", "query"),
    [("document", "filename.pdf"), ("document", "caption"), ("contacts", "Rachel Green")],
)
def test_a_shared_document_or_contact_card_is_found_by_what_it_shows(
    staff_client, capture, case, query
):
    receive(p.encode(capture("pywa/message", case)))

    assert listed_names(staff_client, query) == {"Test Name"}
