"""Writing what Meta sends into any database: `db_safe()` values, and an INSERT … ON CONFLICT
DO NOTHING that says which rows it inserted. And the one clock every host agrees on,
`database_now()`.

Applying webhooks needs it (a redelivery must find its rows already there, without an error
and without a savepoint per row), and Django's public API has no such statement:
`bulk_create(ignore_conflicts=True)` drops the RETURNING clause, so it cannot say which rows
were new. This module is the one place that reaches into Django's internals for it: the
manager's `_insert` (the query compiler's INSERT, as `bulk_create` itself calls it) and the
instance's `_state` (what `save()` sets on a row it inserted). The ingest tests
(tests/messaging/test_ingest*.py) fail loudly if a Django upgrade changes either.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connections, models, router
from django.db.models.constants import OnConflict
from django.utils import timezone


def insert_new[M: models.Model](
    model: type[M], objs: Sequence[M], *, returning: Sequence[str] = ()
) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING `returning`: the rows actually inserted.

    Rows that hit a unique constraint (a redelivery, or a concurrent request that inserted
    the same row first and committed) are skipped. A single object whose row was inserted
    gets its primary key when `returning` starts with "id" (with several, the caller maps
    the returned rows to objects with `mark_saved`: skipped ones are absent). SQLite ≥ 3.35
    runs the same statement as INSERT OR IGNORE … RETURNING.
    """
    if not objs:
        return []
    using = router.db_for_write(model)
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    returning_fields = [meta.get_field(name) for name in returning]
    size = max(connections[using].ops.bulk_batch_size(fields, objs), 1)
    rows: list[Any] = []
    # Any: django-stubs leaves out the private `_insert`.
    queryset: Any = model._base_manager.using(using)
    for start in range(0, len(objs), size):
        rows += queryset._insert(
            objs[start : start + size],
            fields=fields,
            returning_fields=returning_fields,
            on_conflict=OnConflict.IGNORE,
        )
    if returning and returning[0] == "id" and len(objs) == 1 and rows:
        mark_saved(objs[0], rows[0][0])
    return rows


def mark_saved(obj: models.Model, pk: int) -> None:
    """Make `obj` what `save()` leaves behind after inserting its row with primary key `pk`."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = router.db_for_write(type(obj))


def db_safe(value: Any) -> Any:
    """`value` with every string made storable in any database: PostgreSQL's text and jsonb
    refuse NUL characters and lone UTF-16 surrogates, which valid JSON can still carry."""
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {db_safe(key): db_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [db_safe(item) for item in value]
    return value


def database_now(using: str = "default") -> datetime:
    """Now by the database's clock, aware and in UTC.

    Leases, send slots and sweeps compare timestamps that one host wrote with "now" on
    another: the web process, the workers and the maintenance run may sit on machines whose
    clocks drift apart. The database's clock is the one they share. In a statement, prefer
    Django's `Now()` (the same clock, no round trip); this is for when Python needs the value,
    to compute with it or to pass it on. The statement's start time on PostgreSQL, so inside a
    transaction it matches what `Now()` gives the statements around it. SQLite runs on the
    host that asks, so the host's clock is the database's there.

    django-tasks-db itself uses the host's clock: for a task's `run_after` (when it becomes
    ready) and for `started_at`/`finished_at`. Where our code compares those, the lease is
    generous (minutes) next to any clock skew worth the name.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT STATEMENT_TIMESTAMP()")
        (value,) = cursor.fetchone()
    return value.astimezone(UTC)
