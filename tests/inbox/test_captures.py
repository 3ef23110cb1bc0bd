"""Real webhook captures (../shared/whatsapp-corpus) as staff see them in the inbox: applied
through the real ingestion, then the conversation page and the search read from the
database."""

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
