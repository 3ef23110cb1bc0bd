"""Request bodies we build, against Meta's own examples (send_message_requests.json)."""

import json
from pathlib import Path

import pytest

from messaging.models import BusinessNumber, Contact, Conversation, Message
from messaging.outbound import graph_payload, read_receipt_payload

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-corpus"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/whatsapp-corpus is not present"),
]


def example(name):
    return json.loads((CORPUS / "meta-openapi" / "send_message_requests.json").read_text())[name]


def shape(value):
    """The structure of a JSON value: keys and types, not the example's placeholder values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def ours(payload):
    """Our bodies also carry biz_opaque_callback_data (an optional documented field that
    Meta echoes in status webhooks); the examples do not."""
    return {key: value for key, value in payload.items() if key != "biz_opaque_callback_data"}


@pytest.fixture
def conversation():
    number = BusinessNumber.objects.create(phone_number_id="106540352242922")
    contact = Contact.objects.create(wa_id="16505551234")
    return Conversation.objects.create(business_number=number, contact=contact)


def outbound(conversation, **fields):
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        status="pending",
        timestamp="2026-11-26T10:00:00Z",
        **fields,
    )


def test_a_text_reply_matches_metas_send_text_message(conversation):
    payload = graph_payload(outbound(conversation, type="text", text="Hello"))

    assert shape(ours(payload)) == shape(example("Send Text Message"))
    assert payload["biz_opaque_callback_data"].startswith("waq:")


def test_a_reply_to_a_message_matches_metas_reply_to_text_message(conversation):
    message = outbound(conversation, type="text", text="Yes", reply_to_wamid="wamid.Q")

    assert shape(ours(graph_payload(message))) == shape(example("Send Reply to Text Message"))


def test_a_reaction_matches_metas_reply_with_reaction_message(conversation):
    message = outbound(conversation, type="reaction", data={"emoji": "👍"}, target_wamid="wamid.T")

    payload = graph_payload(message)

    assert shape(ours(payload)) == shape(example("Send Reply with Reaction Message"))
    assert payload["reaction"] == {"message_id": "wamid.T", "emoji": "👍"}


def test_a_read_receipt_matches_the_read_part_of_metas_example():
    meta = example("Send typing indicator and read receipt")
    meta.pop("typing_indicator", None)  # we send the receipt alone

    assert shape(read_receipt_payload("wamid.X")) == shape(meta)
