from django.db import migrations

# The inbox search (inbox.services.message_text_condition) also finds a message by the words
# besides its text that a person reads in it (messaging.search.search_words: a file's name,
# the names on shared contact cards, a place's name and address), read from `data` by an
# expression. A pg_trgm GIN index on that expression serves `UPPER(<expression>) LIKE
# UPPER('%term%')` (Django's icontains) as message_text_trgm_idx (0006) serves the text. It
# must be the same expression as search_words() compiles to, which
# tests/inbox/test_paging_and_search.py checks with EXPLAIN; change one, change the other.
# Partial: the expression is NULL for most messages (text), and a LIKE on it implies that it
# is not. No column, so no row is rewritten; PostgreSQL only: SQLite scans.
TRIGRAM_INDEX = "message_search_words_trgm_idx"

CARD_NAMES = " || E'\\n' || ".join(
    f"""COALESCE(data #>> '{{contacts,{n},name,formatted_name}}', '')""" for n in range(10)
)
SEARCH_WORDS = f"""CASE
    WHEN type IN ('audio', 'document', 'image', 'sticker', 'video') THEN data ->> 'filename'
    WHEN type = 'contacts' THEN NULLIF({CARD_NAMES}, E'{"\\n" * 9}')
    WHEN type = 'location' THEN
        NULLIF(COALESCE(data ->> 'name', '') || E'\\n' || COALESCE(data ->> 'address', ''), E'\\n')
    ELSE NULL
END"""


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # CONCURRENTLY: webhooks keep writing messages while the index builds.
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TRIGRAM_INDEX} ON messaging_message "
        f"USING gin (UPPER({SEARCH_WORDS}) gin_trgm_ops) WHERE ({SEARCH_WORDS}) IS NOT NULL"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("messaging", "0011_account_events"),
    ]

    operations = [
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
