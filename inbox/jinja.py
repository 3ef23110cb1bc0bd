"""The Jinja2 environment of the inbox's two hottest partials: a message in the timeline
(inbox/jinja2/inbox/bubble.html) and a row of the conversation list (…/row.html).

A conversation page shows 50 messages and 30 rows. In Django's template language they were
most of its time (some 45 variable lookups through the template resolver and a reverse() per
link, for each message); Jinja2 compiles the same markup to Python. Templates went from about
90 to 56 ms of the page under cProfile, and the page's p95 under load from 86 to 70 ms
(docs/benchmarks.md, "Conversation page and poll").

Everything else stays in Django templates, which include these two through the
`message_bubble` and `conversation_row` tags (inbox_tags).

Wording comes from the same catalogue: `_()` with a literal string, which `makemessages`
extracts from these .html files as it does from Django templates; plurals are worded in
Python (inbox.formatting) for the same reason. A missing attribute renders as nothing, as
in Django templates (ChainableUndefined, set in settings.TEMPLATES).
"""

from functools import lru_cache

from django.template import engines
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext
from jinja2 import Environment

from inbox import filters, formatting, icons


def translate(message):
    """gettext, remembered per language: a message shows a dozen labels, and Django looks
    each up through every catalogue each time (8 µs, a third of a message's rendering)."""
    return _translated(get_language(), message)


@lru_cache(maxsize=1024)
def _translated(language, message):
    return gettext(message)


def url(name, *args):
    return reverse(name, args=args)


def environment(**options):
    # Always escaped, whatever the settings say: these render message text from anyone.
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    env.globals |= {"_": translate, "url": url, "moment": filters.moment, "icon": icons.icon}
    env.filters |= {
        "whatsapp": filters.whatsapp,
        "preview": filters.preview,
        "sender_label": filters.sender_label,
        "map_url": filters.map_url,
        "https_link": formatting.https_link,
        "filesizeformat": filesizeformat,
        "window_left": filters.window_left,
        "window_closes": filters.window_closes,
        "epoch_micros": filters.epoch_micros,
        "short_when": filters.short_when,
        "order_summary": formatting.order_summary,
        "unread_label": formatting.unread_label,
        "reported_errors": formatting.reported_errors,
        "priority_of": filters.priority_of,
    }
    return env


def render(name, context):
    """`name` (under a jinja2/ folder) rendered with `context`, as safe HTML."""
    html = engines["jinja2"].env.get_template(name).render(context)
    return mark_safe(html)  # noqa: S308 - the environment escapes everything (autoescape)
