"""Helpers for the teamwork and automation tests: customers' messages delivered through the
real webhook ingestion, and queued tasks run the way the worker runs them."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Message

AMINA = "966501234567"
JOHN = "447700900123"
AUTOMATION_TASK = "automation.engine.run_automation"
NOTIFICATION_TASK = "automation.notifications.deliver_notification"


def inbound(message, *, sender=AMINA, name="Amina Khalid", **value_options):
    """A webhook body with one customer message (from p.text_message, p.interactive_reply…)."""
    return p.envelope(
        p.value(contacts=[p.contact(wa_id=sender, name=name)], messages=[message], **value_options)
    )


def deliver(
    text="Hello", *, sender=AMINA, name="Amina Khalid", minutes_ago=1, at=None, message=None, **opts
):
    """Receive one customer message as Meta posts it (sent `at`, else `minutes_ago`);
    returns the stored Message."""
    sent = at or timezone.now() - timedelta(minutes=minutes_ago)
    message = message or p.text_message(text, sender=sender, timestamp=sent)
    receive(p.encode(inbound(message, sender=sender, name=name, **opts)))
    return Message.objects.select_related("conversation").get(wamid=message["id"])


def latest(hour, minute=0):
    """The most recent moment (UTC) at `hour`:`minute`. A test fixes the time of day this
    way, yet stays within the last 24 hours: replies are refused once the 24-hour window
    has closed by the clock."""
    now = timezone.now()
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return moment if moment <= now else moment - timedelta(days=1)


def number(phone_number_id=p.PHONE_NUMBER_ID):
    return BusinessNumber.objects.get(phone_number_id=phone_number_id)


def queued(path=AUTOMATION_TASK):
    return DBTaskResult.objects.filter(task_path=path, status="READY").order_by("enqueued_at")


def run_queued(path=AUTOMATION_TASK):
    """Run the queued tasks of one kind, in order, as the worker would; returns their results."""
    results = []
    for result in queued(path):
        args = result.args_kwargs
        results.append(result.task.call(*args["args"], **args["kwargs"]))
        result.delete()
    return results


def automatic_replies():
    return list(
        Message.objects.filter(direction="out", sent_by__isnull=True)
        .order_by("pk")
        .values_list("text", flat=True)
    )
