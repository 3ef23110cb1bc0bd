"""Dates as staff read them, in the organisation's time zone."""

from datetime import timedelta
from functools import lru_cache

from django import template
from django.template.defaultfilters import date as format_date
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def short_when(moment):
    """List rows: the time today, "Yesterday", the weekday this week, else the date."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    if local.date() == today:
        return format_date(local, "H:i")
    return _short_day(local.date(), today, get_language())


@register.filter
def day_label(moment):
    """Timeline day separators: "Today", "Yesterday", or the full date."""
    return _day_label(timezone.localtime(moment).date(), timezone.localdate(), get_language())


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


@register.filter
def moment(value):
    return Moment(value)


@register.filter
def epoch_micros(moment):
    """A sortable integer for placing live-inserted messages in Meta-timestamp order."""
    return int(moment.timestamp() * 1_000_000) if moment else 0
