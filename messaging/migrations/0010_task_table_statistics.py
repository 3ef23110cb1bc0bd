"""Keep PostgreSQL's statistics of the task table fresh.

Every stored webhook body adds a task row, so after downtime (Meta replays up to a week) the
table grows by tens of thousands of rows a minute. With PostgreSQL's default analyze
threshold (10 % of the table) the planner went on believing the table was tiny and chose a
bitmap scan of every row for the worker's claim query instead of django-tasks-db's ordering
index: 50 ms per claimed task instead of about 1 ms, measured by `make bench` (docs/benchmarks.md).
Analyzing after every 1,000 rows plus 1 % keeps the claim on the index.
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"


def tune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_analyze_threshold = 1000, "
            "autovacuum_analyze_scale_factor = 0.01)"
        )


def untune(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} RESET (autovacuum_analyze_threshold, "
            "autovacuum_analyze_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0009_send_attempt_wamid"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(tune, untune)]
