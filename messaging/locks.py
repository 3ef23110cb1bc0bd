"""One lock between erasing a person and applying webhook bodies.

An apply reads the erasure tombstones first and writes rows afterwards; an erasure deletes
rows and writes tombstones. Interleaved on PostgreSQL, an apply that read no tombstone could
recreate the person just erased (a redelivered message becoming a fresh contact). So applying
holds a shared transaction-level advisory lock, erasing the exclusive one: applies run side by
side, an erasure waits for those in flight and the next ones wait for it, then see its
tombstones. SQLite lets one writer at a time into the database anyway.
"""

from django.db import connection

# An arbitrary constant of this project, the same in every process.
ERASURE_LOCK_KEY = 0x77415141  # "wAQA"


def hold_for_applying() -> None:
    _lock("pg_advisory_xact_lock_shared")


def hold_for_erasing() -> None:
    _lock("pg_advisory_xact_lock")


def _lock(function: str) -> None:
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("the erasure lock is held until commit: take it inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [ERASURE_LOCK_KEY])
