"""Internal notes: staff-only text in a conversation's timeline, and automation's records.

Notes are their own table, never Message rows: the sending pipeline only ever reads messages,
so a note cannot reach WhatsApp. The timeline shows them among the messages by time
(`merge_into_timeline`, one query per page whatever the number of notes), and open pages
learn of new ones through the usual change feed (`InboxChange.objects.record`).
"""

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from automation.models import Note, StaffNotification
from automation.notifications import notify
from messaging.models import InboxChange

NOTE_LIMIT = Note._meta.get_field("text").max_length
# "@salma", "@amina.k" (usernames may hold letters, digits and @ . + - _); not e-mail addresses.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]*\w)")
MAX_MENTIONS = 20
# A page's notes: more than this between two messages are cut to the newest ones.
NOTES_PER_PAGE = 200
# Poll answers re-send notes this recent (a note is written a moment before its change row).
POLL_SLACK = timedelta(minutes=2)


class NoteRefused(Exception):
    """The note cannot be saved; the text says why."""


def mentioned_users(text, author=None):
    """Active staff whose usernames are @mentioned in `text` (not the author)."""
    names = {match.group(1).casefold() for match in MENTION.finditer(text or "")}
    if not names:
        return []
    condition = Q()
    for name in sorted(names)[:MAX_MENTIONS]:
        condition |= Q(username__iexact=name)
    users = get_user_model().objects.filter(condition, is_active=True, is_staff=True)
    if author is not None:
        users = users.exclude(pk=author.pk)
    return list(users.order_by("pk"))


def add_note(conversation, author, text):
    """Save a note by `author`; e-mail everyone it mentions once the transaction commits."""
    text = (text or "").strip()
    if not text:
        raise NoteRefused(_("Write a note first."))
    if len(text) > NOTE_LIMIT:
        raise NoteRefused(_("A note can be at most %(limit)d characters.") % {"limit": NOTE_LIMIT})
    if "\x00" in text:  # never typed; and PostgreSQL refuses it in text
        raise NoteRefused(_("Null characters are not allowed."))
    mentioned = mentioned_users(text, author)
    with transaction.atomic():
        note = Note.objects.create(
            conversation=conversation, kind=Note.Kind.NOTE, author=author, text=text
        )
        if mentioned:
            note.mentions.add(*mentioned)
        InboxChange.objects.record(conversation.pk)
        for user in mentioned:
            notify(user, StaffNotification.Kind.MENTIONED, conversation, actor=author)
    return note


def record(conversation, event, **details):
    """A system note: what automation did, shown in the timeline (worded when displayed)."""
    note = Note.objects.create(
        conversation=conversation, kind=Note.Kind.SYSTEM, event=event, details=details
    )
    InboxChange.objects.record(conversation.pk)
    return note


def merge_into_timeline(conversation, page, *, before=None, reaches_start=True):
    """The notes that belong between the messages of one timeline page, merged in by time.

    `page`: the page's messages, oldest first; `before`: the (moment, pk) cursor the page was
    read before (None: the newest page, so notes after its last message belong to it too);
    `reaches_start`: no older page exists (so notes before its first message belong to it).
    """
    notes = Note.objects.filter(conversation=conversation).select_related("author")
    if page and not reaches_start:
        notes = notes.filter(created_at__gte=page[0].timestamp)
    if before is not None:
        notes = notes.filter(created_at__lt=before[0])
    chosen = list(notes.order_by("-created_at", "-pk")[:NOTES_PER_PAGE])
    if not chosen:
        return page
    return sorted(
        [*page, *chosen],
        key=lambda item: (item.timestamp, isinstance(item, Note), item.pk),
    )


def notes_for_poll(conversation, since_change):
    """Notes to (re)send to a page that polled from change `since_change`: those written
    around or after the conversation's first change since then (none when only messages
    changed)."""
    first = (
        InboxChange.objects.filter(
            pk__gt=since_change, conversation=conversation, message__isnull=True
        )
        .order_by("pk")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        return []
    return list(
        Note.objects.filter(conversation=conversation, created_at__gte=first - POLL_SLACK)
        .select_related("author")
        .order_by("created_at", "pk")[:NOTES_PER_PAGE]
    )
