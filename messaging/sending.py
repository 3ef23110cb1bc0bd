"""Outbound messages: a pending row first, the Graph API call after commit, in a task.

Every kind of outbound message (text, reaction, media, template) is created by
`queue_outbound()`; the sending task (messaging.tasks) turns the row into the Cloud API
request body (messaging.outbound).
"""

from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging import signals
from messaging.models import Conversation, InboxChange, Message
from messaging.tasks import enqueue_send

# WhatsApp's limit for a text message body.
MAX_TEXT_LENGTH = 4096


class ReplyRefused(Exception):
    """The message cannot be sent; the text says why, for the person who tried."""


def queue_outbound(
    conversation: Conversation,
    user: User | None,
    *,
    type: str,
    text: str = "",
    data: dict[str, Any] | None = None,
    client_token: UUID | None = None,
    reply_to: Message | None = None,
) -> Message:
    """Record an outbound message as pending and send it once the transaction commits.

    A repeated `client_token` (a double submit) returns the message the first call created.
    Outside the 24-hour customer-service window only templates may be sent.
    """
    if client_token and (existing := Message.objects.filter(client_token=client_token).first()):
        return existing
    if type != "template" and not conversation.window_is_open():
        raise ReplyRefused(
            _(
                "The 24-hour window for free-form replies has closed. Only an approved "
                "template can be sent until the customer writes again."
            )
        )
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation,
                direction=Message.Direction.OUTBOUND,
                type=type,
                text=text,
                data=data or {},
                timestamp=timezone.now(),
                status=Message.Status.PENDING,
                sent_by=user,
                client_token=client_token,
                reply_to_wamid=reply_to.wamid if reply_to and reply_to.wamid else "",
                target_wamid=(data or {}).get("target_wamid", ""),
            )
            if type != "reaction":
                Conversation.record_activity([message])
            InboxChange.objects.record(conversation.pk, message.pk)
            if user is not None:
                signals.reply_queued.send(
                    sender=queue_outbound, message=message, conversation=conversation, user=user
                )
            transaction.on_commit(lambda: enqueue_send(message.pk))
    except IntegrityError:
        if client_token and (existing := Message.objects.filter(client_token=client_token).first()):
            return existing  # the same form submitted twice at once
        raise
    return message


def queue_text_reply(
    conversation: Conversation,
    user: User | None,
    text: str,
    *,
    client_token: UUID | None = None,
    reply_to: Message | None = None,
) -> Message:
    text = (text or "").strip()
    if not text:
        raise ReplyRefused(_("Write a message first."))
    if len(text) > MAX_TEXT_LENGTH:
        raise ReplyRefused(
            _("WhatsApp messages can be at most %(limit)d characters.") % {"limit": MAX_TEXT_LENGTH}
        )
    return queue_outbound(
        conversation, user, type="text", text=text, client_token=client_token, reply_to=reply_to
    )


def queue_reaction(
    conversation: Conversation,
    user: User | None,
    target: Message,
    emoji: str,
    *,
    client_token: UUID | None = None,
) -> Message:
    """React to `target` (a message with a wamid) with `emoji`; "" removes our reaction."""
    if not target.wamid or target.conversation_id != conversation.pk:
        raise ReplyRefused(_("This message cannot be reacted to."))
    return queue_outbound(
        conversation,
        user,
        type="reaction",
        data={"emoji": emoji, "target_wamid": target.wamid},
        client_token=client_token,
    )
