"""Fuzzing the webhook with validly signed bodies: random JSON, raw bytes, and realistic bodies
(from messaging.payloads) mutated — keys deleted, values swapped for other types, deep
nesting, 100 KB strings, unusual Unicode (surrogates included), numbers where strings belong.

Whatever arrives: never a 5xx; each distinct body is stored exactly once (a repeat is found by
its hash); applying it (`apply_webhook_event`, whether the endpoint or a task does it) always
finishes, never leaving an event "received"; and nothing is half-written: the messages and
statuses a delivery adds are exactly those of the items the parser found in it, less the items
its event records as failed (none at all when applying stopped as a whole). A failed item
leaves no row; no row appears that no item accounts for.
Deterministic (derandomize) and bounded (max_examples), so CI is repeatable and quick.
"""

import hashlib
import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import payloads as p
from messaging.db import db_safe
from messaging.events import InboundMessage, StatusUpdate
from messaging.ingest.apply import apply_webhook_event
from messaging.models import Message, StatusEvent, WebhookEvent
from messaging.parser import parse_webhook
from messaging.signature import sign

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

NUMBER = "16505551234"
BSUID = "US.13491208655302741918"
TIME = 1_764_000_000  # fixed, so the corpus is the same on every run


def wamid(n):
    return f"wamid.FUZZ{n:04d}=="


def corpus():
    """Realistic bodies, one of each kind the parser reads (deterministic ids and times)."""
    sender = {"timestamp": TIME}
    amina = p.contact(wa_id=NUMBER, name="Amina", user_id=BSUID, username="amina")
    return [
        p.envelope(
            p.value(contacts=[amina], messages=[p.text_message("مرحبا", wamid=wamid(1), **sender)])
        ),
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=NUMBER, name="Amina")],
                messages=[
                    p.media_message(
                        kind, f"10{n}", caption="c", filename="f.pdf", wamid=wamid(10 + n), **sender
                    )
                    for n, kind in enumerate(["image", "audio", "video", "document", "sticker"])
                ],
            )
        ),
        p.envelope(
            p.value(
                contacts=[amina],
                messages=[
                    p.location_message(24.7, 46.6, name="Riyadh", wamid=wamid(20), **sender),
                    p.reaction_message(wamid(1), "👍", wamid=wamid(21), **sender),
                    p.interactive_reply("b1", "Yes", wamid=wamid(22), reply_to=wamid(1), **sender),
                    p.text_message("fwd", wamid=wamid(23), forwarded=True, **sender),
                ],
            )
        ),
        p.envelope(
            p.value(
                messages=[
                    p.system_number_change(
                        NUMBER, "16505559999", new_user_id="US.999", wamid=wamid(30), **sender
                    )
                ]
            )
        ),
        p.envelope(
            p.value(
                contacts=[p.contact(user_id=BSUID, username="amina")],
                messages=[p.text_message("hi", sender=None, sender_user_id=BSUID, wamid=wamid(40))],
            )
        ),
        p.envelope(
            p.value(
                statuses=[
                    p.status(wamid(50), "sent", timestamp=TIME),
                    p.status(wamid(50), "read", timestamp=TIME + 5, recipient_user_id=BSUID),
                    p.status(
                        wamid(51),
                        "failed",
                        timestamp=TIME,
                        errors=[p.error(131047, "Re-engagement message", details="window")],
                    ),
                ]
            )
        ),
        p.envelope(p.value(errors=[p.error(131000, "Something went wrong")])),
        p.envelope(
            p.change(
                {
                    "event": "APPROVED",
                    "message_template_id": 123,
                    "message_template_name": "order_update",
                    "message_template_language": "en_US",
                    "reason": None,
                },
                field="message_template_status_update",
            ),
            p.change({"phone_number": NUMBER, "event": "FLAGGED"}, field="account_update"),
        ),
        p.envelope(
            p.change(
                {
                    "messaging_product": "whatsapp",
                    "metadata": {"phone_number_id": p.PHONE_NUMBER_ID},
                    "user_id_update": [
                        {"wa_id": NUMBER, "user_id": {"previous": BSUID, "current": "US.42"}}
                    ],
                },
                field="user_id_update",
            )
        ),
    ]


CORPUS = corpus()

# Leaves of any JSON type; strings with unusual Unicode: NUL, lone surrogates (halves of an
# emoji), right-to-left override, BOM, non-characters, line separators, combining marks.
SPECIAL_CHARACTERS = [
    "\x00", "\ud800", "\udfff", "\ud83d", "\u202e", "\ufeff", "\uffff", "\U0010ffff",
    "\u2028", "\u0085", "\u0651", "😀", "ع",
]  # fmt: skip
unusual_text = st.lists(
    st.sampled_from(SPECIAL_CHARACTERS)
    | st.characters(categories=["Cs", "Cc", "Cf", "Mn", "Lo", "So", "Zs", "Nd"]),
    max_size=12,
).map("".join)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | unusual_text
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | unusual_text, children, max_size=4)
    ),
    max_leaves=20,
)
HUGE_STRINGS = ["A" * 100_000, "مرحبا " * 17_000, "😀" * 25_000]


def nested(depth, innermost):
    value = innermost
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def paths(value):
    """Every location in a JSON value, as a tuple of keys and indices (no recursion: bodies
    nest hundreds deep)."""
    found, stack = [], [((), value)]
    while stack:
        prefix, current = stack.pop()
        found.append(prefix)
        if isinstance(current, dict):
            stack += [((*prefix, key), child) for key, child in current.items()]
        elif isinstance(current, list):
            stack += [((*prefix, index), child) for index, child in enumerate(current)]
    return found


def sprinkle(value, suffix, spare=frozenset({"object"})):
    """`suffix` appended to every string value of every object (except under `spare` keys:
    by default the body stays recognisably a WhatsApp webhook)."""

    def hook(pairs):
        return {
            key: v + suffix if isinstance(v, str) and key not in spare else v for key, v in pairs
        }

    return json.loads(json.dumps(value), object_pairs_hook=hook)


def replace_at(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replace_at(value[head], rest, new)
    return copy


def delete_at(value, path):
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]


@st.composite
def mutated_bodies(draw):
    body = json.loads(json.dumps(draw(st.sampled_from(CORPUS))))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(paths(body)))
        old = body
        for step in where:
            old = old[step]
        operation = draw(
            st.sampled_from(
                ["delete", "other type", "number", "huge", "unicode", "nest", "null", "sprinkle"]
            )
        )
        if operation == "sprinkle":
            body = sprinkle(body, draw(unusual_text.filter(bool)))
            continue
        if operation == "delete" and where:
            delete_at(body, where)
            continue
        if operation == "other type":
            new = draw(json_values.filter(lambda v, old=old: type(v) is not type(old)))
        elif operation == "number":
            new = draw(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
        elif operation == "huge":
            new = draw(st.sampled_from(HUGE_STRINGS))
        elif operation == "unicode":
            new = draw(unusual_text)
        elif operation == "nest":
            new = nested(500, old)
        else:
            new = None
        body = replace_at(body, where, new)
    return body


def wrapped(value):
    """A random value where the parser looks deepest: in the right envelope."""
    return st.sampled_from(
        [
            value,
            {"object": "whatsapp_business_account", "entry": value},
            p.envelope(p.change(value)),
            p.envelope(p.value(messages=value)),
            p.envelope(p.value(contacts=value, statuses=value)),
            p.envelope(
                p.value(
                    messages=[
                        {**p.text_message("x", wamid=wamid(99), timestamp=TIME), "text": value}
                    ]
                )
            ),
        ]
    )


def written_rows():
    """The rows a webhook can add, by their natural keys."""
    return {
        "messages": set(Message.objects.values_list("wamid", flat=True)),
        "statuses": set(StatusEvent.objects.values_list("wamid", "status", "timestamp")),
    }


def rows_of_items(raw, event):
    """What applying `raw` item by item adds at most: the rows of the items that did not fail
    (as the event records them), keyed as written_rows() keys them."""
    failed = [line.rpartition(": ")[0] for line in event.error.splitlines()]
    if any(not path.startswith("entry[") for path in failed):
        # Not JSON, or applying stopped as a whole: all of it rolled back.
        return {"messages": set(), "statuses": set()}
    items = [item for item in parse_webhook(json.loads(raw)) if item.path not in failed]
    return {
        "messages": {db_safe(i.wamid) for i in items if isinstance(i, InboundMessage)},
        "statuses": {
            (db_safe(i.wamid), db_safe(i.status[:20]), i.timestamp)
            for i in items
            if isinstance(i, StatusUpdate)
        },
    }


@pytest.fixture
def deliver(post_webhook):
    """POST a signed body; check the promises that hold after every single delivery."""
    seen = set()

    def deliver_body(raw):
        before = written_rows()
        # Each delivery in a savepoint: a database error in one example (a bug) is rolled back
        # instead of breaking the test's transaction for every later example and the shrinker.
        with transaction.atomic():
            response = post_webhook(None, body=raw)
        assert response.status_code == 200, (response.status_code, raw[:200])
        digest = hashlib.sha256(raw).hexdigest()
        seen.add(digest)
        stored = WebhookEvent.objects.filter(body_sha256=digest)
        assert stored.count() == 1
        event = stored.get()
        assert bytes(event.body) == raw
        assert WebhookEvent.objects.count() == len(seen)
        if event.state == WebhookEvent.State.RECEIVED:  # stored now, applied by a task
            with transaction.atomic():
                event = apply_webhook_event(event)
        assert event.state in {WebhookEvent.State.PROCESSED, WebhookEvent.State.FAILED}
        assert (event.state == WebhookEvent.State.FAILED) == bool(event.error)
        after, expected = written_rows(), rows_of_items(raw, event)
        for kind, rows in after.items():
            added = rows - before[kind]
            assert added == expected[kind] - before[kind], (kind, event.error)
        return event

    return deliver_body


def deliver_json(deliver, payload, *, escaped=True):
    if escaped:  # as Meta sends it: ASCII only, surrogates as \\uXXXX escapes
        raw = p.encode(payload)
    else:  # plain UTF-8 (only possible without lone surrogates)
        raw = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return deliver(raw)


def test_the_corpus_itself_applies_cleanly(deliver):
    for body in CORPUS:
        event = deliver_json(deliver, body)
        assert event.state == WebhookEvent.State.PROCESSED, event.error

    assert Message.objects.count() >= 10
    assert StatusEvent.objects.count() == 3


@FUZZ
@given(body=mutated_bodies(), escaped=st.booleans())
def test_mutated_real_bodies(deliver, body, escaped):
    deliver_json(deliver, body, escaped=escaped)


@settings(FUZZ, max_examples=60)
@given(
    body=st.sampled_from(CORPUS),
    suffix=unusual_text.filter(bool),
    spare=st.sets(st.sampled_from(["type", "field", "status", "id"])),
)
def test_unusual_unicode_in_every_string_of_real_bodies(deliver, body, suffix, spare):
    deliver_json(deliver, sprinkle(body, suffix, spare={"object", *spare}))


@FUZZ
@given(value=json_values.flatmap(wrapped))
def test_random_json_in_and_around_the_envelope(deliver, value):
    deliver_json(deliver, value)


@settings(FUZZ, max_examples=50)
@given(raw=st.binary(max_size=300))
def test_random_bytes(deliver, raw):
    event = deliver(raw)
    try:
        json.loads(raw)
    except ValueError:
        assert event.state == WebhookEvent.State.FAILED
        assert "not JSON" in event.error


@settings(FUZZ, max_examples=40)
@given(
    raw=st.binary(max_size=300) | mutated_bodies().map(p.encode),
    forgery=st.sampled_from(["wrong secret", "another body", "no signature", "garbage"]),
)
def test_a_body_without_a_valid_signature_is_refused_and_leaves_nothing(
    post_webhook, settings, raw, forgery
):
    secret = settings.WHATSAPP_APP_SECRETS[0]
    signature = {
        "wrong secret": sign(raw, "not-the-app-secret"),
        "another body": sign(raw + b" ", secret),
        "no signature": "",
        "garbage": "sha256=" + "0" * 64,
    }[forgery]
    before = written_rows()

    response = post_webhook(None, body=raw, **{"X-Hub-Signature-256": signature})

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert written_rows() == before


def test_the_same_body_twice_is_stored_once(deliver):
    raw = p.encode(CORPUS[0])

    first, second = deliver(raw), deliver(raw)

    assert first.pk == second.pk
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(nested(500, CORPUS[0]), id="a whole body 500 levels down"),
        pytest.param(
            p.envelope(
                p.value(
                    messages=[
                        {
                            **p.text_message("x", wamid=wamid(99), timestamp=TIME),
                            "referral": nested(500, 1),
                        }
                    ]
                )
            ),
            id="500 levels inside a message",
        ),
        pytest.param(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=NUMBER, name="😀" * 25_000)],
                    messages=[p.text_message("A" * 100_000, wamid=wamid(98), timestamp=TIME)],
                )
            ),
            id="100 KB strings",
        ),
        pytest.param(
            p.envelope(
                p.value(
                    contacts=[{"wa_id": 16505551234, "profile": {"name": 7}}],
                    messages=[
                        {"from": 16505551234, "id": 12345, "timestamp": TIME, "type": "text"}
                    ],
                    statuses=[{"id": 999, "status": 1, "timestamp": 1.5, "recipient_id": 1}],
                )
            ),
            id="numbers where strings belong",
        ),
        pytest.param(
            p.envelope(
                p.value(
                    messages=[
                        p.text_message("\ud83d \udca9 \ud800", wamid=wamid(97), timestamp=TIME)
                    ]
                )
            ),
            id="lone surrogates in a message",
        ),
    ],
)
def test_hand_picked_extremes(deliver, body):
    deliver_json(deliver, body)


def test_nesting_deeper_than_the_recursion_limit_is_stored_and_marked_failed(deliver):
    depth = 100_000
    event = deliver(
        b'{"object":"whatsapp_business_account","entry":' + b"[" * depth + b"]" * depth + b"}"
    )

    assert event.state == WebhookEvent.State.FAILED


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(p.envelope(p.change({"x": 1}, field="bad\x00field")), id="NUL in field"),
        pytest.param(p.envelope(p.change({"x": 1}, field="\ud800")), id="surrogate in field"),
        pytest.param(p.envelope(p.value(errors=[p.error(1, "a\x00b")])), id="NUL in error title"),
    ],
)
def test_nul_and_lone_surrogates_are_stored_cleaned_on_every_database(post_webhook, body):
    response = post_webhook(body)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
