"""A planned message as the row to write, with an outbound message's delivery statuses as
Meta would have reported them."""

import base64
import hashlib
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from messaging.seeding.planning import EMOJI, ID, OUT, REPLY, TARGET, TS, TYPE, Entry, Person
from messaging.seeding.vocabulary import (
    ARABIC_IN,
    ARABIC_OUT,
    BUTTONS,
    CAPTIONS_AR,
    CAPTIONS_EN,
    DOCUMENTS,
    ENGLISH_IN,
    ENGLISH_OUT,
    FAILURES,
    MIME,
    PLACES,
    SENT_PRICING,
    TEMPLATES,
)

# A row to write (attname → value).
Row = dict[str, Any]


def wamid(seed: int, ordinal: int) -> str:
    """Meta-shaped ("wamid." and base64), unique: the seed and ordinal are inside it."""
    digest = hashlib.blake2b(struct.pack(">HI", seed, ordinal), digest_size=24).digest()
    raw = b"\x0b\x15" + struct.pack(">HI", seed, ordinal) + digest
    return "wamid.HBgL" + base64.b64encode(raw).decode("ascii")


def as_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class MessageRows:
    def __init__(
        self, rng: random.Random, *, seed: int, now: int, agents: list[int], first_message: int
    ) -> None:
        self.rng, self.seed, self.now = rng, seed, now
        self.agents, self.first_message = agents, first_message

    def message_row(
        self, entry: Entry, entries: list[Entry], person: Person, conversation_id: int
    ) -> tuple[Row, Sequence[Row]]:
        rng = self.rng
        moment = entry[TS]
        kind = entry[TYPE]
        outbound = entry[OUT]
        arabic = person["arabic"] if rng.random() < 0.9 else not person["arabic"]
        order = f"#{rng.randint(1000, 99999)}"
        data: dict[str, Any] = {}
        text = ""
        target_wamid = reply_wamid = ""
        if kind == "text":
            pool = (
                (ARABIC_OUT if arabic else ENGLISH_OUT)
                if outbound
                else (ARABIC_IN if arabic else ENGLISH_IN)
            )
            text = rng.choice(pool).replace("{order}", order)
        elif kind == "template":
            name, body = TEMPLATES["ar" if arabic else "en"]
            text = body.replace("{order}", order)
            data = {"template": {"name": name, "language": "ar" if arabic else "en",
                                 "category": "UTILITY", "values": [order]}}  # fmt: skip
        elif kind in MIME:
            data = {"media_id": str(10**15 + rng.randrange(9 * 10**15)), "mime_type": MIME[kind],
                    "sha256": base64.b64encode(rng.randbytes(32)).decode("ascii")}  # fmt: skip
            if kind == "image":
                text = rng.choice(CAPTIONS_AR if arabic else CAPTIONS_EN)
                if text:
                    data["caption"] = text
            elif kind == "document":
                data["filename"] = rng.choice(DOCUMENTS).replace("{order}", order[1:])
            elif kind == "audio":
                data["voice"] = True
            elif kind == "sticker":
                data["animated"] = False
        elif kind == "location":
            latitude, longitude, name, address = rng.choice(PLACES)
            data = {"latitude": latitude, "longitude": longitude, "name": name,
                    "address": address, "url": ""}  # fmt: skip
        elif kind == "interactive":
            reply_id, title = rng.choice(BUTTONS)
            data = {"interactive_type": "button_reply", "reply_id": reply_id, "title": title,
                    "description": ""}  # fmt: skip
            text = title
        elif kind == "reaction":
            data = {"emoji": entry[EMOJI]}
            target_wamid = wamid(self.seed, entries[entry[TARGET]][ID] - self.first_message)
        if entry[REPLY] >= 0:
            reply_wamid = wamid(self.seed, entries[entry[REPLY]][ID] - self.first_message)
        reactions = {"contact": entry[EMOJI]} if kind != "reaction" and entry[EMOJI] else {}
        when = as_datetime(moment)
        row = {
            "id": entry[ID],
            "conversation_id": conversation_id,
            "direction": "out" if outbound else "in",
            "type": kind,
            "timestamp": when,
            "text": text,
            "data": data,
            "reply_to_wamid": reply_wamid,
            "target_wamid": target_wamid,
            "status": "received",
            "status_at": None,
            "error_code": None,
            "error_title": "",
            "error_details": "",
            "reactions": reactions,
            "sent_by_id": None,
            "attempts": 0,
            "created_at": when,
        }
        if not outbound:
            return row, ()
        row["sent_by_id"] = self.agents[entry[ID] % len(self.agents)]
        row["attempts"] = 1
        return row, self.statuses(row, entry, person)

    def statuses(self, row: Row, entry: Entry, person: Person) -> list[Row]:
        """The delivery statuses Meta reported for an outbound message, oldest first; the
        message's status is the last of them (or failed)."""
        rng = self.rng
        sent = entry[TS]
        age = self.now - sent
        draw = rng.random()
        if age < 120:
            ladder = ["sent"]
        elif draw < 0.04:
            ladder = ["failed"]
        elif draw < 0.10:
            ladder = ["sent"]
        elif draw < 0.25:
            ladder = ["sent", "delivered"]
        else:
            ladder = ["sent", "delivered", "read"]
        moment = sent
        events = []
        recipient = person["wa_id"] or person["user_id"]
        for status in ladder:
            moment = min(self.now, moment + rng.randint(1, 90 if status != "read" else 3600))
            errors = []
            if status == "failed":
                code, title, details = rng.choice(FAILURES)
                errors = [{"code": code, "title": title, "message": title,
                           "error_data": {"details": details}}]  # fmt: skip
                row.update(error_code=code, error_title=title, error_details=details)
            events.append(
                {
                    "wamid": None,  # the message's, set by the caller
                    "message_id": row["id"],
                    "status": status,
                    "timestamp": as_datetime(moment),
                    "recipient_id": recipient,
                    "conversation_info": {"id": f"c{row['id']}", "origin": {"type": "service"}}
                    if status == "sent"
                    else {},
                    "pricing": SENT_PRICING if status == "sent" else {},
                    "errors": errors,
                    "received_at": as_datetime(moment),
                }
            )
        row["status"] = ladder[-1]
        row["status_at"] = events[-1]["timestamp"]
        return events
