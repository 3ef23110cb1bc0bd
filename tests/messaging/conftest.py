import pytest


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
