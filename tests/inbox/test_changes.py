"""The change feed's cursor (inbox.services.changes_after): nothing committed late is skipped.

PostgreSQL numbers a change when it is inserted, not when it commits, so a poll can see
change 101 before change 100 exists. The cursor remembers such gaps and asks for them again
until they fill or are older than any transaction takes.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from inbox import services
from inbox.services import ChangeCursor, Gap
from messaging.models import BusinessNumber, Contact, Conversation, InboxChange
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def conversation(conversation):
    # Only the changes a test makes itself: on PostgreSQL the one just announced took the
    # next value of a sequence that earlier tests advanced, anywhere above their ids.
    InboxChange.objects.all().delete()
    return conversation


@pytest.fixture
def viewer(django_user_model):
    """Staff who may see every number."""
    return django_user_model.objects.create_user("everyone", is_staff=True)


def change(conversation, pk, *, at=NOW):
    """Change number `pk`, as if inserted at `at` (explicit ids stand for the order in which
    a sequence handed them out)."""
    InboxChange.objects.create(pk=pk, conversation=conversation)
    InboxChange.objects.filter(pk=pk).update(created_at=at)


def polled(cursor, viewer, now=NOW):
    changes, cursor = services.changes_after(cursor, viewer, now=now)
    return len(changes), cursor


def test_it_remembers_ids_missing_below_the_newest_change_and_returns_them_once_committed(
    conversation, viewer
):
    change(conversation, 1000)
    change(conversation, 1003)

    count, cursor = polled(ChangeCursor(1000), viewer)

    assert count == 1
    assert cursor == ChangeCursor(
        1003, (Gap(1001, 1002, int((NOW + timedelta(minutes=2)).timestamp())),)
    )

    change(conversation, 1002)  # committed late
    count, cursor = polled(cursor, viewer)

    assert count == 1
    assert (cursor.after, [(gap.first, gap.last) for gap in cursor.gaps]) == (1003, [(1001, 1001)])


def test_a_poll_with_nothing_new_and_open_gaps_finds_nothing_in_one_query(
    conversation, viewer, django_assert_num_queries
):
    change(conversation, 1000)
    change(conversation, 1003)
    _, cursor = polled(ChangeCursor(999), viewer)

    with django_assert_num_queries(1):
        changes, after = services.changes_after(cursor, viewer, now=NOW)

    assert (changes, after) == ([], cursor)


def test_it_stops_waiting_for_a_gap_older_than_any_transaction(conversation, viewer):
    change(conversation, 1000)
    change(conversation, 1003, at=NOW - timedelta(minutes=3))  # 1001-1002: rolled back

    _, cursor = polled(ChangeCursor(1000), viewer)

    assert cursor == ChangeCursor(1003)


def test_a_gap_expires_at_the_next_answer_after_its_time(conversation, viewer):
    change(conversation, 1000)
    change(conversation, 1002)
    _, cursor = polled(ChangeCursor(1000), viewer)
    assert cursor.gaps

    change(conversation, 1004, at=NOW + timedelta(minutes=3))
    _, cursor = polled(cursor, viewer, now=NOW + timedelta(minutes=3))

    assert cursor.after == 1004
    assert [(gap.first, gap.last) for gap in cursor.gaps] == [(1003, 1003)]


def test_the_page_cursor_already_knows_the_gaps_below_the_newest_change(conversation, viewer):
    InboxChange.objects.all().delete()
    change(conversation, 1000)
    change(conversation, 1002)

    cursor = services.current_cursor(now=NOW)

    assert (cursor.after, [(gap.first, gap.last) for gap in cursor.gaps]) == (1002, [(1001, 1001)])
    change(conversation, 1001)
    assert polled(cursor, viewer)[0] == 1


def test_a_cursor_survives_its_round_trip_through_the_poll_url():
    cursor = ChangeCursor(1003, (Gap(990, 995, 1_900_000_000), Gap(1001, 1001, 1_900_000_060)))

    assert ChangeCursor.parse("1003", cursor.gaps_param) == cursor
    assert ChangeCursor.parse("7") == ChangeCursor(7)


@pytest.mark.parametrize(
    ("since", "gaps"),
    [
        ("", ""),
        ("yesterday", ""),
        ("-1", ""),
        (str(2**63), ""),
        ("10", "5-6"),
        ("10", "6-5@1"),
        ("10", "5-11@1"),  # above the cursor: never missing
        ("10", "0-1@1"),
        ("10", ",".join(["1-1@1"] * 21)),
    ],
)
def test_it_refuses_a_malformed_cursor(since, gaps):
    with pytest.raises(ValueError, match="not a change cursor"):
        ChangeCursor.parse(since, gaps)


# Number scope: a poll hears only of conversations its user can see.


@pytest.fixture
def elsewhere(django_user_model, conversation):
    """A conversation on another number, and an agent limited to the first number."""
    other = Conversation.objects.create(
        business_number=BusinessNumber.objects.create(phone_number_id="222"),
        contact=Contact.objects.create(wa_id="966500000222"),
    )
    agent = django_user_model.objects.create_user("sales-agent", is_staff=True)
    StaffProfile.objects.create(user=agent).numbers.add(conversation.business_number)
    return other, django_user_model.objects.get(pk=agent.pk)


def test_it_reports_only_changes_the_user_can_see(conversation, elsewhere, viewer):
    other, agent = elsewhere
    change(conversation, 1000)
    change(other, 1001)
    change(conversation, 1002)
    change(other, 1003)

    changes, cursor = services.changes_after(ChangeCursor(999), agent, now=NOW)
    unlimited, _ = services.changes_after(ChangeCursor(999), viewer, now=NOW)

    assert changes == [(conversation.pk, None), (conversation.pk, None)]
    assert cursor.after == 1002
    assert len(unlimited) == 4


def test_it_reports_nothing_when_only_another_number_changed(conversation, elsewhere):
    other, agent = elsewhere
    change(other, 1000)

    assert services.changes_after(ChangeCursor(999), agent, now=NOW) == ([], ChangeCursor(999))


def test_it_finds_a_change_the_user_can_see_behind_a_page_of_others(conversation, elsewhere):
    other, agent = elsewhere
    for pk in range(1000, 1010):
        change(other, pk)
    change(conversation, 1010)

    changes, cursor = services.changes_after(ChangeCursor(999), agent, now=NOW, limit=5)

    assert changes == [(conversation.pk, None)]
    assert cursor.after == 1010


# The race itself, on PostgreSQL: a transaction holds the lower id while a later one commits.


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_a_later_one_was_polled_still_reaches_the_page(
    conversation, viewer
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite commits one transaction at a time, in id order")
    InboxChange.objects.record(conversation.pk)  # the page's own starting point
    cursor = services.current_cursor()
    inserted, release = threading.Event(), threading.Event()

    def slow_transaction():
        try:
            with transaction.atomic():
                InboxChange.objects.record(conversation.pk)  # takes the lower id...
                inserted.set()
                release.wait(timeout=10)  # ...and commits last
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    inserted.wait(timeout=10)
    InboxChange.objects.record(conversation.pk)  # a higher id, committed at once
    first, cursor = services.changes_after(cursor, viewer)
    release.set()
    thread.join()
    second, cursor = services.changes_after(cursor, viewer)

    assert (len(first), len(second)) == (1, 1)
    assert cursor.gaps == ()
