"""Reactions, edits and revokes: messages about another message, applied to it.

Idempotent and order-independent: an annotation that arrives before its target waits, and
is applied when the target arrives.
"""

from collections.abc import Iterable

from messaging.models import Message


def apply_annotation(annotation: Message, target: Message) -> bool:
    """Apply a reaction, edit or revoke to the message it targets (idempotent).

    Returns whether the target changed.
    """
    if annotation.conversation_id != target.conversation_id or target.revoked_at:
        return False
    if target.content_redacted_at:
        return False  # its content is gone under retention policy: nothing to add back
    if annotation.type == "reaction":
        if not _is_latest_reaction(annotation, target):
            return False  # an older reaction (or un-reaction) arriving late changes nothing
        who = "contact" if annotation.direction == Message.Direction.INBOUND else "business"
        emoji = annotation.data.get("emoji", "")
        reactions = {**target.reactions}
        if emoji:
            reactions[who] = emoji
        else:
            reactions.pop(who, None)  # an un-reaction
        if reactions == target.reactions:
            return False
        target.reactions = reactions
        target.save(update_fields=["reactions"])
    elif annotation.type == "edit":
        if target.edited_at and target.edited_at >= annotation.timestamp:
            return False  # an older edit arriving late must not undo a newer one
        edited = annotation.data.get("message", {})
        target.text = annotation.text
        target.data = {**target.data, **edited.get("data", {})}
        target.edited_at = annotation.timestamp
        target.save(update_fields=["text", "data", "edited_at"])
    elif annotation.type == "revoke":
        # The sender deleted it for everyone: keep that it existed, not what it said.
        target.text = ""
        target.data = {}
        target.revoked_at = annotation.timestamp
        target.save(update_fields=["text", "data", "revoked_at"])
    else:
        return False
    return True


def _is_latest_reaction(annotation: Message, target: Message) -> bool:
    """Whether `annotation` is its reactor's newest reaction to `target`, by Meta's timestamp
    (then arrival): each reaction replaces the one before, in whatever order they arrive.
    Outbound reactions count once Meta has accepted them (they have a wamid)."""
    newest = (
        Message.objects.filter(
            conversation_id=target.conversation_id,
            target_wamid=target.wamid,
            type="reaction",
            direction=annotation.direction,
            wamid__isnull=False,
        )
        .order_by("-timestamp", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return newest in (None, annotation.pk)


def apply_waiting_annotations(messages: Iterable[Message]) -> None:
    """Apply the reactions, edits and revokes that arrived before these new messages
    (delivery is unordered): one query, on the partial index message_target_idx, nearly
    always empty."""
    targets = {message.wamid: message for message in messages}
    if not targets:
        return
    waiting = Message.objects.filter(target_wamid__in=targets).order_by("timestamp", "pk")
    for annotation in waiting:
        apply_annotation(annotation, targets[annotation.target_wamid])
