"""Staff replies: a pending message row first, the Graph API call after commit, in a task."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.changes import announce
from messaging.ingest import record_activity
from messaging.models import Message

# WhatsApp's limit for a text message body.
MAX_TEXT_LENGTH = 4096


class ReplyRefused(Exception):
    """The reply cannot be sent; the message says why, for the person who tried."""


def queue_text_reply(conversation, user, text, *, client_token=None, reply_to=None):
    """Record a text reply as pending and send it once the transaction commits.

    A repeated `client_token` (a double submit) returns the message the first call created.
    Outside the 24-hour customer-service window free text is refused: only approved
    templates may be sent then.
    """
    text = (text or "").strip()
    if not text:
        raise ReplyRefused(_("Write a message first."))
    if len(text) > MAX_TEXT_LENGTH:
        raise ReplyRefused(
            _("WhatsApp messages can be at most %(limit)d characters.") % {"limit": MAX_TEXT_LENGTH}
        )
    if client_token and (existing := Message.objects.filter(client_token=client_token).first()):
        return existing
    if not conversation.window_is_open():
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
                type="text",
                text=text,
                timestamp=timezone.now(),
                status=Message.Status.PENDING,
                sent_by=user,
                client_token=client_token,
                reply_to_wamid=reply_to.wamid if reply_to and reply_to.wamid else "",
            )
            record_activity(conversation, message)
            announce(conversation.pk, message.pk)
            transaction.on_commit(lambda: enqueue_send(message.pk))
    except IntegrityError:
        if client_token and (existing := Message.objects.filter(client_token=client_token).first()):
            return existing  # the same form submitted twice at once
        raise
    return message


def enqueue_send(message_id):
    from messaging.tasks import send_message

    send_message.enqueue(message_id)


def graph_payload(message):
    """The Cloud API request body for an outbound text message."""
    contact = message.conversation.contact
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    if contact.wa_id:
        payload["to"] = contact.wa_id
    else:
        payload["recipient"] = contact.user_id  # a username user: known only by BSUID
    payload |= {"type": "text", "text": {"body": message.text, "preview_url": True}}
    if message.reply_to_wamid:
        payload["context"] = {"message_id": message.reply_to_wamid}
    return payload
