"""Background work of automation (run by `db_worker`, never inside a web request)."""

import logging

from django.tasks import task

logger = logging.getLogger(__name__)


@task
def run_automation(*message_ids):
    """Routing rules and automatic replies for new inbound messages (automation.engine), in
    the order they were stored. One task per webhook body: a batch of 50 messages is one
    queue row, not 50."""
    from automation.engine import run_for_message

    outcomes, error = [], None
    for message_id in message_ids:
        try:
            outcomes.append(run_for_message(message_id))
        except Exception as exc:
            # The others still run; the task then fails, and running it again is safe
            # (each message's run is claimed once: "already done").
            logger.exception("automation for message %s failed", message_id)
            error = error or exc
    if error is not None:
        raise error
    return outcomes


@task
def deliver_notification(notification_id):
    """Send one staff notification e-mail (automation.notifications)."""
    from automation.notifications import deliver

    return deliver(notification_id)
