"""Template message request bodies against Meta's own examples (send_message_requests.json)."""

import copy
import json
from pathlib import Path

import pytest

from messaging.message_templates.outbox import queue_template_message
from messaging.models import BusinessNumber, Contact, Conversation
from messaging.outbound import graph_payload
from tests.template_helpers import make_template

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
    contact = Contact.objects.create(wa_id="16315555555")
    return Conversation.objects.create(business_number=number, contact=contact)


def send(conversation, user, template, values):
    return graph_payload(queue_template_message(conversation, user, template, values))


SHIPPING = [
    {
        "type": "BODY",
        "text": "Your package has shipped. It will be delivered in {{1}} business days.",
    }
]
ISSUE_RESOLUTION = [
    {"type": "BODY", "text": "Hi {{1}}, were we able to solve the issue that you were facing?"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Yes"},
        {"type": "QUICK_REPLY", "text": "No"},
    ]},
]  # fmt: skip


@pytest.mark.parametrize(
    "name", ["Send Message Template Text", "Send Sample Shipping Confirmation Template"]
)
def test_a_template_with_body_text_matches_metas_examples(conversation, staff_user, name):
    template = make_template("sample_shipping_confirmation", SHIPPING, waba_id="")

    payload = send(conversation, staff_user, template, {"body-1": "3"})

    # The examples' first body parameter is a text one, like ours (shape() compares the
    # first item of each list).
    assert shape(ours(payload)) == shape(example(name))
    assert payload["biz_opaque_callback_data"].startswith("waq:")


def test_the_shipping_confirmation_goes_to_the_same_number_as_metas(conversation, staff_user):
    template = make_template("sample_shipping_confirmation", SHIPPING, waba_id="")

    payload = send(conversation, staff_user, template, {"body-1": "3"})

    assert payload["to"] == example("Send Sample Shipping Confirmation Template")["to"]


def test_a_template_with_quick_replies_matches_metas_issue_resolution(conversation, staff_user):
    meta = copy.deepcopy(example("Send Sample Issue Resolution Template"))
    template = make_template("sample_issue_resolution", ISSUE_RESOLUTION, waba_id="")

    payload = send(conversation, staff_user, template, {"body-1": "*Mr. Jones*"})

    # Differences allowed by Meta's reference: `recipient_type` is optional ("individual"),
    # `language.policy` is optional ("deterministic" is the only value), and quick reply
    # buttons need no parameters (their payload defaults to the button text).
    assert ours(payload).pop("recipient_type") == "individual"
    assert meta["template"]["language"].pop("policy") == "deterministic"
    trimmed = {k: v for k, v in ours(payload).items() if k != "recipient_type"}
    assert shape(trimmed) == shape(meta)
    assert payload["template"]["name"] == meta["template"]["name"]
    assert payload["template"]["language"] == meta["template"]["language"]
    assert payload["template"]["components"] == [meta["template"]["components"][0]]


def test_a_button_parameter_has_the_keys_of_metas_button_components(conversation, staff_user):
    meta_button = example("Send Sample Issue Resolution Template")["template"]["components"][1]
    template = make_template(
        "track",
        [
            {"type": "BODY", "text": "Your order has shipped."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Track", "url": "https://example.org/t/{{1}}"},
                ],
            },
        ],
        waba_id="",
    )

    payload = send(conversation, staff_user, template, {"button0-1": "4567"})

    [button] = payload["template"]["components"]
    assert set(button) == set(meta_button)
    assert type(button["index"]) is type(meta_button["index"])
    assert [set(p) for p in button["parameters"]] == [set(p) for p in meta_button["parameters"]]


def test_a_named_parameter_adds_only_its_name_to_metas_text_parameter(conversation, staff_user):
    meta_parameter = example("Send Message Template Text")["template"]["components"][0][
        "parameters"
    ][0]
    template = make_template(
        "named",
        [{"type": "BODY", "text": "Hello {{customer_name}}"}],
        parameter_format="NAMED",
        waba_id="",
    )

    payload = send(conversation, staff_user, template, {"body-customer_name": "Amina"})

    [parameter] = payload["template"]["components"][0]["parameters"]
    assert set(parameter) == set(meta_parameter) | {"parameter_name"}


def test_an_image_header_matches_metas_media_template(conversation, staff_user):
    template = make_template(
        "spring_sale",
        [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hello {{1}}, our spring sale starts today."},
        ],
        waba_id="",
    )

    payload = send(
        conversation,
        staff_user,
        template,
        {"header-media": "https://cdn.example.org/spring.jpg", "body-1": "Amina"},
    )

    # Meta's example body goes on with currency and date parameters; shape() compares the
    # first of each, a text one like ours.
    assert shape(ours(payload)) == shape(example("Send Message Template Media"))
    meta_header = example("Send Message Template Media")["template"]["components"][0]
    assert payload["template"]["components"][0].keys() == meta_header.keys()
    assert payload["template"]["components"][0]["parameters"][0].keys() == (
        meta_header["parameters"][0].keys()
    )
