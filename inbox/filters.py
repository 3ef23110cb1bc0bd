"""The inbox's template filters as plain functions, for both template engines: the Django
libraries (`{% load inbox_tags %}`, `{% load inbox_time %}`) and the Jinja2 environment of
the hottest partials (inbox/jinja.py) register them from here, so a filter reads the same in
either kind of template.

Dates are shown as staff read them, in the organisation's time zone.
"""

from datetime import timedelta
from functools import lru_cache

from django.template.defaultfilters import date as format_date
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from automation.engine import AUTOMATIC_REPLY
from inbox import formatting
from messaging.models import window_remaining

# Messages and conversations.


def whatsapp(text):
    """Message text with WhatsApp's formatting, as safe HTML (put it in a div, not a p)."""
    return formatting.whatsapp_to_html(text)


def preview(message):
    """A one-line plain-text summary of a message for the conversation list."""
    if message is None:
        return ""
    return formatting.message_preview(message)


def sender_label(message):
    """Who wrote a list row's last message, when it was not the customer: "You:" for staff,
    "Automatic reply:" for automation's (so that it does not pass for a person's answer)."""
    if message is None or message.direction != "out":
        return ""
    data = message.data if isinstance(message.data, dict) else {}
    return _("Automatic reply:") if data.get(AUTOMATIC_REPLY) else _("You:")


def map_url(location):
    """An https OpenStreetMap link for a location message's data, or "" if it has none."""
    return formatting.map_url(location)


def window_left(conversation):
    """What is left of a conversation's 24-hour window ("23 h left"), or "" when closed."""
    last_inbound_at = getattr(conversation, "last_inbound_at", None)
    remaining = window_remaining(last_inbound_at, timezone.now())
    return formatting.describe_remaining(remaining)


def window_closes(conversation):
    """When the 24-hour window closes, in milliseconds since the epoch (for inbox.js), or ""."""
    closes = conversation.window_closes_at()
    return int(closes.timestamp() * 1000) if closes else ""


def priority_of(conversation):
    """The conversation's priority, or None when it has none: a template lookup of
    `c.priority` would raise and search the object's attributes on every such row."""
    return getattr(conversation, "priority", None)


# Dates and times.


def short_when(moment):
    """List rows: the time today, "Yesterday", the weekday this week, else the date."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    if local.date() == today:
        return format_date(local, "H:i")
    return _short_day(local.date(), today, get_language())


def day_label(moment):
    """Timeline day separators: "Today", "Yesterday", or the full date."""
    return _day_label(timezone.localtime(moment).date(), timezone.localdate(), get_language())


def epoch_micros(moment):
    """A sortable integer for placing live-inserted messages in Meta-timestamp order."""
    return int(moment.timestamp() * 1_000_000) if moment else 0


# A page shows the same few days on every row and message: each is worded once per day and
# language (the language is part of the key because the wording depends on it).


@lru_cache(maxsize=512)
def _short_day(day, today, language):
    if day == today - timedelta(days=1):
        return _("Yesterday")
    if today - day < timedelta(days=7):
        return format_date(day, "l")
    return format_date(day, "j M Y" if day.year != today.year else "j M")


@lru_cache(maxsize=512)
def _day_label(day, today, language):
    if day == today:
        return _("Today")
    if day == today - timedelta(days=1):
        return _("Yesterday")
    return format_date(day, "l j F Y")


class Moment:
    """A timeline item's time in every form its markup needs, converted to local time once
    (each `date` filter would convert and parse its format again). The same strings as
    `date:'Y-m-d'`, `date:'c'`, `time:"H:i"`, `date:'DATETIME_FORMAT'`, `day_label` and
    `epoch_micros`."""

    def __init__(self, value):
        self.value = value
        self.local = timezone.localtime(value)

    @property
    def day(self):
        return f"{self.local.year:04d}-{self.local.month:02d}-{self.local.day:02d}"

    @property
    def iso(self):
        return self.local.isoformat()

    @property
    def clock(self):
        return f"{self.local.hour:02d}:{self.local.minute:02d}"

    @property
    def full(self):
        return format_date(self.local, "DATETIME_FORMAT")

    @property
    def day_label(self):
        return _day_label(self.local.date(), timezone.localdate(), get_language())

    @property
    def sort(self):
        return epoch_micros(self.value)


def moment(value):
    """`value` as a Moment (Django's filters cannot be classes)."""
    return Moment(value)
