"""Recognising a person in webhook bodies and tombstones, without keeping who they were.

Shared by erasure (privacy.erasure), access exports (privacy.export), other people's
mentions of a person (privacy.mentions) and the redelivery guard (privacy.redelivery), so it
imports nothing but models and pure helpers.

- `id_hash()`: the keyed hash (HMAC-SHA256 with settings.ERASURE_HASH_KEY) a tombstone keeps
  of a phone number (digits only) or business-scoped user id (BSUID).
- `Person`: the ids (and message ids) that identify one person's items in a raw body.
- `scrub_payload()` / `scrub_body()`: a decoded / raw body without that person's items,
  or None when nothing else is left; with keep_person=True, the inverse, for exports.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from messaging.parser import is_bsuid
from messaging.payloads import encode

# Characters a person may type in a phone number ("+966 50-123 4567", "(650) 555-1234").
_PHONE_CHARS = re.compile(r"^[+\d\s().-]+$")
_NON_DIGITS = re.compile(r"\D")
# Where a message or status names its sender or recipient.
IDENTITY_KEYS = (
    "from", "from_user_id", "from_parent_user_id",
    "recipient_id", "recipient_user_id", "recipient_parent_user_id",
)  # fmt: skip


def normalise_id(value: object) -> str:
    """A phone number as digits only ("+966 50 123" → "96650123"); a BSUID as it is."""
    value = str(value or "").strip()
    if not value or is_bsuid(value):
        return value
    if _PHONE_CHARS.match(value):
        return _NON_DIGITS.sub("", value)
    return value


def id_hash(value: object) -> str:
    """The keyed hash a tombstone keeps of one id (phone or BSUID); "" for no id."""
    normalised = normalise_id(value)
    if not normalised:
        return ""
    key = settings.ERASURE_HASH_KEY.encode()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def id_like_strings(node: Any) -> set[str]:
    """Every value inside `node` that could be a phone number or a BSUID, normalised."""
    found, stack = set(), [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str | int) and not isinstance(node, bool):
            text = str(node).strip()
            if is_bsuid(text) or (_PHONE_CHARS.match(text) and any(c.isdigit() for c in text)):
                found.add(normalise_id(text))
    return found - {""}


# One person's items in a raw body.


@dataclass
class Person:
    """What identifies one person's items in a webhook body: their ids (phone numbers,
    BSUIDs, parent BSUIDs, compared after normalisation) and the ids of their messages
    (wamids; a status carries the wamid of the message it is about)."""

    ids: set[str] = field(default_factory=set)
    wamids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.ids = {normalise_id(value) for value in self.ids} - {""}
        self.wamids = set(self.wamids) - {""}

    def __bool__(self) -> bool:
        return bool(self.ids or self.wamids)

    def expanded_by(self, payload: Any) -> "Person":
        """This person with the ids their own messages and statuses in `payload` carry
        (found by wamid): a body from before a number change names their old number."""
        extra = set()
        if self.wamids:
            for item in _items(payload):
                if isinstance(item, dict) and item.get("id") in self.wamids:
                    extra |= {str(item[key]) for key in IDENTITY_KEYS if item.get(key)}
        extra = {normalise_id(value) for value in extra} - self.ids - {""}
        return Person(ids=self.ids | extra, wamids=self.wamids) if extra else self

    def is_named_by(self, text: str) -> bool:
        if text in self.ids or text in self.wamids:
            return True
        # A phone number written for people, e.g. in a shared contact card.
        return (
            any(char.isdigit() for char in text)
            and bool(_PHONE_CHARS.match(text))
            and _NON_DIGITS.sub("", text) in self.ids
        )

    def is_mentioned_in(self, node: Any) -> bool:
        """Whether any string (key or value) anywhere inside `node` names this person."""
        stack = [node]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                if self.is_named_by(node):
                    return True
            elif isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, int) and not isinstance(node, bool) and str(node) in self.ids:
                return True  # an id Meta sent as a number
        return False


def _items(payload: Any) -> Iterator[Any]:
    """Every element of every list in every change value of a webhook body."""
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            for part in value.values() if isinstance(value, dict) else []:
                if isinstance(part, list):
                    yield from part


def scrub_payload(payload: Any, person: Person, *, keep_person: bool = False) -> Any:
    """A decoded webhook body without `person`'s items — or, with keep_person=True, with
    only their items (an access export must not disclose other people).

    Items are the elements of each change value's lists: contacts[] entries, messages[],
    statuses[], errors[], user_id_update[] and any list Meta adds later. An item is the
    person's when it mentions one of their ids or message ids anywhere inside it (their
    contacts[] entry, messages from them, statuses to them, system messages about them).
    A change whose items are all gone is dropped, as is a change whose value still names
    the person outside any list (e.g. a flat user_id_update); an entry without changes is
    dropped. Returns the new payload, the same object when nothing changed, or None when
    nothing is left (or the body is not shaped like a webhook and mentions the person).
    """
    person = person.expanded_by(payload)
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        mentioned = person.is_mentioned_in(payload)
        if keep_person:
            return payload if mentioned else None
        return None if mentioned else payload
    changed = False
    entries = []
    for entry in payload["entry"]:
        new_entry = _scrub_entry(entry, person, keep_person)
        changed |= new_entry is not entry
        if new_entry is not None:
            entries.append(new_entry)
    if not changed:
        return payload
    if not entries:
        return None
    result = {**payload, "entry": entries}
    if not keep_person and person.is_mentioned_in(result):
        return None  # named somewhere we do not expect: keep nothing rather than too much
    return result


def _scrub_entry(entry: Any, person: Person, keep_person: bool) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
        return _whole(entry, person, keep_person)
    changed = False
    changes = []
    for change in entry["changes"]:
        new_change = _scrub_change(change, person, keep_person)
        changed |= new_change is not change
        if new_change is not None:
            changes.append(new_change)
    if not changed:
        return entry
    return {**entry, "changes": changes} if changes else None


def _scrub_change(change: Any, person: Person, keep_person: bool) -> Any:
    value = change.get("value") if isinstance(change, dict) else None
    if not isinstance(value, dict):
        return _whole(change, person, keep_person)
    changed = False
    items_left = False
    new_value = {}
    for key, part in value.items():
        if not isinstance(part, list):
            new_value[key] = part
            continue
        kept = [item for item in part if person.is_mentioned_in(item) == keep_person]
        changed |= len(kept) != len(part)
        items_left |= bool(kept)
        if kept or not part:
            new_value[key] = kept
    outside_lists = {key: part for key, part in new_value.items() if not isinstance(part, list)}
    named_outside = person.is_mentioned_in(outside_lists)
    if keep_person:
        if named_outside:
            return change  # e.g. a flat user_id_update about them: all of it is theirs
        return {**change, "value": new_value} if items_left else None
    if named_outside:
        return None
    if not changed:
        return change
    return {**change, "value": new_value} if items_left else None


def _whole(node: Any, person: Person, keep_person: bool) -> Any:
    """Something we cannot look inside: kept or dropped as a whole."""
    mentioned = person.is_mentioned_in(node)
    if keep_person:
        return node if mentioned else None
    return None if mentioned else node


def decode_body(body: bytes | memoryview) -> Any:
    """A stored body as JSON, or None when it is not JSON."""
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        return None


def scrub_body(body: bytes | memoryview, person: Person) -> tuple[str, bytes | None]:
    """What to do with a raw body for erasure: ("keep", None), ("rewrite", new bytes) or
    ("delete", None). Rewritten bodies are encoded as Meta encodes them."""
    payload = decode_body(body)
    if payload is None:
        # Not JSON (kept by the webhook anyway): look at the text as it is.
        text = bytes(body).decode("utf-8", errors="replace")
        named = any(value in text for value in person.ids | person.wamids)
        return ("delete", None) if named else ("keep", None)
    return body_outcome(payload, scrub_payload(payload, person))


def body_outcome(payload: Any, result: Any) -> tuple[str, bytes | None]:
    """What to do with a stored body whose decoded `payload` scrubbing turned into `result`:
    ("keep", None) when untouched, ("delete", None) when nothing is left, else ("rewrite",
    the new body encoded as Meta encodes them)."""
    if result is payload:
        return "keep", None
    if result is None:
        return "delete", None
    return "rewrite", encode(result)
