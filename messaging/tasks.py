import logging

from django.db import transaction
from django.tasks import task

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.changes import announce
from messaging.ingest import apply_pending_statuses
from messaging.models import Message
from messaging.sending import graph_payload

logger = logging.getLogger(__name__)


@task
def send_message(message_id):
    """Hand a pending outbound message to the transport and record Meta's message id."""
    message = (
        Message.objects.select_related("conversation__contact", "conversation__business_number")
        .filter(pk=message_id, status=Message.Status.PENDING, wamid__isnull=True)
        .first()
    )
    if message is None:
        return  # already sent, or gone
    number = message.conversation.business_number
    try:
        result = get_backend().send(number.phone_number_id, graph_payload(message))
    except SendError as error:
        logger.warning("message %s not sent: code %s", message.pk, error.code)
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                status=Message.Status.FAILED,
                error_code=error.code,
                error_title=error.title[:255],
                error_details=error.details,
            )
            announce(message.conversation_id, message.pk)
        return
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(wamid=result.wamid)
        message.wamid = result.wamid
        apply_pending_statuses(message)
        announce(message.conversation_id, message.pk)
    logger.info("message %s accepted by the transport", message.pk)
