"""What a connection pooler in transaction mode (PgBouncer, scripts/pgbouncer-test) must not
break. Run on plain PostgreSQL these pass either way; through PgBouncer without
`?disable_server_side_cursors=true` in DATABASE_URL (README) the first one fails: a chunk of
`.iterator()` is fetched on whichever server connection the pooler hands out next, where the
named cursor ("portal … does not exist") is not."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pgbouncer]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite has no connection pooler in front of it")


def test_querysets_iterate_in_chunks_on_many_connections_at_once():
    expected = Permission.objects.count()
    counts, errors = [], []

    def iterate():
        try:
            counts.append(sum(1 for _ in Permission.objects.iterator(chunk_size=1)))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=iterate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert expected > 1
    assert counts == [expected] * 8
