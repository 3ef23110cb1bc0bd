"""List rows and quotes: who wrote the last message (staff or an automatic reply), and
WhatsApp's formatting read as text rather than shown as raw markers."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from automation.engine import AUTOMATIC_REPLY
from messaging.models import Conversation, Message

pytestmark = pytest.mark.django_db


def send(conversation, text, *, data=None, reply_to_wamid="", wamid=None):
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        type="text",
        text=text,
        data=data or {},
        wamid=wamid,
        reply_to_wamid=reply_to_wamid,
        timestamp=timezone.now(),
        status=Message.Status.SENT,
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message=message, last_message_at=message.timestamp
    )
    return message


def row_preview(client, conversation):
    html = client.get(reverse("inbox:index")).content.decode()
    row = re.search(rf'<li id="row-{conversation.pk}".*?</li>', html, re.DOTALL).group(0)
    return re.search(r'<span class="row-preview">(.*?)</span>\s*</span>', row, re.DOTALL)[1]


def test_it_labels_an_automatic_reply_in_the_list_as_automatic(staff_client, conversation):
    send(conversation, "We are closed now", data={AUTOMATIC_REPLY: "away"})

    preview = row_preview(staff_client, conversation)

    assert '<span class="you">Automatic reply:</span>' in preview
    assert "You:" not in preview


def test_it_labels_a_reply_by_staff_in_the_list_as_yours(staff_client, conversation):
    send(conversation, "On its way")

    assert '<span class="you">You:</span>' in row_preview(staff_client, conversation)


def test_it_labels_nothing_when_the_customer_wrote_last(staff_client, conversation):
    assert 'class="you"' not in row_preview(staff_client, conversation)


def test_it_shows_the_last_message_without_formatting_markers_in_the_list(
    staff_client, conversation
):
    send(conversation, "*Order 42* is _on its way_")

    assert "<bdi>Order 42 is on its way</bdi>" in row_preview(staff_client, conversation)


def test_it_shows_a_quoted_message_without_formatting_markers(staff_client, conversation):
    conversation.messages.filter(wamid="wamid.IN").update(text="Is *order 42* ~lost~?")
    send(conversation, "No, it is not", reply_to_wamid="wamid.IN", wamid="wamid.OUT")

    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    quote = re.search(r'<a class="msg-quote"[^>]*>([^<]*)</a>', html.decode())[1]

    assert quote == "Is order 42 lost?"
