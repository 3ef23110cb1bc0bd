"""Template tags behind the inbox's teamwork parts (inbox/templates/inbox/teamwork/):
`{% load teamwork %}`. Each costs at most one query, whatever the amount of data."""

from django import template
from django.contrib.auth import get_user_model
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from automation.models import Label, QuickReplyText
from automation.notes import MENTION, notes_for_poll
from automation.text import fill, pick_variant, script_language
from staff.permissions import who_can_open

register = template.Library()


@register.simple_tag(takes_context=True)
def all_labels(context):
    """Every label, by name (read once per request)."""
    request = context.get("request")
    cached = getattr(request, "_teamwork_labels", None)
    if cached is None:
        cached = list(Label.objects.order_by("name"))
        if request is not None:
            request._teamwork_labels = cached
    return cached


@register.simple_tag
def conversation_labels(conversation):
    return list(conversation.labels.order_by("name"))


def answer_language(timeline, fallback):
    """The customer's language as shown on the page: the script of their latest text in the
    timeline (automation.text), else the staff member's interface language."""
    for item in reversed(timeline or []):
        if getattr(item, "direction", None) == "in" and item.text:
            language = script_language(item.text)
            if language:
                return language
    return fallback


@register.simple_tag(takes_context=True)
def quick_replies(context, conversation):
    """The active quick replies, each in the customer's language, placeholders filled in for
    this conversation and this member of staff: [{"shortcut", "title", "text", "language"}]."""
    request = context.get("request")
    user = getattr(request, "user", None)
    language = answer_language(context.get("timeline"), get_language() or "en")
    grouped = {}
    for variant in QuickReplyText.objects.filter(quick_reply__is_active=True).select_related(
        "quick_reply"
    ):
        grouped.setdefault(variant.quick_reply, {})[variant.language] = variant
    choices = []
    for quick_reply, variants in sorted(grouped.items(), key=lambda item: item[0].shortcut):
        variant = pick_variant(variants, language)
        choices.append(
            {
                "shortcut": quick_reply.shortcut,
                "title": quick_reply.title,
                "language": variant.language,
                "text": fill(variant.text, contact=conversation.contact, agent=user),
            }
        )
    return choices


@register.simple_tag
def mention_choices(conversation, listed=None):
    """Colleagues who can be @mentioned: those who can open the conversation the note is on
    (a mention of anyone else reaches nobody: they could not read it). `listed`: the same
    people when the page has them already (the assignee menu), not asked for twice."""
    if listed:
        return listed
    staff = get_user_model().objects.filter(is_staff=True)
    return list(
        who_can_open(staff, conversation)
        .order_by("first_name", "username")
        .only("pk", "username", "first_name", "last_name")
    )


@register.simple_tag(takes_context=True)
def poll_notes(context, conversation):
    request = context.get("request")
    try:
        since = int(request.GET.get("since", ""))
    except (AttributeError, ValueError):
        return []
    return notes_for_poll(conversation, since)


@register.filter
def note_text(text):
    """A note's text, escaped, with line breaks and @mentions marked."""
    escaped = str(escape(text or ""))
    marked = MENTION.sub(
        lambda match: str(format_html('<span class="mention">@{}</span>', match.group(1))),
        escaped,
    )
    return mark_safe(marked.replace("\n", "<br>"))  # noqa: S308 - built from escaped text
