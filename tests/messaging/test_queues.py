"""Background work is queued by urgency (messaging.queues): a worker serving several queues
takes a staff reply before anything else waiting, and each kind of work has a queue of its
own that a deployment can give workers of its own."""

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from automation.engine import run_automation
from automation.notifications import deliver_notification
from messaging import queues
from messaging.account_health.mail import deliver_account_event
from messaging.ingest import apply_stored_webhook
from messaging.maintenance import run_maintenance
from messaging.tasks import send_message, send_read_receipt, simulate_status
from messaging.worker import ResilientWorker


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        (send_message, queues.SENDING),
        (send_read_receipt, queues.SENDING),
        (apply_stored_webhook, queues.WEBHOOKS),
        (simulate_status, queues.WEBHOOKS),
        (run_automation, queues.AUTOMATION),
        (deliver_notification, queues.NOTIFICATIONS),
        (deliver_account_event, queues.NOTIFICATIONS),
        (run_maintenance, queues.MAINTENANCE),
    ],
)
def test_each_kind_of_work_goes_to_its_own_queue_at_its_priority(task, queue):
    assert (task.queue_name, task.priority) == (queue.name, queue.priority)
    assert queue.name in settings.TASKS["default"]["QUEUES"]


def test_a_staff_reply_goes_before_webhooks_which_go_before_upkeep_and_automation():
    order = [queues.SENDING, queues.WEBHOOKS, queues.MAINTENANCE, queues.NOTIFICATIONS]
    order.append(queues.AUTOMATION)

    assert [q.priority for q in order] == sorted((q.priority for q in order), reverse=True)


@pytest.mark.django_db(transaction=True)
def test_a_reply_is_claimed_before_a_hundred_waiting_automation_tasks():
    for message_id in range(1, 101):
        run_automation.enqueue(message_id)
    run_maintenance.enqueue()
    reply = send_message.enqueue(999_999)  # no such message: the task finds nothing to send

    ResilientWorker(
        queue_names=["*"],
        interval=0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=1,
        worker_id="urgency",
        excluded_queue_names=[],
    ).run()

    claimed = DBTaskResult.objects.exclude(status="READY").values_list("pk", flat=True)
    assert [str(pk) for pk in claimed] == [str(reply.id)]
