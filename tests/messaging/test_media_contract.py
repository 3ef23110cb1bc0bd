"""Our request bodies for media sent by id, against the examples in Meta's OpenAPI spec
("Send Image Message by ID", …), read from ../shared/whatsapp-corpus/ when it is there."""

import copy
import json
from pathlib import Path

import pytest
from django.utils import timezone

from messaging.models import BusinessNumber, Contact, Conversation, Message
from messaging.outbound import graph_payload

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-corpus"
EXAMPLES = CORPUS / "meta-openapi" / "send_message_requests.json"

if not EXAMPLES.is_file():
    pytest.skip(
        f"Meta's request examples not found at {EXAMPLES} (the corpus lives beside the "
        "repository, not in it)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.django_db

REQUIRED = [
    "Send Image Message by ID",
    "Send Document Message by ID",
    "Send Audio Message by ID",
    "Send Video Message by ID",
    "Send Reply to Image Message by ID",
]
MEDIA_TYPES = {"image", "document", "audio", "video", "sticker"}


def by_id_examples():
    examples = json.loads(EXAMPLES.read_text())
    names = sorted(
        name
        for name, example in examples.items()
        if name.endswith("Message by ID") and example.get("type") in MEDIA_TYPES
    )
    return {name: examples[name] for name in names}


def test_the_corpus_has_the_examples_we_compare_with():
    assert set(REQUIRED) <= set(by_id_examples())


@pytest.mark.parametrize(("name", "example"), list(by_id_examples().items()))
def test_our_body_for_media_by_id_is_metas_example(name, example):
    """A message row holding what the example sends, turned into a request body, is the
    example itself (plus our callback data, which Meta echoes in status webhooks)."""
    kind = example["type"]
    media = example[kind]
    contact = Contact.objects.create(wa_id=example["to"])
    number = BusinessNumber.objects.create(phone_number_id="106540352242922")
    conversation = Conversation.objects.create(business_number=number, contact=contact)
    message = Message.objects.create(
        conversation=conversation,
        direction="out",
        type=kind,
        text=media.get("caption", ""),
        data={
            "media_id": media["id"],
            "filename": media.get("filename", f"{kind}.bin"),
            "mime_type": "application/octet-stream",
        },
        reply_to_wamid=example.get("context", {}).get("message_id", ""),
        timestamp=timezone.now(),
        status="pending",
    )

    body = graph_payload(message)

    assert body.pop("biz_opaque_callback_data")
    assert body == copy.deepcopy(example), name
