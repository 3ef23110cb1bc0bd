"""`manage.py purge_expired` (from cron) and the daily run inside db_worker (maintenance)."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from messaging import maintenance
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Message
from privacy import retention
from privacy.models import AuditEvent, RetentionSchedule

pytestmark = pytest.mark.django_db


def old_texts(count, days):
    when = timezone.now() - timedelta(days=days)
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=p.USER_WA_ID, name="Layla")],
                    messages=[p.text_message(f"secret {n}", timestamp=when) for n in range(count)],
                )
            )
        )
    )


def run(*args):
    out = io.StringIO()
    call_command("purge_expired", *args, stdout=out)
    return out.getvalue()


def test_it_applies_retention_and_shows_progress(settings):
    settings.RETENTION_CONTENT_DAYS = 30
    old_texts(5, days=31)

    output = run("--batch-size", "2")

    assert not Message.objects.filter(content_redacted_at__isnull=True).exists()
    assert "Retention: content 30 d, metadata 365 d, notes and staff notifications 30 d" in output
    assert "handled deletion requests and tombstones 365 d." in output
    assert "content redacted: 2" in output
    assert "content redacted: 4" in output
    assert "content redacted: 5" in output
    assert "Done: " in output
    assert "content redacted 5" in output
    assert "secret" not in output
    assert AuditEvent.objects.filter(action="retention").count() == 1


def test_a_second_run_finds_nothing(settings):
    settings.RETENTION_CONTENT_DAYS = 30
    old_texts(2, days=31)
    run()

    output = run()

    assert "content redacted 0" in output
    assert "messages 0" in output


def test_it_is_quiet_at_verbosity_0():
    out = io.StringIO()
    call_command("purge_expired", verbosity=0, stdout=out)

    assert out.getvalue() == ""


def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="at least 1"):
        run("--batch-size", "0")


# The daily run inside the worker.


def retention_runs():
    return AuditEvent.objects.filter(action="retention").count()


def test_the_retention_job_is_one_of_the_maintenance_jobs():
    assert retention.daily_retention in maintenance.maintenance_jobs()


def test_the_maintenance_task_runs_retention_at_most_once_a_day(settings):
    settings.RETENTION_CONTENT_DAYS = 30
    old_texts(1, days=31)

    maintenance.run_maintenance.call()  # the worker's first maintenance run: retention is due
    maintenance.run_maintenance.call()  # a minute later, and every minute after: not again

    assert retention_runs() == 1
    assert Message.objects.get().content_redacted_at is not None
    schedule = RetentionSchedule.objects.get()
    assert timedelta(hours=23) < schedule.next_run_at - timezone.now() <= timedelta(days=1)

    # A day later the next maintenance run does it again.
    assert retention.daily_retention(timezone.now() + timedelta(days=1, seconds=1)) is not None
    assert retention_runs() == 2


def test_several_workers_asking_at_once_get_one_run():
    now = timezone.now()

    claims = [retention.claim_daily_run(now) for _worker in range(3)]

    assert claims == [True, False, False]


def test_a_failed_run_is_tried_again_within_the_hour(monkeypatch):
    now = timezone.now()

    def broken(now=None, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(retention, "purge_expired", broken)
    with pytest.raises(RuntimeError):
        retention.daily_retention(now)

    assert RetentionSchedule.objects.get().next_run_at == now + timedelta(hours=1)
