"""The redelivery guard: what of a webhook body Meta sends again after an erasure may apply.

`ErasedPeopleGuard` is registered as messaging's redelivery guard (messaging.hooks, in
privacy.apps): ingestion asks it which items of each body to apply (`split_redeliveries`),
then lets it scrub the body's stored raw copy. An erased person's own items that can only
bring them back are withheld; their ids in other people's messages sent before the erasure
are removed, from the rows those messages become and from the raw copy, exactly as erasure
removed them from what was stored then (privacy.mentions: one definition of both).
"""

import dataclasses
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from messaging.events import (
    ContactChange,
    ContactRef,
    Event,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
)
from messaging.models import Contact, Message, WebhookEvent
from privacy.mentions import Mentions, mentioned_ids, remove_person
from privacy.models import ErasureTombstone
from privacy.scrub import Person, id_hash, id_like_strings

# Hashes looked up per tombstone query: a body whose messages are full of numbers takes a
# few queries rather than one the database refuses for its length.
HASHES_PER_QUERY = 500


def event_ids(item: Event, payload: Any = None) -> set[str]:
    """The ids (phones, BSUIDs) of the person a normalised webhook event is about: a
    message's sender, a status's recipient, the user whose ids changed (as they were), and
    any id in the raw item of a field we ignore (calls, …; found in `payload`, the decoded
    body)."""
    match item:
        case InboundMessage() | ContactChange():
            ref = item.contact
        case StatusUpdate():
            ref = item.recipient
        case IgnoredField():
            return id_like_strings(_node_at(payload, item.path))
        case _:
            return set()
    return {value for value in (ref.wa_id, ref.user_id) if value}


@dataclass
class Withheld:
    """What the guard took out of one body: `person`, whose items were not applied and leave
    the raw copy, and the erased people named in other people's messages sent before their
    erasure ({wamid: who}), removed from those messages' rows and from the raw copy."""

    person: Person = field(default_factory=Person)
    mentions: dict[str, Person] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.person or self.mentions)

    def grouped_mentions(self) -> list[tuple[Person, Collection[str]]]:
        """[(someone, the ids of the messages to remove them from)], one pair per someone."""
        groups: dict[frozenset[str], set[str]] = {}
        for wamid, someone in self.mentions.items():
            groups.setdefault(frozenset(someone.ids), set()).add(wamid)
        return [(Person(ids=set(ids)), wamids) for ids, wamids in groups.items()]


def split_redeliveries(items: list[Event], payload: Any) -> tuple[list[Event], Withheld]:
    """The events of a body to apply, and what is to be scrubbed from its raw copy.

    An event about an erased person (a tombstone holds one of its ids) is dropped when it
    can only bring them back:
    - a message or status from before the erasure (Meta redelivers for 7 days);
    - a status about none of our messages, whatever its time: what it reports on was erased
      with them (a late "read" of an old reply);
    - a change of their ids (a user_id_update, a number change) or a field we ignore (a
      call, …), unless they have come back since (a contact holds the id again) and, for a
      change, it is dated after the erasure.
    Someone else's message that names an erased person (their number in its text, their
    contact card: privacy.mentions) and was sent before the erasure is applied without
    them, as erasure left the stored copy; one sent afterwards is new, and kept as written.
    One tombstone query for the whole body, the ids its messages name included; the few
    more that the rules need run only when the body names someone erased.
    """
    ids, named = _ids_in(items, payload)
    erased = _erased_at(set().union(*ids.values(), *named.values()))
    if not erased:
        return items, Withheld()
    facts = _Facts(items, ids, erased)
    live: list[Event] = []
    dropped_ids, dropped_wamids, mentions = set(), set(), {}
    for item in items:
        times = [erased[value] for value in ids[id(item)] if value in erased]
        if times and facts.brings_back(item, max(times)):
            if isinstance(item, IgnoredField):  # it may name others too: only theirs go
                dropped_ids |= ids[id(item)] & erased.keys()
            else:
                dropped_ids |= ids[id(item)]
            if isinstance(item, ContactChange):  # what they became is theirs too
                dropped_ids |= {item.new_wa_id, item.new_user_id}
            dropped_wamids.add(getattr(item, "wamid", ""))
            continue
        if isinstance(item, InboundMessage):
            sent_before = {
                value
                for value in named[id(item)]
                if value in erased and item.timestamp < erased[value]
            }
            if sent_before:
                mentions[item.wamid] = Person(ids=sent_before)
                item = _without(item, mentions[item.wamid])
        live.append(item)
    return live, Withheld(Person(ids=dropped_ids, wamids=dropped_wamids), mentions)


def _without(item: InboundMessage, someone: Person) -> InboundMessage:
    """The message as its row is to hold it: `someone` removed (privacy.mentions)."""
    redacted = Mentions(someone).redact_message(item.text, item.data)
    if redacted is None:
        return item
    text, data = redacted
    return dataclasses.replace(item, text=text, data=data)


def split_bodies(bodies: list[tuple[list[Event], Any]]) -> list[tuple[list[Event], Withheld]]:
    """`split_redeliveries` for several bodies: one tombstone query for them all, and body
    by body only when one of them names someone erased."""
    named: set[str] = set()
    for items, payload in bodies:
        ids, mentioned = _ids_in(items, payload)
        named = named.union(*ids.values(), *mentioned.values())
    if not _erased_at(named):
        return [(items, Withheld()) for items, _payload in bodies]
    return [split_redeliveries(items, payload) for items, payload in bodies]


def _ids_in(items: list[Event], payload: Any) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """({id(item): the ids of whom it is about}, {id(message): the other ids its content
    names})."""
    ids = {id(item): event_ids(item, payload) for item in items}
    named = {
        id(item): mentioned_ids(_node_at(payload, item.path)) - ids[id(item)]
        for item in items
        if isinstance(item, InboundMessage)
    }
    return ids, named


def _erased_at(ids: set[str]) -> dict[str, datetime]:
    """{id: when it was last erased} for those of `ids` that have a tombstone (one query,
    unless there are more than HASHES_PER_QUERY ids)."""
    hashes = {id_hash(value): value for value in ids}
    hashes.pop("", None)
    erased: dict[str, datetime] = {}
    for chunk in batched(sorted(hashes), HASHES_PER_QUERY):
        rows = (
            ErasureTombstone.objects.filter(id_hash__in=chunk)
            .values("id_hash")
            .annotate(latest=Max("erased_at"))
            .values_list("id_hash", "latest")
        )
        erased |= {hashes[digest]: erased_at for digest, erased_at in rows}
    return erased


class _Facts:
    """What deciding about an erased person's events needs from the database, each looked
    up once per body and only if asked."""

    def __init__(
        self, items: list[Event], ids: dict[int, set[str]], erased: dict[str, datetime]
    ) -> None:
        self.items, self.ids, self.erased = items, ids, erased
        self._ours: set[object] | None = None
        self._held: set[str] | None = None

    def brings_back(self, item: Event, erased_at: datetime) -> bool:
        match item:
            case InboundMessage():
                return item.timestamp < erased_at
            case StatusUpdate():
                return item.timestamp < erased_at or not self.is_ours(item)
            case ContactChange():
                dated_after = item.timestamp is not None and item.timestamp >= erased_at
                return not (dated_after and self.has_come_back(item.contact))
            case IgnoredField():
                return not any(value in self.held() for value in self.ids[id(item)])
        return False

    def is_ours(self, status: StatusUpdate) -> bool:
        """Whether a status is about a message we hold (by wamid, or by the id we sent)."""
        if self._ours is None:
            statuses = [
                item
                for item in self.items
                if isinstance(item, StatusUpdate) and self.ids[id(item)] & self.erased.keys()
            ]
            wamids = {item.wamid for item in statuses}
            pks = {item.our_message_id for item in statuses} - {None}
            rows = Message.objects.filter(Q(wamid__in=wamids) | Q(pk__in=pks)).values_list(
                "pk", "wamid"
            )
            self._ours = {value for row in rows for value in row}
        return status.wamid in self._ours or status.our_message_id in self._ours

    def has_come_back(self, ref: ContactRef) -> bool:
        return any(value in self.held() for value in (ref.wa_id, ref.user_id) if value)

    def held(self) -> set[str]:
        """The erased ids that a contact holds again (the person wrote since)."""
        if self._held is None:
            ids = set(self.erased)
            rows = Contact.objects.filter(Q(wa_id__in=ids) | Q(user_id__in=ids)).values_list(
                "wa_id", "user_id"
            )
            self._held = {value for row in rows for value in row if value in ids}
        return self._held


def _node_at(payload: Any, path: str) -> Any:
    """The part of a decoded body at an event's path ("entry[0].changes[1].value.calls"),
    or None."""
    node = payload
    for part in path.split(".") if path else []:
        name, _, index = part.partition("[")
        node = node.get(name) if isinstance(node, dict) else None
        if index:
            position = index.rstrip("]")
            if not (isinstance(node, list) and position.isdigit() and int(position) < len(node)):
                return None
            node = node[int(position)]
    return node


def scrub_webhook_event(
    event: WebhookEvent,
    person: Person,
    mentions: list[tuple[Person, Collection[str]]] | None = None,
) -> str:
    """Remove `person` (and `mentions`: privacy.mentions.remove_person) from a stored webhook
    body: rewrite it without them (its body_sha256 recomputed), or delete it when nothing
    else is left — or when another row already holds exactly the rewritten body (a
    redelivery of a batch scrubbed before).

    Returns "kept", "rewritten" or "deleted". A deleted event's pk becomes None.
    """
    action, new_body = remove_person(event.body, person, mentions=mentions or [])
    if action == "keep":
        return "kept"
    if new_body is not None:  # "rewrite"
        digest = hashlib.sha256(new_body).hexdigest()
        if not WebhookEvent.objects.filter(body_sha256=digest).exclude(pk=event.pk).exists():
            try:
                with transaction.atomic():
                    WebhookEvent.objects.filter(pk=event.pk).update(
                        body=new_body, body_sha256=digest
                    )
            except IntegrityError:
                pass  # the same scrubbed body was stored concurrently: this copy goes
            else:
                event.body, event.body_sha256 = new_body, digest
                return "rewritten"
    event.delete()
    return "deleted"


class ErasedPeopleGuard:
    """messaging.hooks' redelivery guard: what `split_redeliveries` withholds from a webhook
    body is not applied, and leaves its stored raw copy."""

    def split(self, items: list[Event], payload: Any) -> tuple[list[Event], Withheld]:
        return split_redeliveries(items, payload)

    def split_bodies(
        self, bodies: list[tuple[list[Event], Any]]
    ) -> list[tuple[list[Event], Withheld]]:
        return split_bodies(bodies)

    def scrub(self, event: WebhookEvent, withheld: Withheld) -> str:
        return scrub_webhook_event(event, withheld.person, withheld.grouped_mentions())
