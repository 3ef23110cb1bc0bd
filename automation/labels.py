"""Labels on conversations, and what the conversation list needs of them."""

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch

from automation.models import ConversationLabel, Label
from messaging.models import InboxChange


def with_teamwork(conversations):
    """The list's rows with their labels (one extra query for the whole page, whatever its
    size) and priority (joined)."""
    # A list (row_labels), not the related manager: building a manager for every row
    # costs more than rendering the row's labels.
    return conversations.select_related("priority").prefetch_related(
        Prefetch("labels", queryset=Label.objects.order_by("name"), to_attr="row_labels")
    )


def label_filter(label_id):
    """Conversations carrying the label (served by conversation_label_unique)."""
    return Exists(ConversationLabel.objects.filter(conversation=OuterRef("pk"), label_id=label_id))


def label_search(q):
    """Search by label: conversations carrying a label named `q` (any case)."""
    return Exists(
        ConversationLabel.objects.filter(conversation=OuterRef("pk"), label__name__iexact=q)
    )


def add_label(conversation, label, *, by=None):
    """Put `label` on the conversation; returns whether it was not there yet."""
    try:
        with transaction.atomic():
            ConversationLabel.objects.create(conversation=conversation, label=label, added_by=by)
            InboxChange.objects.record(conversation.pk)
    except IntegrityError:
        return False  # already there (maybe added at the same moment by someone else)
    return True


def remove_label(conversation, label):
    with transaction.atomic():
        removed, _ = ConversationLabel.objects.filter(
            conversation=conversation, label=label
        ).delete()
        if removed:
            InboxChange.objects.record(conversation.pk)
    return bool(removed)
