"""An erased person in other people's messages: what erasure removes from them, and what not.

The policy, applied alike to message rows (Message.text, Message.data) and to the raw
webhook bodies they came from, so that replaying a body gives what the inbox shows:

- the other person's message stays (it is theirs), minus what identifies the erased one;
- a shared contact card that carries one of their ids (a phone number in any formatting,
  a WhatsApp id, a BSUID) is replaced by ERASED_CARD, which the inbox shows as a nameless
  "Contact"; the card's name, numbers, e-mails and addresses go with it;
- their phone numbers written in international form (digits with or without "+" or "00",
  spaces, dots, dashes or brackets between them) and their BSUIDs, in any text or caption,
  become REMOVED.

Their name in someone else's free text stays: a name alone cannot be told apart from a
namesake's, and removing every "Zainab" would damage other people's records. A number in a
local form ("050 111 2233") is not recognised either. Their own items in a body (messages
from them, statuses to them, their profile) are removed whole by privacy.scrub.

`remove_person()` is the one way a raw body loses a person: erasure applies it to every
stored body (privacy.erasure), the redelivery guard to each body Meta sends again afterwards
(privacy.redelivery). Tombstones keep only hashes, so the guard first needs every id a
message could name: `mentioned_ids()` lists what this module recognises — every phone number
as written above, and every BSUID standing on its own (a BSUID glued to other letters or
digits is not looked for: nobody types BSUIDs, they reach messages whole, inside cards).
"""

import re
from collections.abc import Collection, Iterable
from typing import Any

from messaging.parser import is_bsuid
from privacy.scrub import (
    IDENTITY_KEYS,
    Person,
    body_outcome,
    decode_body,
    normalise_id,
    scrub_body,
    scrub_payload,
)

ERASED_CARD = {"erased": True}
REMOVED = "[removed]"
# Between two digits of a phone number as people write it.
_SEPARATORS = r"[ ().-]*"


def _phone_pattern(digits: str) -> str:
    return r"(?:\+|00)?" + _SEPARATORS.join(digits)


# What a phone number as people write it can be made of: digits, separators between them.
_DIGIT_RUN = re.compile(r"\d(?:" + _SEPARATORS + r"\d)*")
_DIGITS = re.compile(r"\d+")
_BSUID_WORD = re.compile(r"(?<![A-Za-z0-9.])[A-Z]{2}\.[A-Za-z0-9.]*[A-Za-z0-9]")
# Phone numbers in international form (E.164) have 7 to 15 digits, country code included.
_PHONE_DIGITS = range(7, 16)


def mentioned_ids(node: Any) -> set[str]:
    """Every id (phone number, BSUID) that `Mentions` would recognise anywhere in `node` (a
    message as Meta sends it), normalised: what a redelivery is checked against the
    tombstones with. A number is found where the pattern finds it: whole groups of digits,
    never part of a longer group, after an optional "+" or "00"."""
    found: set[str] = set()
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, int) and not isinstance(node, bool):
            found.add(str(node))
        elif isinstance(node, str):
            found |= _phone_numbers_in(node)
            found |= {match.group() for match in _BSUID_WORD.finditer(node)}
            if is_bsuid(node):
                found.add(node)
    return {value for value in found if not value.isdigit() or len(value) in _PHONE_DIGITS}


def _phone_numbers_in(text: str) -> set[str]:
    """The digits of every run of consecutive groups of digits in `text` (with or without a
    leading "00"): wherever the phone pattern could match."""
    found = set()
    for run in _DIGIT_RUN.finditer(text):
        groups = _DIGITS.findall(run.group())
        for start, first in enumerate(groups):
            heads = [first, first[2:]] if first.startswith("00") else [first]
            for head in heads:
                digits = head
                found.add(digits)
                for group in groups[start + 1 :]:
                    digits += group
                    if len(digits) >= _PHONE_DIGITS.stop:
                        break
                    found.add(digits)
    return found


class Mentions:
    """What identifies one person in other people's messages, and how to remove it."""

    def __init__(self, person: Person) -> None:
        self.person = person
        phones = sorted(value for value in person.ids if value.isdigit())
        self.bsuids = sorted(value for value in person.ids if is_bsuid(value))
        alternatives = [_phone_pattern(phone) for phone in phones]
        alternatives += [re.escape(bsuid) for bsuid in self.bsuids]
        # Longest first, so that a number is removed whole rather than a shorter id inside it;
        # never part of a longer run of digits (another number).
        alternatives.sort(key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<!\d)(?:" + "|".join(alternatives) + r")(?!\d)")
            if alternatives
            else None
        )
        # For the database's first, rough pass (PostgreSQL and SQLite regex alike).
        self.phone_regexes = [_phone_pattern(phone) for phone in phones]

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact_text(self, text: Any) -> Any:
        if self._pattern is None or not isinstance(text, str):
            return text
        return self._pattern.sub(REMOVED, text)

    def redact(self, node: Any) -> Any:
        """`node` (a message's data, or a message item of a webhook body) without this person:
        the same object when nothing in it names them."""
        if isinstance(node, str):
            return self.redact_text(node)
        if isinstance(node, list):
            items = [self.redact(item) for item in node]
            return node if all(a is b for a, b in zip(items, node, strict=True)) else items
        if not isinstance(node, dict):
            return node
        changed = False
        result: dict[Any, Any] = {}
        for key, value in node.items():
            if key == "contacts" and isinstance(value, list):
                new = self._redact_cards(value)
            else:
                new = self.redact(value)
            changed |= new is not value
            result[key] = new
        return result if changed else node

    def _redact_cards(self, cards: list[Any]) -> list[Any]:
        new = [
            ERASED_CARD if isinstance(card, dict) and self.person.is_mentioned_in(card) else card
            for card in cards
        ]
        return cards if all(a is b for a, b in zip(new, cards, strict=True)) else new

    def redact_message(self, text: str, data: Any) -> tuple[str, Any] | None:
        """(text, data) of someone else's message without this person, or None when
        neither names them."""
        new_text, new_data = self.redact_text(text), self.redact(data)
        if new_text == text and new_data is data:
            return None
        return new_text, new_data


def is_theirs(item: Any, person: Person) -> bool:
    """Whether a message item of a webhook body is the person's own (from them, by one of
    their message ids), rather than someone else's that may name them."""
    if not isinstance(item, dict):
        return False
    if item.get("id") in person.wamids:
        return True
    return any(normalise_id(item.get(key)) in person.ids for key in IDENTITY_KEYS)


def redact_payload(payload: Any, person: Person, *, only: Collection[str] | None = None) -> Any:
    """A decoded webhook body with the person removed from other people's messages (the
    same object when none names them); with `only`, from the messages with those ids only.
    Their own items are left for privacy.scrub."""
    person = person.expanded_by(payload)
    mentions = Mentions(person)
    if not mentions or not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        return payload

    def redacts(item: Any) -> bool:
        if is_theirs(item, person):
            return False
        return only is None or (isinstance(item, dict) and item.get("id") in only)

    def messages(value: dict[str, Any]) -> dict[str, Any]:
        items = value.get("messages")
        if not isinstance(items, list):
            return value
        new = [mentions.redact(item) if redacts(item) else item for item in items]
        if all(a is b for a, b in zip(new, items, strict=True)):
            return value
        return {**value, "messages": new}

    def change(node: Any) -> Any:
        value = node.get("value") if isinstance(node, dict) else None
        if not isinstance(value, dict):
            return node
        new = messages(value)
        return node if new is value else {**node, "value": new}

    def entry(node: Any) -> Any:
        changes = node.get("changes") if isinstance(node, dict) else None
        if not isinstance(changes, list):
            return node
        new = [change(item) for item in changes]
        return (
            node
            if all(a is b for a, b in zip(new, changes, strict=True))
            else {
                **node,
                "changes": new,
            }
        )

    entries = [entry(node) for node in payload["entry"]]
    if all(a is b for a, b in zip(entries, payload["entry"], strict=True)):
        return payload
    return {**payload, "entry": entries}


def remove_person(
    body: bytes | memoryview,
    person: Person,
    *,
    mentions: Iterable[tuple[Person, Collection[str]]] | None = None,
) -> tuple[str, bytes | None]:
    """What leaving `person` out of a raw body takes: ("keep", None), ("rewrite", new bytes,
    encoded as Meta encodes) or ("delete", None) when nothing else is left.

    Their own items go (privacy.scrub.scrub_payload), after their ids have left other
    people's messages (`redact_payload`): from every message, as erasure does; or, with
    `mentions`, as it says — (someone, message ids) pairs, each someone's ids removed from
    those messages only (a redelivery names people erased after some of its messages were
    sent, and before others).
    """
    payload = decode_body(body)
    if payload is None:
        return scrub_body(body, person)  # not JSON: looked at as text
    redacted = payload
    for someone, wamids in [(person, None)] if mentions is None else mentions:
        redacted = redact_payload(redacted, someone, only=wamids)
    return body_outcome(payload, scrub_payload(redacted, person))
