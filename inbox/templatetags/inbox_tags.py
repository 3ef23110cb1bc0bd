"""Template filters and tags for the inbox: `{% load inbox_tags %}` (the filters the Jinja2
partials share are in inbox.filters)."""

from datetime import timedelta
from functools import lru_cache

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language

from inbox import filters, formatting, icons, jinja
from messaging.account_health.wording import describe
from messaging.models import AccountEvent
from messaging.phones import format_phone
from staff import permissions

register = template.Library()

# The most account problems a page shows at once: every one of a few numbers, and a bound on
# the page whatever Meta reports.
ACCOUNT_ALERTS_SHOWN = 10


register.filter("whatsapp", filters.whatsapp)
register.filter("preview", filters.preview)
register.filter("map_url", filters.map_url)
register.filter("window_left", filters.window_left)
register.filter("window_closes", filters.window_closes)
register.filter("priority_of", filters.priority_of)
register.simple_tag(icons.icon, name="icon")


@register.filter
def phone(wa_id):
    """A wa_id as "+966 50 123 4567"; BSUIDs unchanged."""
    return format_phone(wa_id)


@register.filter
def filesize(size):
    """A byte count as "1.2 MB"."""
    return formatting.human_size(size)


@register.simple_tag
def server_now():
    """The server's time in milliseconds since the epoch: inbox.js counts windows down by it,
    whatever the staff member's own clock says."""
    return int(timezone.now().timestamp() * 1000)


@register.simple_tag
def window_labels():
    """Every wording of the time left in a window, for inbox.js to count down with the
    server's words (and plural forms): {"hours": [1 h … 24 h], "minutes": [1 … 59 min],
    "under_a_minute": …}."""
    return _window_labels(get_language())


@lru_cache(maxsize=8)
def _window_labels(language):
    def left(**duration):
        return formatting.describe_remaining(timedelta(**duration))

    return {
        "hours": [left(hours=hours) for hours in range(1, 25)],
        "minutes": [left(minutes=minutes) for minutes in range(1, 60)],
        "under_a_minute": left(seconds=1),
    }


@register.simple_tag
def poll_seconds():
    """How often an open inbox page asks what changed, in seconds."""
    return settings.INBOX_POLL_SECONDS


@register.simple_tag(takes_context=True)
def message_bubble(context, message):
    """A message of the timeline, rendered by Jinja2 (inbox/jinja.py explains why)."""
    return jinja.render(
        "inbox/bubble.html",
        {
            "m": message,
            "can_reply": context.get("can_reply"),
            "filter_query": context.get("filter_query", ""),
            "reactions": context.get("reactions", ""),
            "csrf_input": csrf_input(context),
        },
    )


@register.simple_tag(takes_context=True)
def conversation_row(context, conversation):
    """A row of the conversation list, rendered by Jinja2 (inbox/jinja.py explains why)."""
    return jinja.render(
        "inbox/row.html",
        {
            "c": conversation,
            "open_pk": context.get("open_pk"),
            "filter_query": context.get("filter_query", ""),
            "several_numbers": len(context.get("numbers") or ()) > 1,
        },
    )


@register.inclusion_tag("inbox/account_alerts.html", takes_context=True)
def account_alerts(context):
    """The account, number and template problems in force (a ban, a restriction, a review, a
    number flagged or its limit lowered, a template flagged or paused), for those who may
    see them and about the numbers they may see: one query; none without the permission."""
    user = context["request"].user
    if not permissions.can_see_account_events(user):
        return {"alerts": []}
    events = (
        AccountEvent.objects.visible_to(user)
        .active()
        .select_related("business_number", "template")[:ACCOUNT_ALERTS_SHOWN]
    )
    return {"alerts": [(event, describe(event)) for event in events]}


def csrf_input(context):
    """What {% csrf_token %} writes, with the token of this render."""
    token = str(context.get("csrf_token") or "")
    if not token or token == "NOTPROVIDED":  # noqa: S105 - Django's marker for no token
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
