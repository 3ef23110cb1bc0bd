"""The automation tasks moved from automation.tasks into the modules whose work they do (no
import cycle between them any more). Rows the task queue already holds name a task by its
dotted path: point them at the new one, so queued work still runs after the upgrade."""

from django.db import migrations

MOVED = {
    "automation.tasks.run_automation": "automation.engine.run_automation",
    "automation.tasks.deliver_notification": "automation.notifications.deliver_notification",
}


def rename(old_to_new):
    def run(apps, schema_editor):
        results = apps.get_model("django_tasks_database", "DBTaskResult")
        for old, new in old_to_new.items():
            results.objects.filter(task_path=old).update(task_path=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0003_mark_automatic_replies"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunPython(
            rename(MOVED), rename({new: old for old, new in MOVED.items()}), elidable=True
        ),
    ]
