"""Planning a load before anything is written: who the contacts are, how many messages each
conversation gets, and each message's time, direction, type and what it replies or reacts to;
then message ids in global time order, as production inserts rows."""

import random
from collections.abc import Sequence
from typing import Any

from django.core.management.base import CommandError

from messaging.seeding.vocabulary import (
    ARABIC_FIRST,
    ARABIC_LAST,
    COUNTRIES,
    EMOJIS,
    ENGLISH_FIRST,
    ENGLISH_LAST,
    INBOUND_TYPES,
    OUTBOUND_TYPES,
    USERNAMES,
)

DAY = 86_400
# Packing of the global sort key: time, conversation, position in the conversation.
SEQ_BITS = 24
CONV_BITS = 24

# Plan entries: one small list per message, indexed by these positions.
TS, OUT, TYPE, REPLY, TARGET, EMOJI, ID = range(7)
Entry = list[Any]
# A planned person.
Person = dict[str, Any]


def weighted(pairs: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    names = [name for name, _weight in pairs]
    cumulative, total = [], 0
    for _name, weight in pairs:
        total += weight
        cumulative.append(total)
    return names, cumulative


def contact_wa_id(seed: int, index: int, country_code: str) -> str:
    return f"{country_code}5{seed:04d}{index:07d}"


class Planner:
    def __init__(
        self,
        rng: random.Random,
        *,
        seed: int,
        now: int,
        days: int,
        big_conversations: int,
        big_size: int,
        numbers: list[int],
    ) -> None:
        self.rng, self.seed, self.now, self.days = rng, seed, now, days
        self.big_conversations, self.big_size = big_conversations, big_size
        self.numbers = numbers
        self.inbound_types = weighted(INBOUND_TYPES)
        self.outbound_types = weighted(OUTBOUND_TYPES)

    def plan_contacts(self, count: int) -> list[Person]:
        rng = self.rng
        codes, weights = weighted([(c, w) for c, _n, w in COUNTRIES])
        letters = {c: n for c, n, _w in COUNTRIES}
        people = []
        for i in range(count):
            code = rng.choices(codes, cum_weights=weights)[0]
            arabic = (code not in {"44", "1"} and rng.random() < 0.85) or rng.random() < 0.15
            first, last = (ARABIC_FIRST, ARABIC_LAST) if arabic else (ENGLISH_FIRST, ENGLISH_LAST)
            name = f"{rng.choice(first)} {rng.choice(last)}"
            kind = rng.random()
            bsuid = f"{letters[code]}.{self.seed:04d}{i:016d}"
            if kind < 0.05:  # a username user: BSUID, no phone number
                wa_id, user_id = None, bsuid
                username = f"{rng.choice(USERNAMES)}.{i}"
                name = "" if rng.random() < 0.5 else name
            elif kind < 0.25:  # phone and BSUID paired
                wa_id, user_id, username = contact_wa_id(self.seed, i, code), bsuid, ""
            else:
                wa_id, user_id, username = contact_wa_id(self.seed, i, code), None, ""
            number = self.numbers[0 if rng.random() < 0.7 else rng.randrange(len(self.numbers))]
            people.append(
                {
                    "wa_id": wa_id,
                    "user_id": user_id,
                    "username": username,
                    "name": name,
                    "arabic": arabic,
                    "number": number,
                }
            )
        return people

    def message_counts(self, conversations: int, messages: int) -> list[int]:
        rng = self.rng
        big = min(self.big_conversations, conversations)
        big_size = self.big_size
        if big:
            # Small loads (tests) keep the shape: big conversations take at most half.
            big_size = max(0, min(big_size, messages // 2 // big))
        rest = messages - big * big_size
        others = conversations - big
        counts = [big_size] * big
        if others:
            weights = [rng.lognormvariate(0, 1.2) for _ in range(others)]
            scale = rest / sum(weights)
            shares = [w * scale for w in weights]
            minimum = 1 if rest >= others else 0
            counts += [max(minimum, int(share)) for share in shares]
        else:
            counts[-1] += rest
        # Hand out (or take back) what rounding left over, largest remainders first.
        difference = messages - sum(counts)
        index = list(range(big, conversations)) or list(range(conversations))
        rng.shuffle(index)
        step = 1 if difference > 0 else -1
        position = 0
        while difference:
            i = index[position % len(index)]
            if step > 0 or counts[i] > 1:
                counts[i] += step
                difference -= step
            position += 1
        return counts

    def plan_conversations(self, people: list[Person], messages: int) -> list[list[Entry]]:
        rng = self.rng
        days = self.days
        earliest = self.now - days * DAY
        counts = self.message_counts(len(people), messages)
        big = min(self.big_conversations, len(people))
        plans = []
        for index, count in enumerate(counts):
            if index < big:
                end = self.now - rng.randint(60, 900)
                start = earliest
            else:
                if rng.random() < 0.12:  # talking right now: the 24-hour window is open
                    end = self.now - rng.randint(60, 20 * 3600)
                else:
                    end = self.now - int(min(rng.expovariate(4 / days), days - 1) * DAY)
                    end = max(end - rng.randint(0, 3600), earliest + 3600)
                gap = rng.uniform(120, 3 * 3600)
                start = max(earliest, end - int(gap * count))
            plans.append(self.plan_messages(count, start, end))
        return plans

    def plan_messages(self, count: int, start: int, end: int) -> list[Entry]:
        rng = self.rng
        times = sorted(rng.randint(start, end) for _ in range(count - 1)) if count else []
        if count:
            times.append(end)
        entries: list[Entry] = []
        last_outbound = -1
        outbound = False
        in_names, in_weights = self.inbound_types
        out_names, out_weights = self.outbound_types
        for seq, moment in enumerate(times):
            # Who speaks next: customers write in bursts, staff answer.
            if seq:
                outbound = rng.random() < (0.3 if outbound else 0.5)
            if outbound:
                kind = rng.choices(out_names, cum_weights=out_weights)[0]
            else:
                kind = rng.choices(in_names, cum_weights=in_weights)[0]
                if kind == "reaction" and last_outbound < 0:
                    kind = "text"
            entry = [moment, outbound, kind, -1, -1, None, 0]
            if kind == "reaction":
                entry[TARGET] = last_outbound
                emoji = rng.choice(EMOJIS)
                entry[EMOJI] = emoji
                entries[last_outbound][EMOJI] = emoji  # what the target shows: the latest
            elif seq and kind == "text" and rng.random() < (0.03 if outbound else 0.04):
                entry[REPLY] = rng.randrange(max(0, seq - 10), seq)
            if outbound:
                last_outbound = seq
            entries.append(entry)
        return entries


def assign_message_ids(plans: list[list[Entry]], first: int) -> list[int]:
    """Ids from `first` in global time order, as production inserts rows; returns that order."""
    keys = [
        (entry[TS] << (CONV_BITS + SEQ_BITS)) | (conv << SEQ_BITS) | seq
        for conv, entries in enumerate(plans)
        for seq, entry in enumerate(entries)
    ]
    if plans and max(len(entries) for entries in plans) >= 2**SEQ_BITS:
        raise CommandError(f"A conversation cannot have {2**SEQ_BITS:,} messages or more.")
    keys.sort()
    conv_mask, seq_mask = 2**CONV_BITS - 1, 2**SEQ_BITS - 1
    for ordinal, key in enumerate(keys):
        plans[(key >> SEQ_BITS) & conv_mask][key & seq_mask][ID] = first + ordinal
    return keys
