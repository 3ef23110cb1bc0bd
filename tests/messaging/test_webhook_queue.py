"""Stored webhook bodies wait in their queue until a worker applies them (messaging.ingest:
accept, apply_stored_webhook, requeue_stranded)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.ingest import WEBHOOK_PRIORITY, WEBHOOK_QUEUE, accept, queue_apply, requeue_stranded
from messaging.models import Message, WebhookEvent
from messaging.tasks import simulate_status
from tests.webhook_support import run_webhook_tasks

pytestmark = pytest.mark.django_db


# One moment for every body: a redelivery is the same bytes, so two bodies built in different
# seconds (a timestamp of "now") would be two deliveries, and the tests flaky.
SENT = timezone.now()


def body(text="Hello", wamid="wamid.Q1"):
    message = p.text_message(text, wamid=wamid, timestamp=SENT)
    return p.encode(p.envelope(p.value(messages=[message])))


def webhook_tasks(**filters):
    return DBTaskResult.objects.filter(queue_name=WEBHOOK_QUEUE, **filters)


def test_a_post_is_stored_and_queued_and_shows_nothing_until_a_worker_applies_it(post_webhook):
    response = post_webhook(None, body=body(), apply=False)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.RECEIVED
    assert not Message.objects.exists()

    assert run_webhook_tasks() == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert Message.objects.get().text == "Hello"


def test_applying_goes_before_the_other_queued_work():
    accept(body())

    (task,) = webhook_tasks()
    assert task.priority == WEBHOOK_PRIORITY > 0  # sends and upkeep are queued at 0


def test_a_redelivery_of_a_waiting_body_queues_nothing_more():
    accept(body())
    accept(body())

    assert WebhookEvent.objects.count() == 1
    assert webhook_tasks().count() == 1


def test_a_redelivery_of_a_body_that_failed_queues_it_again(message_insert_failure):
    message_insert_failure.start()
    accept(body())
    run_webhook_tasks()
    assert WebhookEvent.objects.get().state == WebhookEvent.State.FAILED
    message_insert_failure.stop()

    accept(body())
    run_webhook_tasks()

    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert Message.objects.count() == 1


def test_a_duplicate_task_finds_the_body_applied_and_does_nothing():
    event = accept(body())
    queue_apply(event.pk)

    assert run_webhook_tasks() == 2
    event.refresh_from_db()
    assert event.attempts == 1
    assert Message.objects.count() == 1


def test_a_task_for_a_body_erased_or_purged_since_does_nothing():
    event = accept(body())
    WebhookEvent.objects.filter(pk=event.pk).delete()

    assert run_webhook_tasks() == 1
    assert webhook_tasks(status=TaskResultStatus.SUCCESSFUL).count() == 1
    assert not Message.objects.exists()


def test_a_stranded_body_is_queued_again_by_the_maintenance_run():
    event = accept(body())
    webhook_tasks().update(status=TaskResultStatus.FAILED)  # e.g. the database went away
    later = timezone.now() + timedelta(minutes=10)

    assert requeue_stranded(later) == 1
    run_webhook_tasks()

    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED


def test_a_body_whose_worker_was_killed_mid_apply_is_queued_again():
    event = accept(body())
    killed_at = timezone.now()
    webhook_tasks().update(status=TaskResultStatus.RUNNING, started_at=killed_at)

    assert requeue_stranded(killed_at + timedelta(minutes=1)) == 0  # may still be running
    assert requeue_stranded(killed_at + timedelta(minutes=10)) == 1
    run_webhook_tasks()

    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED


def test_a_body_just_stored_or_behind_a_backlog_is_not_stranded():
    accept(body())
    later = timezone.now() + timedelta(minutes=10)

    assert requeue_stranded(timezone.now()) == 0  # its task is there
    assert requeue_stranded(later) == 0  # still there, however long the backlog
    webhook_tasks().update(status=TaskResultStatus.FAILED)
    assert requeue_stranded(timezone.now()) == 0  # too recent to call stranded
    assert webhook_tasks(status=TaskResultStatus.READY).count() == 0


def test_a_stranded_body_is_queued_again_while_other_bodies_wait_in_line():
    stranded = accept(body("Lost", wamid="wamid.Q2"))
    webhook_tasks().update(status=TaskResultStatus.FAILED)
    accept(body("Waiting", wamid="wamid.Q3"))  # steady load: there is always a task waiting
    later = timezone.now() + timedelta(minutes=10)

    assert requeue_stranded(later) == 1
    assert requeue_stranded(later) == 0  # queued now: not twice
    run_webhook_tasks()

    stranded.refresh_from_db()
    assert stranded.state == WebhookEvent.State.PROCESSED


def test_other_tasks_waiting_with_any_first_argument_do_not_upset_the_search():
    accept(body())
    webhook_tasks().update(status=TaskResultStatus.FAILED)
    simulate_status.enqueue("not-a-number", "wamid.Q6", "15550001", "sent")

    assert requeue_stranded(timezone.now() + timedelta(minutes=10)) == 1


def test_a_body_whose_worker_died_is_queued_again_while_others_are_applied(settings):
    settings.TASK_LEASE_SECONDS = 300
    event = accept(body("Lost", wamid="wamid.Q4"))
    killed_at = timezone.now()
    webhook_tasks().update(status=TaskResultStatus.RUNNING, started_at=killed_at)
    accept(body("Busy", wamid="wamid.Q5"))
    webhook_tasks(status=TaskResultStatus.READY).update(
        status=TaskResultStatus.RUNNING, started_at=killed_at + timedelta(minutes=9)
    )

    assert requeue_stranded(killed_at + timedelta(minutes=4)) == 0  # within its lease
    assert requeue_stranded(killed_at + timedelta(minutes=10)) == 1
    run_webhook_tasks()

    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_db_worker_applies_stored_bodies_with_its_default_queues():
    accept(body())

    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", stdout=io.StringIO())

    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    assert Message.objects.count() == 1
