from django.conf import settings
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# The inbox search (inbox.services.message_text_condition) finds messages by any part of
# their text, in any script: `UPPER(text) LIKE UPPER('%refund%')`, which is what Django's
# `text__icontains` says on PostgreSQL. A pg_trgm GIN index on that expression serves it
# without reading a million rows. PostgreSQL only: SQLite keeps scanning (see docs).
TRIGRAM_INDEX = "message_text_trgm_idx"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # CONCURRENTLY: webhooks keep writing messages while the index builds.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TRIGRAM_INDEX} "
        "ON messaging_message USING gin (UPPER(text) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("messaging", "0005_send_pacing"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("last_message_at__isnull", False)),
                fields=["state", "-last_message_at", "-id"],
                name="conversation_state_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("state", "open"), ("unread_count__gt", 0)),
                fields=["business_number", "unread_count"],
                name="conversation_unread_idx",
            ),
        ),
        # Does nothing on other databases (CreateExtension checks the vendor itself).
        TrigramExtension(),
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
