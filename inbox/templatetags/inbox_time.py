"""Dates as staff read them, in the organisation's time zone."""

from datetime import timedelta

from django import template
from django.template.defaultfilters import date as format_date
from django.utils import timezone
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
    if local.date() == today - timedelta(days=1):
        return _("Yesterday")
    if today - local.date() < timedelta(days=7):
        return format_date(local, "l")
    return format_date(local, "j M Y" if local.year != today.year else "j M")


@register.filter
def day_label(moment):
    """Timeline day separators: "Today", "Yesterday", or the full date."""
    local = timezone.localtime(moment)
    today = timezone.localdate()
    if local.date() == today:
        return _("Today")
    if local.date() == today - timedelta(days=1):
        return _("Yesterday")
    return format_date(local, "l j F Y")


@register.filter
def epoch_micros(moment):
    """A sortable integer for placing live-inserted messages in Meta-timestamp order."""
    return int(moment.timestamp() * 1_000_000) if moment else 0
