"""Queries and actions behind the inbox pages (views stay thin)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from automation.labels import label_filter, label_search, with_teamwork
from automation.notes import merge_into_timeline
from messaging.db import db_safe
from messaging.ids import parse_id
from messaging.models import Contact, Conversation, InboxChange, Message
from messaging.search import search_words
from messaging.tasks import send_read_receipt
from staff.permissions import who_can_open

PAGE_SIZE = 30
TIMELINE_PAGE_SIZE = 50
# Reactions, edits and revokes are shown on the message they change, not as rows of their own.
TIMELINE_HIDDEN_TYPES = ("reaction", "edit", "revoke")
# Message search on PostgreSQL (message_text_condition): how many matching messages the
# index is asked for before the term counts as common, and in how many conversations they
# must lie for walking the list to find a page of them quickly.
SEARCH_PROBE = 1000
SEARCH_SPREAD = 100


# Keyset cursors: "<unix time with microseconds>_<id>", stable under concurrent inserts and
# as cheap on page 10,000 as on page 1 (no OFFSET).


def encode_cursor(moment, pk):
    return f"{moment.timestamp():.6f}_{pk}"


def decode_cursor(value):
    try:
        seconds, pk = (value or "").split("_")
        return datetime.fromtimestamp(float(seconds), tz=UTC), int(pk)
    except (ValueError, OverflowError, OSError):  # a tampered or far-off time: no cursor
        return None


@dataclass(frozen=True)
class ListFilters:
    assigned: str = "all"  # all | mine | unassigned
    state: str = "open"  # open | closed | all
    number: int | None = None
    q: str = ""
    label: int | None = None  # automation.Label id

    @classmethod
    def from_query(cls, params):
        assigned = params.get("assigned", "all")
        state = params.get("state", "open")
        return cls(
            assigned=assigned if assigned in {"all", "mine", "unassigned"} else "all",
            state=state if state in {"open", "closed", "all"} else "open",
            number=parse_id(params.get("number")),
            q=db_safe(params.get("q", "")).strip()[:100],
            label=parse_id(params.get("label")),
        )

    def as_query(self):
        items = {"assigned": self.assigned, "state": self.state}
        if self.number:
            items["number"] = self.number
        if self.q:
            items["q"] = self.q
        if self.label:
            items["label"] = self.label
        return items


def filtered_conversations(user, filters: ListFilters, matching=None):
    """The conversations the list shows; `matching` is search_condition(filters.q) when the
    caller has it already (on PostgreSQL building it costs a query)."""
    conversations = listed_conversations(user).filter(narrowing(user, filters))
    if filters.q:
        conversations = conversations.filter(
            search_condition(filters.q) if matching is None else matching
        )
    return conversations


def listed_conversations(user):
    """Every conversation the list may show `user`, before filters and search."""
    return Conversation.objects.visible_to(user).filter(last_message_at__isnull=False)


def narrowing(user, filters: ListFilters):
    """The list's filters other than the search, as one condition."""
    condition = Q()
    if filters.assigned == "mine":
        condition &= Q(assignee=user)
    elif filters.assigned == "unassigned":
        condition &= Q(assignee__isnull=True)
    if filters.state != "all":
        condition &= Q(state=filters.state)
    if filters.number:
        condition &= Q(business_number_id=filters.number)
    if filters.label:
        condition &= Q(label_filter(filters.label))
    return condition


def search_condition(q):
    """Contacts by name, username, phone or BSUID; conversations by any message's text."""
    people = (
        Q(profile_name__icontains=q)
        | Q(username__icontains=q.removeprefix("@"))
        | Q(user_id__iexact=q)
    )
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        people |= Q(wa_id__contains=digits)
    # A subquery, read once, rather than a join tested on every conversation walked.
    condition = Q(contact__in=Contact.objects.filter(people).values("pk"))
    return condition | message_text_condition(q) | Q(label_search(q))


def message_text_condition(q):
    """Conversations with a message whose text, or other words a person reads in it (a file's
    name, a shared contact's name, a place: messaging.search), contain `q` (any case, any
    script).

    On PostgreSQL the trigram indexes (messaging migrations 0006 and 0012) find the messages
    of a rare term at once, but fetching every row of a common one ("refund": 2% of a million
    messages) costs more than walking the list newest first and stopping at the page's end,
    where most conversations match. A bounded look through the indexes tells which it is.
    Terms too short to have trigrams walk. SQLite always walks, with plain icontains.
    """
    matches = Message.objects.containing(q)
    if connection.vendor != "postgresql":
        return Q(Exists(matches.filter(conversation=OuterRef("pk"))))
    if len(q) >= 3:
        found = list(matches.values_list("conversation_id", flat=True)[:SEARCH_PROBE])
        if len(found) < SEARCH_PROBE:
            return Q(pk__in=set(found))
        if len(set(found)) < SEARCH_SPREAD:
            # Many matches in few conversations: walking would pass most of the list.
            return Q(pk__in=matches.values("conversation_id"))
    # STRPOS, not LIKE: the indexes cannot serve it, and the planner's guess for it (a third
    # of the rows match) makes it test each conversation walked, stopping early.
    term = Upper(Value(q))
    walk = Message.objects.filter(
        Q(GreaterThan(StrIndex(Upper("text"), term), 0))
        | Q(GreaterThan(StrIndex(Upper(search_words()), term), 0)),
        conversation=OuterRef("pk"),
    )
    return Q(Exists(walk))


def conversation_page(user, filters: ListFilters, after=None, matching=None):
    """One page of the conversation list, newest activity first, and the next page's cursor."""
    conversations = filtered_conversations(user, filters, matching).select_related(
        "contact", "business_number", "assignee", "last_message"
    )
    conversations = with_teamwork(conversations)  # labels (one query) and priority
    position = decode_cursor(after)
    if position:
        moment, pk = position
        conversations = conversations.filter(
            Q(last_message_at__lt=moment) | Q(last_message_at=moment, pk__lt=pk)
        )
    rows = list(conversations.order_by("-last_message_at", "-pk")[: PAGE_SIZE + 1])
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = encode_cursor(rows[-1].last_message_at, rows[-1].pk)
    return rows, next_cursor


def changed_rows(user, filters: ListFilters, conversation_ids):
    """The rows of these conversations that the list, so filtered, shows (a poll's update:
    the others leave the list)."""
    conversations = (
        filtered_conversations(user, filters)
        .filter(pk__in=conversation_ids)
        .select_related("contact", "business_number", "assignee", "last_message")
    )
    return list(with_teamwork(conversations))


def unread_total(user):
    # Rows with nothing unread add nothing; leaving them out lets conversation_unread_idx
    # answer from the unread rows alone.
    total = (
        Conversation.objects.visible_to(user)
        .filter(state=Conversation.State.OPEN, unread_count__gt=0)
        .aggregate(total=Sum("unread_count"))["total"]
    )
    return total or 0


def timeline_page(conversation, before=None):
    """Up to a page of messages older than `before`, oldest first, and the cursor for more."""
    messages = (
        conversation.messages.exclude(type__in=TIMELINE_HIDDEN_TYPES)
        .select_related("sent_by")
        .order_by("-timestamp", "-pk")
    )
    position = decode_cursor(before)
    if position:
        moment, pk = position
        messages = messages.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, pk__lt=pk))
    page = list(messages[: TIMELINE_PAGE_SIZE + 1])
    older = None
    if len(page) > TIMELINE_PAGE_SIZE:
        page = page[:TIMELINE_PAGE_SIZE]
        older = encode_cursor(page[-1].timestamp, page[-1].pk)
    page.reverse()
    attach_quotes(page)
    # Internal notes among the messages, by time (one query).
    page = merge_into_timeline(conversation, page, before=position, reaches_start=not older)
    return page, older


def attach_quotes(messages):
    """Give each reply the message it quotes (one query for the whole page), if that is in
    the same conversation: a quote never shows what its page may not."""
    wamids = {m.reply_to_wamid for m in messages if m.reply_to_wamid}
    quoted = {}
    if wamids:
        found = Message.objects.filter(
            conversation_id=messages[0].conversation_id, wamid__in=wamids
        )
        quoted = {m.wamid: m for m in found}
    for message in messages:
        message.quoted = quoted.get(message.reply_to_wamid)


def messages_by_id(conversation, ids):
    messages = list(
        conversation.messages.filter(pk__in=ids)
        .exclude(type__in=TIMELINE_HIDDEN_TYPES)
        .select_related("sent_by")
        .order_by("timestamp", "pk")
    )
    attach_quotes(messages)
    return messages


def latest_change_id():
    return InboxChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# The change feed's cursor. PostgreSQL hands out ids when a row is inserted, not when it is
# committed: a transaction that inserted change 100 may commit after change 101 has been
# committed and polled. So a cursor is the highest change seen plus the ids below it that
# were missing ("gaps"), asked for again on each poll until they arrive or are older than
# any transaction takes (a rolled-back insert leaves a gap that never fills). A poll with
# nothing new stays one primary-key query: `id > after OR id BETWEEN first AND last ...`.
GAP_PATIENCE = timedelta(minutes=2)
MAX_GAPS = 20


@dataclass(frozen=True)
class Gap:
    first: int
    last: int
    until: int  # unix seconds: no longer waited for after this


@dataclass(frozen=True)
class ChangeCursor:
    after: int = 0
    gaps: tuple[Gap, ...] = ()

    @classmethod
    def parse(cls, since, gaps=""):
        """The cursor of a poll's `since` and `gaps` parameters; ValueError if malformed."""
        try:
            after = int(since)
            parsed = []
            for item in filter(None, (gaps or "").split(",")):
                span, until = item.split("@")
                first, last = span.split("-")
                parsed.append(Gap(int(first), int(last), int(until)))
        except ValueError:
            raise ValueError("not a change cursor") from None
        # 2**63: SQLite's largest integer; gaps only ever lie below the cursor.
        in_range = 0 <= after < 2**63 and len(parsed) <= MAX_GAPS
        if not in_range or any(not 0 < gap.first <= gap.last <= after for gap in parsed):
            raise ValueError("not a change cursor")
        return cls(after, tuple(parsed))

    @property
    def gaps_param(self):
        return ",".join(f"{gap.first}-{gap.last}@{gap.until}" for gap in self.gaps)


def current_cursor(now=None, recent=200):
    """The cursor for a page about to be rendered: read it before the page's content, so
    that a change committed meanwhile is polled (again) rather than lost."""
    rows = list(InboxChange.objects.order_by("-pk").values_list("pk", "created_at")[:recent])
    if not rows:
        return ChangeCursor()
    rows.reverse()
    return ChangeCursor(rows[-1][0], _new_gaps(rows[0][0], rows[1:], now or timezone.now()))


def changes_after(cursor, user, now=None, limit=500):
    """(conversation id, message id) pairs changed after `cursor` (or filling its gaps) in
    conversations `user` may see, and the next cursor.

    For someone limited to some numbers, the changes of other numbers are not there at all:
    the answer is the same as if nothing had happened (no row to drop, no cursor moved), and
    their ids look like gaps, asked for again until they expire like any other.
    """
    condition = Q(pk__gt=cursor.after)
    for gap in cursor.gaps:
        condition |= Q(pk__range=(gap.first, gap.last))
    rows = list(
        InboxChange.objects.visible_to(user)
        .filter(condition)
        .order_by("pk")
        .values_list("pk", "conversation_id", "message_id", "created_at")[:limit]
    )
    if not rows:
        return [], cursor
    now = now or timezone.now()
    found = {row[0] for row in rows}
    kept = [
        part for gap in cursor.gaps if gap.until > now.timestamp() for part in _without(gap, found)
    ]
    newer = [(pk, created_at) for pk, _c, _m, created_at in rows if pk > cursor.after]
    gaps = kept + _new_gaps(cursor.after, newer, now)
    after = newer[-1][0] if newer else cursor.after
    return [(c, m) for _, c, m, _at in rows], ChangeCursor(after, tuple(gaps[-MAX_GAPS:]))


def _new_gaps(start, rows, now):
    """The ids missing between `start` and each of `rows` ((id, created_at), ascending),
    while still worth waiting for: their ids were handed out before the row above them."""
    gaps, previous = [], start
    for pk, created_at in rows:
        until = created_at + GAP_PATIENCE
        if pk > previous + 1 and until > now:
            gaps.append(Gap(previous + 1, pk - 1, int(until.timestamp())))
        previous = pk
    return gaps


def _without(gap, found):
    """What is left of `gap` once the ids in `found` have arrived."""
    parts, first = [], gap.first
    for pk in sorted(pk for pk in found if gap.first <= pk <= gap.last):
        if pk > first:
            parts.append(Gap(first, pk - 1, gap.until))
        first = pk + 1
    if first <= gap.last:
        parts.append(Gap(first, gap.last, gap.until))
    return parts


def staff_choices(conversation):
    """Whom the conversation may be assigned to: active staff who can open it, the rule that
    routing rules and round-robin follow too (staff.permissions.who_can_open)."""
    staff = get_user_model().objects.filter(is_staff=True)
    return who_can_open(staff, conversation).order_by("first_name", "username")


# Actions. Each is one conditional UPDATE plus an announcement, in one transaction.


def _update(conversation, **changes):
    with transaction.atomic():
        updated = Conversation.objects.filter(pk=conversation.pk).update(**changes)
        if updated:
            InboxChange.objects.record(conversation.pk)
    for name, value in changes.items():
        setattr(conversation, name, value)


def assign(conversation, assignee):
    _update(conversation, assignee=assignee)


def set_state(conversation, state):
    _update(conversation, state=state)


def mark_read(conversation):
    """Read the conversation for the whole team and (unless switched off) tell the customer
    with one read receipt for their newest message, which covers the others. True if this
    call read it: of several pages posting at once, the conditional UPDATE lets one alone find
    it unread, so one receipt goes out each time it turns read."""
    read_now = False
    if conversation.unread_count:
        with transaction.atomic():
            read_now = bool(
                Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(
                    unread_count=0
                )
            )
            if read_now:
                InboxChange.objects.record(conversation.pk)
                if settings.WHATSAPP_READ_RECEIPTS:
                    queue_read_receipt(conversation)
        conversation.unread_count = 0
    return read_now


def queue_read_receipt(conversation):
    newest = (
        conversation.messages.filter(direction=Message.Direction.INBOUND, wamid__isnull=False)
        .order_by("-timestamp", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if newest:
        transaction.on_commit(lambda: send_read_receipt.enqueue(newest))


def mark_unread(conversation):
    _update(conversation, unread_count=max(conversation.unread_count, 1))
