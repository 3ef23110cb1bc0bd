"""Task rows left "running" by a worker that died are failed once their lease is over
(messaging.worker.fail_orphaned_tasks, a maintenance job), so that their bodies are queued
again and the task list tells the truth."""

from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging.hooks import maintenance_jobs
from messaging.ingest import requeue_stranded
from messaging.maintenance import run_maintenance
from messaging.worker import fail_orphaned_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(settings):
    settings.TASK_LEASE_SECONDS = 300

    def start(at):
        result = run_maintenance.enqueue()  # any task will do
        DBTaskResult.objects.filter(pk=result.id).update(
            status=TaskResultStatus.RUNNING, started_at=at, worker_ids=["gone"]
        )
        return DBTaskResult.objects.get(pk=result.id)

    return start


def test_a_task_running_past_its_lease_is_failed_once(started):
    now = timezone.now()
    orphan = started(now - timedelta(minutes=6))
    busy = started(now - timedelta(minutes=4))

    assert fail_orphaned_tasks(now) == 1
    assert fail_orphaned_tasks(now) == 0

    orphan.refresh_from_db()
    busy.refresh_from_db()
    assert orphan.status == TaskResultStatus.FAILED
    assert orphan.finished_at == now
    assert orphan.task_result.errors[0].exception_class.__name__ == "WorkerLost"
    assert busy.status == TaskResultStatus.RUNNING


def test_orphaned_tasks_are_failed_before_stranded_bodies_are_looked_for():
    jobs = maintenance_jobs()

    assert jobs.index(fail_orphaned_tasks) < jobs.index(requeue_stranded)
