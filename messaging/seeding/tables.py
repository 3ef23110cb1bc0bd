"""Writing the rows fast and in one piece: the tables locked, ids reserved up front, indexes
and foreign keys dropped and rebuilt around a big load and sequences moved past the explicit
ids (PostgreSQL), rows written with COPY on PostgreSQL, else with bulk_create."""

import json
from typing import Any, cast

from django.core.management.base import CommandError, OutputWrapper
from django.db import connection, models

from messaging.models import Contact, Conversation, Message, StatusEvent
from messaging.seeding.progress import Progress
from messaging.seeding.rows import Row

TABLES = (Contact, Conversation, Message, StatusEvent)


def postgres() -> bool:
    return connection.vendor == "postgresql"


def lock_tables() -> None:
    """Keep other writers out while ids are reserved and rows written (reads go on)."""
    if not postgres():
        return  # SQLite: the IMMEDIATE transaction already holds the write lock
    tables = ", ".join(m._meta.db_table for m in TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def drop_indexes_for_bulk_load(messages: int) -> list[str]:
    """PostgreSQL's advice for populating a database: build indexes and check foreign keys
    once, after the rows are in, rather than row by row. Only for the two big tables, and
    only when the load is larger than what they hold already (a fresh benchmark
    database). Returns the statements that restore them, run at the end of the same
    transaction (so a failed load restores them too)."""
    if not postgres() or not messages:
        return []
    restore = []
    with connection.cursor() as cursor:
        for model in (Message, StatusEvent):
            table = model._meta.db_table
            existing = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) AS t"  # noqa: S608
            cursor.execute(existing, [messages])
            if cursor.fetchone()[0] >= messages:
                return []
        # ALTER TABLE refuses tables with deferred checks pending (rows the surrounding
        # transaction changed): run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for model in (Message, StatusEvent):
            table = connection.ops.quote_name(model._meta.db_table)
            # Foreign keys, and unique constraints no foreign key depends on.
            cursor.execute(
                """
                SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                WHERE c.conrelid = %s::regclass AND (c.contype = 'f' OR (c.contype = 'u'
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                  WHERE f.contype = 'f' AND f.conindid = c.conindid)))
                """,
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                name = connection.ops.quote_name(name)
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                restore.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
            # Indexes that belong to no constraint.
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                """,
                [model._meta.db_table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {name}")
                restore.append(definition)
    return restore


def rebuild(statements: list[str], out: OutputWrapper) -> None:
    if not statements:
        return
    progress = Progress(out, "Indexes", len(statements))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in statements:
            cursor.execute(statement)
            progress.advance(1)
    progress.finish()


def reserve_ids(model: type[models.Model], count: int) -> int:
    """The first of `count` primary keys reserved for `model` (rows get explicit ids)."""
    table = model._meta.db_table
    if postgres():
        with connection.cursor() as cursor:
            sequence = sequence_of(model)
            cursor.execute(
                f"SELECT GREATEST(COALESCE(MAX(id), 0), "  # noqa: S608 - a model's table
                f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
                f"FROM {sequence})) FROM {table}"
            )
            return cursor.fetchone()[0] + 1
    latest = model._default_manager.aggregate(latest=models.Max("pk"))["latest"] or 0
    return latest + 1


def sequence_of(model: type[models.Model]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        return cursor.fetchone()[0]


def fix_sequences() -> None:
    if not postgres():
        return  # SQLite's AUTOINCREMENT follows explicit ids by itself
    with connection.cursor() as cursor:
        for model in TABLES:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(%s, GREATEST(COALESCE((SELECT MAX(id) FROM {table}), 0), 1))",  # noqa: S608
                [sequence_of(model)],
            )


def insert(model: type[models.Model], rows: list[Row], progress: Progress | None = None) -> None:
    """Write rows (dicts of attname → value) with COPY on PostgreSQL, else bulk_create.

    Fields a row leaves out get their model default (fields added to the models later
    keep working as long as they have one)."""
    if not rows:
        if progress:
            progress.finish()
        return
    given = list(rows[0])
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.generated}
    unknown = set(given) - set(fields)
    if unknown:
        raise CommandError(f"{model.__name__} has no field(s) {sorted(unknown)}.")
    missing = [f for name, f in fields.items() if name not in given]
    for field in missing:
        if not field.has_default() and not field.null:
            raise CommandError(
                f"seed_load does not know how to fill {model.__name__}.{field.attname}."
            )
    defaults = {f.attname: f.get_default() for f in missing}
    if postgres():
        copy_rows(model, fields, given, defaults, rows, progress)
    else:
        batch = []
        for row in rows:
            batch.append(model(**row, **defaults))
            if len(batch) >= 2000:
                model._default_manager.bulk_create(batch)
                if progress:
                    progress.advance(len(batch))
                batch = []
        model._default_manager.bulk_create(batch)
        if progress:
            progress.advance(len(batch))
    if progress:
        progress.finish()


def copy_rows(
    model: type[models.Model],
    fields: dict[str, models.Field],
    given: list[str],
    defaults: dict[str, Any],
    rows: list[Row],
    progress: Progress | None,
) -> None:
    names = given + list(defaults)
    # Concrete fields always have a column.
    columns = ", ".join(connection.ops.quote_name(cast(str, fields[name].column)) for name in names)
    json_columns = {i for i, name in enumerate(names) if isinstance(fields[name], models.JSONField)}
    extra = tuple(defaults.values())
    dumps = json.dumps
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for count, row in enumerate(rows, start=1):
            values = [*row.values(), *extra]
            for i in json_columns:
                value = values[i]
                values[i] = "{}" if value == {} else dumps(value, ensure_ascii=False)
            copy.write_row(values)
            if progress and not count % 5000:
                progress.advance(5000)
        if progress:
            progress.advance(len(rows) % 5000)


def analyze() -> None:
    """Fresh statistics for the planner after a load (PostgreSQL)."""
    if not postgres():
        return
    with connection.cursor() as cursor:
        for model in TABLES:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
