"""Bulk, realistic data for benchmarks: contacts, conversations, messages and statuses.

    manage.py seed_load --contacts 10000 --messages 1000000 [--numbers 2]
                        [--big-conversations 3] [--big-size 12000] [--seed 1]

What it makes (all deterministic for a given --seed and --now):

- `--numbers` business numbers (reused when they exist) and five staff senders;
- `--contacts` contacts (Arabic and English names; most with a phone number, some with a
  business-scoped user id too, some with a BSUID and username only), one conversation each;
- `--messages` messages spread over the last `--days` days in a realistic order: text
  mostly (Arabic and English), images, documents, voice notes, stickers, locations, button
  replies, reactions (applied to the message they react to), replies quoting earlier
  messages; outbound staff replies and templates with their delivery statuses (sent,
  delivered, read, failed with Meta's error) and one status event per status Meta reported;
- `--big-conversations` conversations of `--big-size` (10,000+) messages each;
- every conversation's denormalised fields (last_message, last_message_at, last_inbound_at,
  unread_count, state) exactly as the webhook path would have left them.

Rows are written in global time order, as production inserts them, so a conversation's
messages are spread over the table the way they would be. On PostgreSQL it uses COPY (about a
million messages a minute); elsewhere `bulk_create` in batches. Everything is one transaction:
an interrupted load leaves nothing behind. Meant for a benchmark or development database:
it locks the tables it fills while it runs, and refuses to load the same --seed twice (its
phone numbers and message ids would collide).
"""

import base64
import hashlib
import json
import random
import struct
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection, models, transaction
from django.utils import timezone

from messaging.models import BusinessNumber, Contact, Conversation, Message, StatusEvent

DAY = 86_400
# Messages written per COPY statement (or bulk_create call), status events alongside.
CHUNK = 20_000
# Packing of the global sort key: time, conversation, position in the conversation.
_SEQ_BITS = 24
_CONV_BITS = 24

ARABIC_FIRST = ["أمينة", "محمد", "فاطمة", "عمر", "خديجة", "يوسف", "مريم", "أحمد", "نور",
                "سلمى", "خالد", "ليلى", "حسن", "زينب", "إبراهيم", "هدى", "طارق", "رانيا", "سامي",
                "عائشة"]  # fmt: skip
ARABIC_LAST = ["الحربي", "العتيبي", "حداد", "خليل", "منصور", "النجار", "السيد", "القحطاني",
               "الشمري", "عبد الله", "الزهراني", "يوسف", "سليمان", "الأنصاري"]  # fmt: skip
ENGLISH_FIRST = ["John", "Sarah", "David", "Emma", "James", "Olivia", "Ahmed", "Layla", "Daniel",
                 "Grace", "Omar", "Hannah", "Samuel", "Aisha", "Peter", "Ruth"]  # fmt: skip
ENGLISH_LAST = ["Carter", "Smith", "Khan", "Brown", "Haddad", "Taylor", "Wilson", "Patel",
                "Hughes", "Mansour", "Evans", "Clarke"]  # fmt: skip
USERNAMES = ["reader", "books", "qalam", "noor", "student", "teacher", "calligraphy", "maktaba"]

# What customers write, and what staff answer. A few words recur at known rates so that the
# benchmark's message search has something to find (see bench/run.py): "refund", "invoice",
# "الشحن" (shipping), "الكتاب" (the book).
ARABIC_IN = [
    "السلام عليكم، متى يصل طلبي؟",
    "طلبت الكتاب الأسبوع الماضي ولم يصل بعد. رقم الطلب {order}",
    "هل يمكنني تغيير عنوان التوصيل؟",
    "شكراً جزيلاً على المساعدة 🌹",
    "كم تكلفة الشحن إلى جدة؟",
    "هل ورشة الخط العربي ما زالت متاحة للتسجيل؟",
    "أريد استرجاع المبلغ، الكتاب وصل تالفاً",
    "هل عندكم نسخة إلكترونية من الكتاب؟",
    "متى تفتحون يوم الجمعة؟",
    "أرسلت لكم صورة الإيصال",
    "الطلب رقم {order} وصل، جزاكم الله خيراً",
    "هل يوجد خصم للطلاب؟",
    "ما هي طرق الدفع المتاحة؟",
    "أحتاج فاتورة باسم المدرسة من فضلكم",
    "لم أستلم رسالة التأكيد",
    "هل يمكن الشحن إلى الأردن؟",
    "تمام، شكراً",
    "ممكن رقم التتبع؟",
]
ENGLISH_IN = [
    "Hi! Is my order on its way?",
    "Hello, I ordered a book last week and it has not arrived. Order {order}",
    "Can I change the delivery address?",
    "Thanks for the quick answer 🙏",
    "Do you ship to the UK? It's a gift for Friday.",
    "I would like a refund please, the cover was damaged",
    "Could you send me the invoice for order {order}?",
    "Is the Arabic calligraphy workshop still open for registration?",
    "What time do you open on Saturday?",
    "Here is the receipt",
    "Got it, thank you!",
    "Do you have a student discount?",
    "Which payment methods do you accept?",
    "The tracking link does not work",
    "Can I pick it up from the shop instead?",
    "ok 👍",
    "Is the second volume in stock?",
    "My school needs 30 copies, is there a bulk price?",
]
ARABIC_OUT = [
    "وعليكم السلام، سنتحقق من طلبك ونعود إليك حالاً.",
    "تم شحن طلبك اليوم، رقم التتبع {order}.",
    "نعم، يمكن تغيير العنوان قبل الشحن. أرسل لنا العنوان الجديد من فضلك.",
    "العفو، في خدمتك دائماً 🌹",
    "تكلفة الشحن داخل المملكة ٢٥ ريالاً.",
    "نعم، التسجيل مفتوح حتى يوم الخميس.",
    "نعتذر عن ذلك، سنرسل لك نسخة جديدة من الكتاب.",
    "أرسلنا لك الفاتورة على البريد الإلكتروني.",
    "نفتح يوم الجمعة من الرابعة عصراً.",
]
ENGLISH_OUT = [
    "Thanks for your message! Let me check your order.",
    "Your order was shipped today, tracking number {order}.",
    "Yes, we ship to the UK: 3-5 working days.",
    "You're welcome! 😊",
    "We're sorry about that: we have issued a refund, it takes 3-5 days.",
    "I've attached the invoice to this conversation.",
    "Registration closes on Thursday.",
    "We open at 10:00 on Saturdays.",
    "Yes, there is a 10% student discount with a valid card.",
]
CAPTIONS_AR = ["صورة الإيصال", "الغلاف التالف", "هذا الكتاب", ""]
CAPTIONS_EN = ["Receipt", "The damaged cover", "This one please", ""]
DOCUMENTS = ["invoice-{order}.pdf", "order-{order}.pdf", "school-list.xlsx", "receipt.pdf"]
EMOJIS = ["👍", "❤️", "🙏", "😂", "😮", "🌹"]
PLACES = [
    (24.7136, 46.6753, "الرياض", "طريق الملك فهد، الرياض"),
    (21.4858, 39.1925, "جدة", "شارع التحلية، جدة"),
    (30.0444, 31.2357, "القاهرة", "وسط البلد، القاهرة"),
    (51.5072, -0.1276, "Delivery address", "10 Example Street, London"),
    (31.9539, 35.9106, "عمّان", "جبل عمّان، عمّان"),
]
BUTTONS = [("yes", "Yes, confirm"), ("no", "No, change it"), ("agent", "Talk to someone")]
TEMPLATES = {
    "en": ("order_update", "Your order {order} is on its way. Reply here if you need help."),
    "ar": ("order_update", "طلبك {order} في الطريق إليك. راسلنا هنا إن احتجت إلى مساعدة."),
}
FAILURES = [
    (131026, "Message undeliverable", "Unable to deliver message."),
    (131047, "Re-engagement message",
     "More than 24 hours have passed since the customer last replied to this number."),
]  # fmt: skip
# Countries of the contacts' phone numbers, with weights.
COUNTRIES = [("966", "SA", 40), ("20", "EG", 20), ("971", "AE", 10), ("962", "JO", 10),
             ("44", "GB", 10), ("1", "US", 10)]  # fmt: skip
# Inbound message types and their shares (reactions only where there is something to react to).
INBOUND_TYPES = [("text", 780), ("image", 70), ("document", 30), ("audio", 30), ("reaction", 35),
                 ("location", 15), ("sticker", 15), ("interactive", 15)]  # fmt: skip
OUTBOUND_TYPES = [("text", 970), ("template", 30)]
MIME = {"image": "image/jpeg", "document": "application/pdf", "audio": "audio/ogg; codecs=opus",
        "sticker": "image/webp"}  # fmt: skip
SENT_PRICING = {"billable": False, "pricing_model": "PMP", "category": "service",
                "type": "free_customer_service"}  # fmt: skip

# Plan entries: one small list per message, indexed by these positions.
TS, OUT, TYPE, REPLY, TARGET, EMOJI, ID = range(7)
Entry = list[Any]
# A planned person, and a row to write (attname → value).
Person = dict[str, Any]
Row = dict[str, Any]


def _weighted(pairs: Sequence[tuple[str, int]]) -> tuple[list[str], list[int]]:
    names = [name for name, _weight in pairs]
    cumulative, total = [], 0
    for _name, weight in pairs:
        total += weight
        cumulative.append(total)
    return names, cumulative


class Progress:
    """A one-line progress bar on stdout, redrawn in place with \\r (plain text, no library)."""

    def __init__(self, out: OutputWrapper, label: str, total: int, width: int = 30) -> None:
        self.out, self.label, self.total, self.width = out, label, max(total, 1), width
        self.started = self.shown = time.monotonic()
        self.done = self.drawn = 0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.shown >= 0.2 or self.done >= self.total:
            self.shown = now
            self.draw(now)

    def draw(self, now: float) -> None:
        self.drawn = self.done
        share = min(self.done / self.total, 1)
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(
            f"\r{self.label:<14} [{bar}] {share:4.0%} {self.done:>11,}/{self.total:,} "
            f"{now - self.started:6.1f} s",
            ending="",
        )
        self.out.flush()

    def finish(self) -> None:
        if self.drawn != self.done or not self.done:
            self.draw(time.monotonic())
        self.out.write("")


class Command(BaseCommand):
    help = (
        "Load bulk, realistic benchmark data: contacts, one conversation each, messages of "
        "mixed types in Arabic and English with statuses, and a few 10,000+ message "
        "conversations. PostgreSQL COPY when available. Deterministic for a given --seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=10_000)
        parser.add_argument("--messages", type=int, default=1_000_000)
        parser.add_argument("--numbers", type=int, default=2, help="Business numbers.")
        parser.add_argument(
            "--big-conversations",
            type=int,
            default=3,
            help="Conversations of --big-size messages each (default 3).",
        )
        parser.add_argument("--big-size", type=int, default=12_000)
        parser.add_argument("--days", type=int, default=60, help="Time span of the messages.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--now",
            help="ISO date-time the data ends at (default: now); with --seed, repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = self.started = time.monotonic()
        self.options = options
        self.seed = options["seed"]
        contacts, messages = options["contacts"], options["messages"]
        if contacts < 1 or messages < 0 or options["numbers"] < 1 or options["days"] < 1:
            raise CommandError(
                "--contacts and --numbers must be at least 1, --messages at least 0."
            )
        if not 0 <= self.seed < 10_000:
            raise CommandError("--seed must be between 0 and 9999.")
        if contacts >= 2**_CONV_BITS:
            raise CommandError(f"--contacts must be below {2**_CONV_BITS:,}.")
        if options["big_conversations"] > contacts:
            raise CommandError("--big-conversations cannot exceed --contacts.")
        self.now = self.parse_now(options["now"])
        self.rng = random.Random(self.seed)  # noqa: S311 - repeatable fake data, not secrets
        self.postgres = connection.vendor == "postgresql"
        self.inbound_types = _weighted(INBOUND_TYPES)
        self.outbound_types = _weighted(OUTBOUND_TYPES)

        with transaction.atomic():
            self.lock_tables()
            self.check_seed_unused()
            self.numbers = self.business_numbers(options["numbers"])
            self.agents = self.staff_senders()
            self.out(f"Planning {contacts:,} conversations and {messages:,} messages…")
            people = self.plan_contacts(contacts)
            plans = self.plan_conversations(people, messages)
            self.ids = {
                "contact": self.reserve_ids(Contact, contacts),
                "conversation": self.reserve_ids(Conversation, contacts),
                "message": self.reserve_ids(Message, messages),
            }
            order = self.assign_message_ids(plans)
            self.phase("planned")
            rebuild = self.drop_indexes_for_bulk_load(messages)
            self.write_contacts(people)
            self.write_conversations(people, plans)
            status_events = self.write_messages(people, plans, order)
            self.fix_sequences()
            self.phase("written")
            self.rebuild(rebuild)
            self.phase("indexed")
        self.phase("committed")
        if self.postgres:
            with connection.cursor() as cursor:
                for model in (Contact, Conversation, Message, StatusEvent):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {contacts:,} contacts, {contacts:,} conversations, {messages:,} "
                f"messages and {status_events:,} status events in {elapsed:.1f} s "
                f"({'COPY' if self.postgres else 'bulk_create'}, seed {self.seed})."
            )
        )

    # Setting up.

    def phase(self, name: str) -> None:
        if self.options["verbosity"] > 1:
            self.out(f"  {name} after {time.monotonic() - self.started:.1f} s")

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def parse_now(self, value: str | None) -> int:
        if not value:
            return int(timezone.now().timestamp())
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--now must be an ISO date-time, not {value!r}.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())

    def lock_tables(self) -> None:
        """Keep other writers out while ids are reserved and rows written (reads go on)."""
        if not self.postgres:
            return  # SQLite: the IMMEDIATE transaction already holds the write lock
        tables = ", ".join(m._meta.db_table for m in (Contact, Conversation, Message, StatusEvent))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")

    def drop_indexes_for_bulk_load(self, messages: int) -> list[str]:
        """PostgreSQL's advice for populating a database: build indexes and check foreign keys
        once, after the rows are in, rather than row by row. Only for the two big tables, and
        only when the load is larger than what they hold already (a fresh benchmark
        database). Returns the statements that restore them, run at the end of the same
        transaction (so a failed load restores them too)."""
        if not self.postgres or not messages:
            return []
        restore = []
        with connection.cursor() as cursor:
            for model in (Message, StatusEvent):
                table = model._meta.db_table
                existing = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS t"  # noqa: S608
                cursor.execute(existing, [messages])
                if cursor.fetchone()[0] >= messages:
                    return []
            # ALTER TABLE refuses tables with deferred checks pending (rows the surrounding
            # transaction changed): run those checks now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in (Message, StatusEvent):
                table = connection.ops.quote_name(model._meta.db_table)
                # Foreign keys, and unique constraints no foreign key depends on.
                cursor.execute(
                    """
                    SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                    WHERE c.conrelid = %s::regclass AND (c.contype = 'f' OR (c.contype = 'u'
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                      WHERE f.contype = 'f' AND f.conindid = c.conindid)))
                    """,
                    [model._meta.db_table],
                )
                for name, definition in cursor.fetchall():
                    name = connection.ops.quote_name(name)
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                    restore.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
                # Indexes that belong to no constraint.
                cursor.execute(
                    """
                    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                    FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                    """,
                    [model._meta.db_table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {name}")
                    restore.append(definition)
        return restore

    def rebuild(self, statements: list[str]) -> None:
        if not statements:
            return
        progress = Progress(self.stdout, "Indexes", len(statements))
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statement in statements:
                cursor.execute(statement)
                progress.advance(1)
        progress.finish()

    def wa_id(self, index: int, country_code: str) -> str:
        return f"{country_code}5{self.seed:04d}{index:07d}"

    def check_seed_unused(self) -> None:
        probe = [self.wa_id(0, code) for code, _name, _weight in COUNTRIES]
        if (
            Contact.objects.filter(wa_id__in=probe).exists()
            or Message.objects.filter(wamid=self.wamid(0)).exists()
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

    def reserve_ids(self, model: type[models.Model], count: int) -> int:
        """The first of `count` primary keys reserved for `model` (rows get explicit ids)."""
        table = model._meta.db_table
        if self.postgres:
            with connection.cursor() as cursor:
                sequence = self.sequence(model)
                cursor.execute(
                    f"SELECT GREATEST(COALESCE(MAX(id), 0), "  # noqa: S608 - a model's table
                    f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                    f"FROM {sequence})) FROM {table}"
                )
                return cursor.fetchone()[0] + 1
        latest = model._default_manager.aggregate(latest=models.Max("pk"))["latest"] or 0
        return latest + 1

    def sequence(self, model: type[models.Model]) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            return cursor.fetchone()[0]

    def fix_sequences(self) -> None:
        if not self.postgres:
            return  # SQLite's AUTOINCREMENT follows explicit ids by itself
        with connection.cursor() as cursor:
            for model in (Contact, Conversation, Message, StatusEvent):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(%s, GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), 1))",  # noqa: S608
                    [self.sequence(model)],
                )

    # Planning: who the contacts are, and each conversation's messages (time, direction,
    # type, what they reply or react to), before anything is written.

    def plan_contacts(self, count: int) -> list[Person]:
        rng = self.rng
        codes, weights = _weighted([(c, w) for c, _n, w in COUNTRIES])
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
                wa_id, user_id, username = self.wa_id(i, code), bsuid, ""
            else:
                wa_id, user_id, username = self.wa_id(i, code), None, ""
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
        big = min(self.options["big_conversations"], conversations)
        big_size = self.options["big_size"]
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
        days = self.options["days"]
        earliest = self.now - days * DAY
        counts = self.message_counts(len(people), messages)
        big = min(self.options["big_conversations"], len(people))
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

    def assign_message_ids(self, plans: list[list[Entry]]) -> list[int]:
        """Ids in global time order, as production inserts rows; returns that order."""
        keys = [
            (entry[TS] << (_CONV_BITS + _SEQ_BITS)) | (conv << _SEQ_BITS) | seq
            for conv, entries in enumerate(plans)
            for seq, entry in enumerate(entries)
        ]
        if plans and max(len(entries) for entries in plans) >= 2**_SEQ_BITS:
            raise CommandError(f"A conversation cannot have {2**_SEQ_BITS:,} messages or more.")
        keys.sort()
        first = self.ids["message"]
        conv_mask, seq_mask = 2**_CONV_BITS - 1, 2**_SEQ_BITS - 1
        for ordinal, key in enumerate(keys):
            plans[(key >> _SEQ_BITS) & conv_mask][key & seq_mask][ID] = first + ordinal
        return keys

    # Writing.

    def wamid(self, ordinal: int) -> str:
        """Meta-shaped ("wamid." and base64), unique: the seed and ordinal are inside it."""
        digest = hashlib.blake2b(struct.pack(">HI", self.seed, ordinal), digest_size=24).digest()
        raw = b"\x0b\x15" + struct.pack(">HI", self.seed, ordinal) + digest
        return "wamid.HBgL" + base64.b64encode(raw).decode("ascii")

    def moment(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, tz=UTC)

    def write_contacts(self, people: list[Person]) -> None:
        first = self.ids["contact"]
        rows = []
        for i, person in enumerate(people):
            created = self.moment(self.now - self.options["days"] * DAY)
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
        self.insert(Contact, rows, Progress(self.stdout, "Contacts", len(rows)))

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
                    "last_message_at": self.moment(last[TS]) if last else None,
                    "last_inbound_at": self.moment(max(inbound)) if inbound else None,
                    "unread_count": unread,
                    "created_at": self.moment(entries[0][TS] if entries else self.now),
                }
            )
        self.insert(Conversation, rows, Progress(self.stdout, "Conversations", len(rows)))

    def write_messages(
        self, people: list[Person], plans: list[list[Entry]], order: list[int]
    ) -> int:
        progress = Progress(self.stdout, "Messages", len(order))
        conv_mask, seq_mask = 2**_CONV_BITS - 1, 2**_SEQ_BITS - 1
        first_conversation = self.ids["conversation"]
        first_message = self.ids["message"]
        messages, statuses = [], []
        status_total = 0
        self.next_status_id: int | None = None
        for key in order:
            conv = (key >> _SEQ_BITS) & conv_mask
            entries = plans[conv]
            entry = entries[key & seq_mask]
            person = people[conv]
            row, events = self.message_row(entry, entries, person, first_conversation + conv)
            row["wamid"] = self.wamid(entry[ID] - first_message)
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
            self.insert(Message, messages)
        if statuses:
            if self.next_status_id is None:
                self.next_status_id = self.reserve_ids(StatusEvent, 0)
            for event in statuses:
                event["id"] = self.next_status_id
                self.next_status_id += 1
            self.insert(StatusEvent, statuses)
        messages.clear()
        statuses.clear()
        progress.advance(count)
        return written

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
            target_wamid = self.wamid(entries[entry[TARGET]][ID] - self.ids["message"])
        if entry[REPLY] >= 0:
            reply_wamid = self.wamid(entries[entry[REPLY]][ID] - self.ids["message"])
        reactions = {"contact": entry[EMOJI]} if kind != "reaction" and entry[EMOJI] else {}
        when = self.moment(moment)
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
                    "timestamp": self.moment(moment),
                    "recipient_id": recipient,
                    "conversation_info": {"id": f"c{row['id']}", "origin": {"type": "service"}}
                    if status == "sent"
                    else {},
                    "pricing": SENT_PRICING if status == "sent" else {},
                    "errors": errors,
                    "received_at": self.moment(moment),
                }
            )
        row["status"] = ladder[-1]
        row["status_at"] = events[-1]["timestamp"]
        return events

    def insert(
        self, model: type[models.Model], rows: list[Row], progress: Progress | None = None
    ) -> None:
        """Write rows (dicts of attname → value) with COPY on PostgreSQL, else bulk_create.

        Fields a row leaves out get their model default (fields added to the models later
        keep working as long as they have one)."""
        if not rows:
            if progress:
                progress.finish()
            return
        given = list(rows[0])
        fields = {f.attname: f for f in model._meta.concrete_fields if not f.generated}
        unknown = set(given) - set(fields)
        if unknown:
            raise CommandError(f"{model.__name__} has no field(s) {sorted(unknown)}.")
        missing = [f for name, f in fields.items() if name not in given]
        for field in missing:
            if not field.has_default() and not field.null:
                raise CommandError(
                    f"seed_load does not know how to fill {model.__name__}.{field.attname}."
                )
        defaults = {f.attname: f.get_default() for f in missing}
        if self.postgres:
            self.copy(model, fields, given, defaults, rows, progress)
        else:
            batch = []
            for row in rows:
                batch.append(model(**row, **defaults))
                if len(batch) >= 2000:
                    model._default_manager.bulk_create(batch)
                    if progress:
                        progress.advance(len(batch))
                    batch = []
            model._default_manager.bulk_create(batch)
            if progress:
                progress.advance(len(batch))
        if progress:
            progress.finish()

    def copy(
        self,
        model: type[models.Model],
        fields: dict[str, models.Field],
        given: list[str],
        defaults: dict[str, Any],
        rows: list[Row],
        progress: Progress | None,
    ) -> None:
        names = given + list(defaults)
        # Concrete fields always have a column.
        columns = ", ".join(
            connection.ops.quote_name(cast(str, fields[name].column)) for name in names
        )
        json_columns = {
            i for i, name in enumerate(names) if isinstance(fields[name], models.JSONField)
        }
        extra = tuple(defaults.values())
        dumps = json.dumps
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for count, row in enumerate(rows, start=1):
                values = [*row.values(), *extra]
                for i in json_columns:
                    value = values[i]
                    values[i] = "{}" if value == {} else dumps(value, ensure_ascii=False)
                copy.write_row(values)
                if progress and not count % 5000:
                    progress.advance(5000)
            if progress:
                progress.advance(len(rows) % 5000)
