"""Leases, send slots and sweeps go by the database's clock (messaging.db.database_now), not
the host's: hosts whose clocks disagree still agree on who holds what. PostgreSQL only: on
SQLite the database runs on the host that asks, so the two clocks are one."""

from datetime import timedelta

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.db import database_now
from messaging.ingest import accept, requeue_stranded
from messaging.models import BusinessNumber, Message, WebhookEvent
from messaging.queues import WEBHOOKS
from messaging.sending import queue_text_reply
from messaging.tasks import claim, reserve_send_slot, sweep_outbox
from messaging.worker import fail_orphaned_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.pgbouncer]

AN_HOUR = timedelta(hours=1)
# Far below the skew of the tests, far above how long a test's statements take.
CLOSE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite the database's clock is the host's")


@pytest.fixture
def pending(conversation, staff_user):
    return queue_text_reply(conversation, staff_user, "Your order has shipped")


def test_the_database_clock_is_aware_utc_and_ignores_the_hosts(host_clock):
    host_clock(AN_HOUR)

    now = database_now()

    assert now.utcoffset() == timedelta(0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        assert abs(cursor.fetchone()[0] - now) < CLOSE


def test_a_claim_made_on_a_host_an_hour_ahead_is_not_judged_abandoned_by_the_sweep(
    pending, host_clock
):
    host_clock(AN_HOUR)

    assert claim(pending.pk) is not None
    abandoned, _requeued = sweep_outbox()

    assert abandoned == 0
    message = Message.objects.get(pk=pending.pk)
    assert message.status == Message.Status.PENDING
    assert abs(message.claimed_at - database_now()) < CLOSE


def test_a_claim_made_on_a_host_an_hour_behind_is_judged_abandoned_once_its_lease_is_over(
    pending, host_clock, settings
):
    host_clock(-AN_HOUR)
    claim(pending.pk)
    lease = timedelta(seconds=settings.WHATSAPP_SEND_LEASE_SECONDS)

    assert sweep_outbox() == (0, 0)
    assert sweep_outbox(now=database_now() + lease + CLOSE)[0] == 1
    assert Message.objects.get(pk=pending.pk).status == Message.Status.UNCONFIRMED


def test_a_retry_due_later_by_the_database_clock_is_not_claimed_on_a_host_running_ahead(
    pending, host_clock
):
    Message.objects.filter(pk=pending.pk).update(next_attempt_at=database_now() + 10 * CLOSE)
    host_clock(AN_HOUR)

    assert claim(pending.pk) is None
    assert Message.objects.get(pk=pending.pk).claimed_at is None


def test_hosts_an_hour_apart_share_one_number_without_waiting_on_each_other(
    pending, host_clock, settings
):
    settings.WHATSAPP_SEND_RATE_PER_SECOND = 10
    number = BusinessNumber.objects.get()

    host_clock(AN_HOUR)
    first = reserve_send_slot(number)
    host_clock(-AN_HOUR)
    second = reserve_send_slot(number)

    # By either host's clock the one behind would wait two hours for a slot 0.1 s away.
    assert first == pytest.approx(0, abs=0.1)
    assert 0 < second <= 0.1


def task_row(status, started_at=None):
    return DBTaskResult.objects.create(
        task_path="messaging.ingest.apply_stored_webhook",
        queue_name=WEBHOOKS.name,
        backend_name="default",
        args_kwargs={"args": [], "kwargs": {}},
        priority=WEBHOOKS.priority,
        status=status,
        started_at=started_at,
        run_after=DBTaskResult._meta.get_field("run_after").get_default(),
    )


def test_a_task_started_a_minute_ago_is_not_failed_as_orphaned_by_a_host_an_hour_ahead(
    host_clock,
):
    running = task_row(TaskResultStatus.RUNNING, started_at=database_now() - CLOSE)
    host_clock(AN_HOUR)

    assert fail_orphaned_tasks() == 0
    running.refresh_from_db()
    assert running.status == TaskResultStatus.RUNNING


def test_a_body_received_a_minute_ago_is_not_stranded_for_a_host_an_hour_ahead(host_clock):
    accept(p.encode(p.envelope(p.value(messages=[p.text_message("Hi")]))))
    DBTaskResult.objects.all().delete()  # its task lost: stranded once old enough
    host_clock(AN_HOUR)

    assert requeue_stranded() == 0
    assert requeue_stranded(now=database_now() + AN_HOUR) == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.RECEIVED


def test_a_body_stored_on_a_host_an_hour_behind_is_stamped_by_the_database_clock(host_clock):
    host_clock(-AN_HOUR)

    accept(p.encode(p.envelope(p.value(messages=[p.text_message("Hi")]))))

    # Stamped by that host, it would look an hour old: stranded, and /healthz a 503.
    assert abs(WebhookEvent.objects.get().received_at - database_now()) < CLOSE
    assert requeue_stranded() == 0
