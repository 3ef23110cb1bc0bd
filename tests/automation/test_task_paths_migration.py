"""Automation's tasks moved into the modules whose work they do: work already queued under
their old dotted paths still runs after the upgrade (automation migration 0004)."""

from importlib import import_module

import pytest
from django.apps import apps
from django_tasks_db.models import DBTaskResult

from automation.engine import run_automation
from automation.notifications import deliver_notification

pytestmark = pytest.mark.django_db

migration = import_module("automation.migrations.0004_task_paths_moved")


def test_queued_tasks_under_the_old_paths_are_pointed_at_the_new_ones():
    run_automation.enqueue(1, 2)
    deliver_notification.enqueue(3)
    DBTaskResult.objects.filter(task_path=run_automation.module_path).update(
        task_path="automation.tasks.run_automation"
    )
    DBTaskResult.objects.filter(task_path=deliver_notification.module_path).update(
        task_path="automation.tasks.deliver_notification"
    )

    migration.rename(migration.MOVED)(apps, None)

    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        "automation.engine.run_automation",
        "automation.notifications.deliver_notification",
    ]
    assert [result.task for result in DBTaskResult.objects.order_by("task_path")] == [
        run_automation,
        deliver_notification,
    ]
