"""parse_webhook against real payloads written by others (pywa's captured updates and the
examples of Meta's OpenAPI spec), read from ../shared/whatsapp-corpus/ when it is there."""

import copy
import json
from datetime import UTC, datetime

import pytest

from messaging.events import (
    AccountUpdate,
    ContactChange,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.parser import ACCOUNT_FIELDS, TEMPLATE_FIELDS, parse_webhook
from tests.webhook_support import corpus_dir

CORPUS = corpus_dir()

if not CORPUS.is_dir():
    pytest.skip(
        f"WhatsApp payload corpus not found at {CORPUS} (it lives beside the repository, "
        "not in it)",
        allow_module_level=True,
    )


def is_body(candidate) -> bool:
    return isinstance(candidate, dict) and "entry" in candidate and "object" in candidate


def bodies(name, body):
    """A case, plus any full body nested inside it (pywa's components update nests one)."""
    yield name, body
    for key, nested in body.items():
        if is_body(nested):
            yield from bodies(f"{name}/{key}", nested)


def load_cases():
    cases = []
    for path in sorted((CORPUS / "pywa").glob("*.json")):
        for name, body in json.loads(path.read_text()).items():
            cases += [(f"pywa/{path.stem}:{n}", b) for n, b in bodies(name, body)]
    webhooks = json.loads((CORPUS / "meta-openapi" / "webhooks.json").read_text())
    cases += [(f"meta-openapi:{name}", body) for name, body in webhooks.items()]
    return cases


CASES = load_cases()


def by_name(*names):
    return [pytest.param(body, id=name) for name, body in CASES if name in names]


def changes(body):
    """(path, field, value) of every change in a body."""
    for i, entry in enumerate(body["entry"]):
        for j, change in enumerate(entry["changes"]):
            yield f"entry[{i}].changes[{j}]", change["field"], change["value"]


def items(body, key):
    """(path, item) of every `key` item (messages, statuses) of every change, whatever its
    field."""
    for path, _field, value in changes(body):
        for k, item in enumerate(value.get(key, [])):
            yield f"{path}.value.{key}[{k}]", item


def events_at(events, path):
    return [e for e in events if e.path == path]


def test_it_finds_every_case_of_the_corpus():
    # 74 pywa cases (one of which nests a second body) and 16 OpenAPI examples.
    assert len(CASES) == 91


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_it_parses_every_case_cleanly(name, body):
    events = parse_webhook(body)

    assert events, "no events"
    assert not [e for e in events if isinstance(e, WebhookError) and e.malformed]


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_it_represents_every_message_and_status_of_every_case(name, body):
    events = parse_webhook(body)
    paths = [e.path for e in events]

    for key in ("messages", "statuses"):
        for path, _item in items(body, key):
            # The item itself, or the whole change when its field is one we ignore.
            assert any(path == p or path.startswith(p + ".") for p in paths), path


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_it_gives_each_change_the_events_its_field_calls_for(name, body):
    events = parse_webhook(body)

    for path, field, value in changes(body):
        if field == "messages":
            for k, message in enumerate(value.get("messages", [])):
                at = events_at(events, f"{path}.value.messages[{k}]")
                assert (type(at[0]), at[0].wamid, at[0].type) == (
                    InboundMessage,
                    message["id"],
                    message["type"],
                )
            for k, status in enumerate(value.get("statuses", [])):
                if status.get("recipient_type") != "group":
                    (update,) = events_at(events, f"{path}.value.statuses[{k}]")
                    assert (update.wamid, update.status) == (status["id"], status["status"])
        elif field in TEMPLATE_FIELDS:
            (update,) = events_at(events, path)
            assert isinstance(update, TemplateUpdate)
            assert (update.field, update.template_id) == (field, str(value["message_template_id"]))
        elif field in ACCOUNT_FIELDS:
            (update,) = events_at(events, path)
            assert isinstance(update, AccountUpdate)
            assert (update.field, update.event) == (field, value["event"])
        else:
            assert events_at(events, path) == [IgnoredField(field=field, path=path)]


def case(name):
    return next(body for n, body in CASES if n == name)


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("pywa/account_update:account_disabled", "DISABLED_UPDATE"),
        ("pywa/account_update:account_restriction", "ACCOUNT_RESTRICTION"),
        ("pywa/account_update:account_violation", "ACCOUNT_VIOLATION"),
        ("pywa/account_update:partner_removed", "PARTNER_REMOVED"),
    ],
)
def test_it_reads_captured_account_updates_with_metas_time_and_whole_value(name, event):
    body = case(name)
    entry = body["entry"][0]

    (update,) = parse_webhook(body)

    assert (update.field, update.event, update.timestamp) == (
        "account_update",
        event,
        datetime.fromtimestamp(entry["time"], tz=UTC),
    )
    assert update.data == entry["changes"][0]["value"]


@pytest.mark.parametrize(("name", "body"), CASES, ids=[name for name, _ in CASES])
def test_it_survives_any_node_of_every_case_being_replaced_by_an_odd_value(name, body):
    """Replace each node of the body in turn by values of the wrong type: never an exception,
    and the output is always a list of events."""
    odd_values = [None, "x", 7, [], {}, [None]]
    for node_path in node_paths(body):
        for odd in odd_values:
            mutated = replaced(body, node_path, odd)
            events = parse_webhook(mutated)
            assert all(hasattr(e, "path") for e in events)


def node_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict | list):
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            yield from node_paths(child, (*prefix, key))


def replaced(body, node_path, new):
    if not node_path:
        return new
    result = copy.deepcopy(body)
    parent = result
    for key in node_path[:-1]:
        parent = parent[key]
    parent[node_path[-1]] = new
    return result


# A few specifics per family.


@pytest.mark.parametrize("body", by_name("pywa/message_status:failed"))
def test_it_keeps_the_error_of_a_failed_status(body):
    (update,) = parse_webhook(body)

    assert isinstance(update, StatusUpdate)
    assert update.errors[0]["code"] == 130472
    assert update.errors[0]["details"].startswith("Failed to send message")


@pytest.mark.parametrize("body", by_name("pywa/message_status:sent"))
def test_it_keeps_conversation_and_pricing_of_a_status(body):
    (update,) = parse_webhook(body)

    assert update.conversation["id"] == "7270432eae37498234f4444b35ffc5"
    assert update.pricing == {"billable": True, "pricing_model": "CBP", "category": "service"}
    assert update.recipient.user_id == "US.13491208655302741918"


@pytest.mark.parametrize("body", by_name("pywa/message_status:group"))
def test_it_ignores_the_status_of_a_group_message(body):
    assert parse_webhook(body) == [
        IgnoredField(field="groups", path="entry[0].changes[0].value.statuses[0]")
    ]


@pytest.mark.parametrize(
    "body", by_name("pywa/message:unreaction_empty", "pywa/message:unreaction_no_emoji")
)
def test_it_reads_both_unreaction_forms_alike(body):
    (event,) = parse_webhook(body)

    assert (event.target_wamid, event.data) == ("wamid.yzxyzx=", {"emoji": ""})


@pytest.mark.parametrize("body", by_name("pywa/flow_completion:completion"))
def test_it_parses_a_flow_completion_response(body):
    (event,) = parse_webhook(body)

    assert event.data["response_json"]["delivery_rating"] == "4"


@pytest.mark.parametrize("body", by_name("pywa/message:interactive_message_with_err"))
def test_it_keeps_a_message_and_the_value_error_beside_it(body):
    message, error = parse_webhook(body)

    assert message.type == "interactive"
    assert (error.code, error.details, error.malformed) == (
        131000,
        "Unsupported webhook payload",
        False,
    )


@pytest.mark.parametrize(
    "body", by_name("pywa/system:phone_number_change", "meta-openapi:System Message")
)
def test_it_follows_a_number_change_with_a_contact_change(body):
    message, change = parse_webhook(body)

    assert isinstance(change, ContactChange)
    assert change.kind == "number_changed"
    assert change.contact.wa_id == message.contact.wa_id
    assert change.new_wa_id == message.data["new_wa_id"] != ""


@pytest.mark.parametrize("body", by_name("pywa/edited_message:image"))
def test_it_reads_an_edited_image_caption(body):
    (event,) = parse_webhook(body)

    assert event.target_wamid.startswith("wamid.HBgLMTQxMjU1NTA4MjkV")
    assert event.text == "Updated image caption"
    assert event.data["message"]["type"] == "image"


@pytest.mark.parametrize("body", by_name("pywa/callback_button:quick_reply_without_context"))
def test_it_pairs_the_phone_and_bsuid_of_a_sender(body):
    (event,) = parse_webhook(body)

    assert (event.contact.wa_id, event.contact.user_id) == (
        "972987654321",
        "US.13491208655302741918",
    )
    assert event.contact.parent_user_id == "US.ENT.11815799212886844830"
    assert event.contact.profile_name == "Test Name"
