"""One load, from plan to commit: the business numbers and staff senders it needs, then
contacts, conversations (with the denormalised fields ingestion would have left), messages
and their status events, written in global time order in one transaction."""

import random
import time
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, OutputWrapper
from django.db import transaction

from messaging.models import BusinessNumber, Contact, Conversation, Message, StatusEvent
from messaging.seeding import tables
from messaging.seeding.planning import (
    CONV_BITS,
    DAY,
    ID,
    OUT,
    SEQ_BITS,
    TS,
    TYPE,
    Entry,
    Person,
    Planner,
    assign_message_ids,
    contact_wa_id,
)
from messaging.seeding.progress import Progress
from messaging.seeding.rows import MessageRows, Row, as_datetime, wamid
from messaging.seeding.vocabulary import COUNTRIES

# Messages written per COPY statement (or bulk_create call), status events alongside.
CHUNK = 20_000


class Load:
    """`options` are seed_load's; `now` (seconds since the epoch) is when the data ends."""

    def __init__(self, out: OutputWrapper, options: Mapping[str, Any], now: int) -> None:
        self.stdout, self.options, self.now = out, options, now
        self.seed: int = options["seed"]
        self.started = time.monotonic()
        self.rng = random.Random(self.seed)  # noqa: S311 - repeatable fake data, not secrets

    def run(self) -> int:
        """Load everything; returns the number of status events written."""
        contacts, messages = self.options["contacts"], self.options["messages"]
        with transaction.atomic():
            tables.lock_tables()
            self.check_seed_unused()
            self.numbers = self.business_numbers(self.options["numbers"])
            self.agents = self.staff_senders()
            self.out(f"Planning {contacts:,} conversations and {messages:,} messages…")
            planner = Planner(
                self.rng,
                seed=self.seed,
                now=self.now,
                days=self.options["days"],
                big_conversations=self.options["big_conversations"],
                big_size=self.options["big_size"],
                numbers=self.numbers,
            )
            people = planner.plan_contacts(contacts)
            plans = planner.plan_conversations(people, messages)
            self.ids = {
                "contact": tables.reserve_ids(Contact, contacts),
                "conversation": tables.reserve_ids(Conversation, contacts),
                "message": tables.reserve_ids(Message, messages),
            }
            order = assign_message_ids(plans, self.ids["message"])
            self.phase("planned")
            rebuild = tables.drop_indexes_for_bulk_load(messages)
            self.write_contacts(people)
            self.write_conversations(people, plans)
            status_events = self.write_messages(people, plans, order)
            tables.fix_sequences()
            self.phase("written")
            tables.rebuild(rebuild, self.stdout)
            self.phase("indexed")
        self.phase("committed")
        tables.analyze()
        return status_events

    def phase(self, name: str) -> None:
        if self.options["verbosity"] > 1:
            self.out(f"  {name} after {time.monotonic() - self.started:.1f} s")

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def check_seed_unused(self) -> None:
        probe = [contact_wa_id(self.seed, 0, code) for code, _name, _weight in COUNTRIES]
        if (
            Contact.objects.filter(wa_id__in=probe).exists()
            or Message.objects.filter(wamid=wamid(self.seed, 0)).exists()
        ):
            raise CommandError(
                f"Data from --seed {self.seed} is already loaded here: use another --seed, or "
                "a fresh database."
            )

    def business_numbers(self, count: int) -> list[int]:
        numbers = []
        for k in range(count):
            number, _created = BusinessNumber.objects.get_or_create(
                phone_number_id=f"10{self.seed:04d}{k:09d}",
                defaults={
                    "display_phone_number": f"96611{self.seed:04d}{k:03d}",
                    "waba_id": f"20{self.seed:04d}000000001",
                    "name": f"Load test number {k + 1}",
                },
            )
            numbers.append(number.pk)
        return numbers

    def staff_senders(self) -> list[int]:
        users = []
        for i in range(1, 6):
            user, created = get_user_model().objects.get_or_create(
                username=f"load-agent-{self.seed}-{i}",
                defaults={"first_name": f"Agent {i}", "is_staff": True},
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            users.append(user.pk)
        return users

    def write_contacts(self, people: list[Person]) -> None:
        first = self.ids["contact"]
        rows = []
        for i, person in enumerate(people):
            created = as_datetime(self.now - self.options["days"] * DAY)
            rows.append(
                {
                    "id": first + i,
                    "wa_id": person["wa_id"],
                    "user_id": person["user_id"],
                    "parent_user_id": "",
                    "username": person["username"],
                    "profile_name": person["name"],
                    "created_at": created,
                    "updated_at": created,
                }
            )
        tables.insert(Contact, rows, Progress(self.stdout, "Contacts", len(rows)))

    def write_conversations(self, people: list[Person], plans: list[list[Entry]]) -> None:
        rng = self.rng
        rows = []
        for i, entries in enumerate(plans):
            last = entries[-1] if entries else None
            inbound = [
                e[TS] for e in entries if not e[OUT] and e[TYPE] not in Message.NOT_WRITTEN_TYPES
            ]
            unread = 0
            for entry in reversed(entries):
                if entry[OUT]:
                    break
                if entry[TYPE] not in Message.NOT_WRITTEN_TYPES:
                    unread += 1
            quiet = last is not None and last[TS] < self.now - 3 * DAY
            state = "closed" if not unread and quiet and rng.random() < 0.5 else "open"
            assignee = rng.choice(self.agents) if rng.random() < 0.4 else None
            rows.append(
                {
                    "id": self.ids["conversation"] + i,
                    "business_number_id": people[i]["number"],
                    "contact_id": self.ids["contact"] + i,
                    "state": state,
                    "assignee_id": assignee,
                    "last_message_id": last[ID] if last else None,
                    "last_message_at": as_datetime(last[TS]) if last else None,
                    "last_inbound_at": as_datetime(max(inbound)) if inbound else None,
                    "unread_count": unread,
                    "created_at": as_datetime(entries[0][TS] if entries else self.now),
                }
            )
        tables.insert(Conversation, rows, Progress(self.stdout, "Conversations", len(rows)))

    def write_messages(
        self, people: list[Person], plans: list[list[Entry]], order: list[int]
    ) -> int:
        progress = Progress(self.stdout, "Messages", len(order))
        conv_mask, seq_mask = 2**CONV_BITS - 1, 2**SEQ_BITS - 1
        first_conversation = self.ids["conversation"]
        first_message = self.ids["message"]
        rows = MessageRows(
            self.rng, seed=self.seed, now=self.now, agents=self.agents, first_message=first_message
        )
        messages: list[Row] = []
        statuses: list[Row] = []
        status_total = 0
        self.next_status_id: int | None = None
        for key in order:
            conv = (key >> SEQ_BITS) & conv_mask
            entries = plans[conv]
            entry = entries[key & seq_mask]
            person = people[conv]
            row, events = rows.message_row(entry, entries, person, first_conversation + conv)
            row["wamid"] = wamid(self.seed, entry[ID] - first_message)
            messages.append(row)
            for event in events:
                event["wamid"] = row["wamid"]
                statuses.append(event)
            if len(messages) >= CHUNK:
                status_total += self.flush(messages, statuses, progress)
        status_total += self.flush(messages, statuses, progress)
        progress.finish()
        return status_total

    def flush(self, messages: list[Row], statuses: list[Row], progress: Progress) -> int:
        count = len(messages)
        written = len(statuses)
        if messages:
            tables.insert(Message, messages)
        if statuses:
            if self.next_status_id is None:
                self.next_status_id = tables.reserve_ids(StatusEvent, 0)
            for event in statuses:
                event["id"] = self.next_status_id
                self.next_status_id += 1
            tables.insert(StatusEvent, statuses)
        messages.clear()
        statuses.clear()
        progress.advance(count)
        return written
