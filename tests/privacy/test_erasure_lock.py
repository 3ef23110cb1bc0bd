"""Erasing a person and applying webhook bodies take turns (messaging.locks; PostgreSQL only:
SQLite lets one writer at a time into the database anyway)."""

import threading
import time

import pytest
from django.db import connection, transaction

from messaging import payloads as p
from messaging.ingest import accept, apply_stored
from messaging.locks import hold_for_applying
from messaging.models import Contact, Message, WebhookEvent
from privacy.erasure import erase_contact

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pgbouncer]

PHONE = "966501112233"


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing races")


def in_thread(work):
    """Run work in a thread with its own connection; the thread, and a list that receives
    work's result or exception."""
    outcome = []

    def run():
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until_waiting_for_the_lock(thread):
    """Until some other session waits for an advisory lock (or the thread has finished)."""
    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline and thread.is_alive():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def text_from_her(wamid):
    """Her message of a minute ago: from before any erasure in these tests."""
    message = p.text_message("Hello", sender=PHONE, wamid=wamid, timestamp=int(time.time()) - 60)
    return p.encode(p.envelope(p.value(messages=[message])))


def test_an_erasure_waits_for_a_body_being_applied_then_erases_what_it_wrote():
    release = threading.Event()
    applying = threading.Event()

    def apply_in_flight():
        with transaction.atomic():
            hold_for_applying()
            applying.set()
            release.wait(30)
            return apply_stored(accept(text_from_her("wamid.E1")).pk)

    applier, _ = in_thread(apply_in_flight)
    applying.wait(30)
    eraser, erased = in_thread(lambda: erase_contact(phone=PHONE))

    assert wait_until_waiting_for_the_lock(eraser)
    release.set()
    applier.join()
    eraser.join()

    assert not isinstance(erased[0], Exception), erased
    assert not Contact.objects.exists()
    assert not Message.objects.exists()


def test_a_body_stored_during_an_erasure_is_applied_after_it_and_dropped_by_her_tombstone():
    Contact.objects.create(wa_id=PHONE)
    erasing = threading.Event()
    release = threading.Event()

    def erasure_in_flight():
        with transaction.atomic():
            counts = erase_contact(phone=PHONE)
            erasing.set()
            release.wait(30)
        return counts

    eraser, _ = in_thread(erasure_in_flight)
    erasing.wait(30)
    # Delivered while the erasure is still uncommitted.
    event = accept(text_from_her("wamid.E2"))
    applier, _ = in_thread(lambda: apply_stored(event.pk))

    assert wait_until_waiting_for_the_lock(applier)
    release.set()
    eraser.join()
    applier.join()

    assert not Contact.objects.exists()
    assert not Message.objects.exists()
    assert not WebhookEvent.objects.filter(body__contains=PHONE.encode()).exists()
