"""Background work of automation (run by `db_worker`, never inside a web request)."""

from django.tasks import task


@task
def run_automation(message_id):
    """Routing rules and automatic replies for one new inbound message (automation.engine)."""
    from automation.engine import run_for_message

    return run_for_message(message_id)


@task
def deliver_notification(notification_id):
    """Send one staff notification e-mail (automation.notifications)."""
    from automation.notifications import deliver

    return deliver(notification_id)


def enqueue_for_message(message_id):
    """Called by ingestion once a new inbound message has committed."""
    run_automation.enqueue(message_id)
