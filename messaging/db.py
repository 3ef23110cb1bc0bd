"""Writing what Meta sends into any database: `db_safe()` values, and an INSERT … ON CONFLICT
DO NOTHING that says which rows it inserted.

Applying webhooks needs it (a redelivery must find its rows already there, without an error
and without a savepoint per row), and Django's public API has no such statement:
`bulk_create(ignore_conflicts=True)` drops the RETURNING clause, so it cannot say which rows
were new. This module is the one place that reaches into Django's internals for it: the
manager's `_insert` (the query compiler's INSERT, as `bulk_create` itself calls it) and the
instance's `_state` (what `save()` sets on a row it inserted). The ingest tests
(tests/messaging/test_ingest*.py) fail loudly if a Django upgrade changes either.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router
from django.db.models.constants import OnConflict


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
