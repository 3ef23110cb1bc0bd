"""Template filters for the inbox: `{% load inbox_tags %}`."""

from django import template
from django.conf import settings
from django.utils import timezone

from inbox import formatting

register = template.Library()


@register.filter
def whatsapp(text):
    """Message text with WhatsApp's formatting, as safe HTML (put it in a div, not a p)."""
    return formatting.whatsapp_to_html(text)


@register.filter
def preview(message):
    """A one-line plain-text summary of a message for the conversation list."""
    if message is None:
        return ""
    return formatting.message_preview(message)


@register.filter
def phone(wa_id):
    """A wa_id as "+966 50 123 4567"; BSUIDs unchanged."""
    return formatting.format_phone(wa_id)


@register.filter
def filesize(size):
    """A byte count as "1.2 MB"."""
    return formatting.human_size(size)


@register.filter
def window_left(conversation):
    """What is left of a conversation's 24-hour window ("23 h left"), or "" when closed."""
    last_inbound_at = getattr(conversation, "last_inbound_at", None)
    remaining = formatting.window_remaining(last_inbound_at, timezone.now())
    return formatting.describe_remaining(remaining)


@register.filter
def map_url(location):
    """An https OpenStreetMap link for a location message's data, or "" if it has none."""
    return formatting.map_url(location)


# config/settings.py reads INBOX_POLL_SECONDS from the environment; 2 s keeps changes on
# screen within 3 s.
DEFAULT_POLL_SECONDS = 2


@register.simple_tag
def poll_seconds():
    """How often an open inbox page asks what changed, in seconds."""
    return getattr(settings, "INBOX_POLL_SECONDS", DEFAULT_POLL_SECONDS)
