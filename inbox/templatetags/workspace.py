"""Template tags of the conversation workspace (the header and the contact panel):
`{% load workspace %}`. Each costs one query, whatever the amount of data, and only when the
part that needs it is rendered."""

from django import template

from automation.models import Label, Note
from messaging.models import Conversation
from privacy.models import DeletionRequest

register = template.Library()

# What the contact panel lists at most: a glance, not an archive.
OTHER_CONVERSATIONS_SHOWN = 10
RECENT_NOTES_SHOWN = 3


@register.simple_tag
def open_deletion_request(conversation):
    """The customer's open deletion request, if any: the header shows it until it is handled.
    Read once per conversation object: the header and the contact panel both ask."""
    try:
        return conversation._open_deletion_request
    except AttributeError:
        pass
    conversation._open_deletion_request = (
        DeletionRequest.objects.open()
        .filter(contact_id=conversation.contact_id)
        .order_by("received_at")
        .first()
    )
    return conversation._open_deletion_request


def contact_conversations(user, conversation):
    """The contact's conversations this person may open (every business number they wrote to)."""
    return Conversation.objects.visible_to(user).filter(contact_id=conversation.contact_id)


@register.simple_tag(takes_context=True)
def other_conversations(context, conversation):
    return list(
        contact_conversations(context["request"].user, conversation)
        .exclude(pk=conversation.pk)
        .select_related("business_number")
        .order_by("-last_message_at")[:OTHER_CONVERSATIONS_SHOWN]
    )


@register.simple_tag(takes_context=True)
def contact_labels(context, conversation):
    """Labels on any of the contact's conversations this person may open."""
    conversations = contact_conversations(context["request"].user, conversation)
    return list(Label.objects.filter(conversations__in=conversations).distinct().order_by("name"))


@register.simple_tag(takes_context=True)
def recent_notes(context, conversation):
    """The latest notes staff wrote about this contact, in any conversation this person may open."""
    conversations = contact_conversations(context["request"].user, conversation)
    return list(
        Note.objects.filter(conversation__in=conversations, kind=Note.Kind.NOTE)
        .select_related("author", "conversation__business_number")
        .order_by("-created_at")[:RECENT_NOTES_SHOWN]
    )
