import pytest
from django.utils import timezone


class DatabaseFault:
    """Switches a database fault on and off (removed at teardown in any case)."""

    def __init__(self, run, create, drop):
        self.run, self.create, self.drop = run, create, drop

    def start(self):
        self.run(self.create)

    def stop(self):
        self.run(self.drop)


@pytest.fixture
def message_insert_failure(django_db_blocker):
    """Make the database refuse new message rows, like a crash while applying a webhook.

    A trigger, not a mock: the real code path runs and hits a real database error.
    Call .start() to break inserts and .stop() to mend them.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION test_fail_insert() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'forced failure for a test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_fail_message_insert BEFORE INSERT ON messaging_message "
            "FOR EACH ROW EXECUTE FUNCTION test_fail_insert()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_fail_message_insert ON messaging_message",
            "DROP FUNCTION IF EXISTS test_fail_insert()",
        ]
    else:
        create = [
            "CREATE TRIGGER test_fail_message_insert BEFORE INSERT ON messaging_message "
            "BEGIN SELECT RAISE(ABORT, 'forced failure for a test'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_fail_message_insert"]

    def run(statements):
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    fault = DatabaseFault(run, create, drop)
    yield fault
    fault.stop()


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """The project under gunicorn (tests/gunicorn_support.py), on the test database.

    PostgreSQL's test database serves as it is. SQLite's lives in this process's memory, out
    of gunicorn's reach: it is copied to a file, which this process then uses too until the
    module ends. Tests need `transactional_db`, since gunicorn sees only committed rows.
    """
    from django.db import connections

    from tests.gunicorn_support import Gunicorn, database_url

    folder = tmp_path_factory.mktemp("gunicorn")
    original = connections["default"]
    if original.vendor == "sqlite":
        path = folder / "db.sqlite3"
        with django_db_blocker.unblock(), original.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(path)])
        shared = connections.create_connection("default")
        shared.settings_dict = {**shared.settings_dict, "NAME": str(path)}
        connections["default"] = shared
    server = Gunicorn(database_url(connections["default"].settings_dict), folder / "gunicorn.log")
    try:
        server.wait_until_ready()
        yield server
    finally:
        server.stop()
        if connections["default"] is not original:
            connections["default"].close()
            connections["default"] = original


@pytest.fixture
def host_clock(monkeypatch):
    """Set this host's clock (`django.utils.timezone.now`) off the database's by a timedelta:
    `host_clock(timedelta(hours=1))` runs it an hour ahead. Only Python's clock moves."""
    real_now = timezone.now

    def skew(offset):
        monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)

    return skew
