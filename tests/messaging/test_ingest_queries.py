"""What applying a webhook costs: queries constant in data size and in batch size, one commit
per POST, the bulk path falling back to one by one, and concurrent batches on PostgreSQL."""

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.ingest import WEBHOOK_QUEUE, receive
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    InboxChange,
    Message,
    StatusEvent,
    WebhookEvent,
)
from tests.teamwork_support import queued
from tests.webhook_support import post_concurrently, run_webhook_tasks

pytestmark = pytest.mark.django_db

URL = "/webhooks/whatsapp/"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# Statements for applying a one-message body from a known sender: lock the stored body, look
# up erasure tombstones, the business number, the contact and the conversation; insert the
# message; move the conversation's counters; announce it; look for reactions that came first;
# link the body to its contact; record the outcome; the savepoint around applying (two
# statements); and, in tests only, two more where production has BEGIN/COMMIT (the test's
# own transaction turns the task's transaction into a savepoint); on PostgreSQL, the lock that
# keeps erasures out while applying (messaging.locks).
ERASURE_LOCK = int(connection.vendor == "postgresql")
ONE_MESSAGE_QUERIES = 15 + ERASURE_LOCK
# The POST itself: insert the body, insert its task (and, in tests, the savepoint's two).
STORE_QUERIES = 4
# The worker's own statements around one task: find it, mark it running, mark it done, look
# for the next one; and one more for the task's bodies: it locks the ones it takes (its own
# and any others waiting, by size) before it reads them.
WORKER_QUERIES = 4 + 1


def sender(n):
    return f"96650{n:07d}"


def messages_body(senders, *, first=0):
    return p.envelope(
        p.value(
            contacts=[p.contact(wa_id=wa_id, name=f"Customer {wa_id[-3:]}") for wa_id in senders],
            messages=[
                p.text_message(f"message {n}", sender=wa_id, wamid=f"wamid.IN{first + n}")
                for n, wa_id in enumerate(senders)
            ],
        )
    )


def statuses_body(wamids, status="delivered"):
    return p.envelope(p.value(statuses=[p.status(wamid, status, timestamp=T0) for wamid in wamids]))


def existing_data(contacts, messages_each):
    """`contacts` contacts with a conversation of `messages_each` messages each, in bulk."""
    number, _ = BusinessNumber.objects.get_or_create(
        phone_number_id=p.PHONE_NUMBER_ID,
        defaults={"display_phone_number": p.DISPLAY_PHONE_NUMBER, "waba_id": p.WABA_ID},
    )
    people = Contact.objects.bulk_create(
        Contact(wa_id=f"2010{n:08d}", profile_name=f"Old {n}") for n in range(contacts)
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(business_number=number, contact=person) for person in people
    )
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction=Message.Direction.INBOUND,
            type="text",
            text="old",
            wamid=f"wamid.OLD{conversation.pk}-{n}",
            timestamp=T0 - timedelta(days=1),
            status=Message.Status.RECEIVED,
        )
        for conversation in conversations
        for n in range(messages_each)
    )


def outbound(wamids):
    number, _ = BusinessNumber.objects.get_or_create(phone_number_id=p.PHONE_NUMBER_ID)
    contact, _ = Contact.objects.get_or_create(wa_id=p.USER_WA_ID)
    conversation, _ = Conversation.objects.get_or_create(business_number=number, contact=contact)
    return Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            type="text",
            text="Your order has shipped",
            wamid=wamid,
            timestamp=T0,
            status=Message.Status.SENT,
        )
        for wamid in wamids
    )


def queries_for(body):
    with CaptureQueriesContext(connection) as captured:
        event = receive(p.encode(body))
    assert event.state == WebhookEvent.State.PROCESSED, event.error
    return len(captured.captured_queries)


# Queries


@pytest.mark.parametrize("contacts", [1, 300])
def test_it_applies_a_one_message_post_in_a_fixed_number_of_queries_whatever_the_data_size(
    post_webhook, django_assert_max_num_queries, contacts
):
    existing_data(contacts, messages_each=20)
    post_webhook(messages_body([sender(1)]))  # the sender is known from now on

    with django_assert_max_num_queries(STORE_QUERIES):
        response = post_webhook(messages_body([sender(1)], first=1), apply=False)
    with django_assert_max_num_queries(WORKER_QUERIES + ONE_MESSAGE_QUERIES):
        run_webhook_tasks()

    assert response.status_code == 200
    assert Conversation.objects.get(contact__wa_id=sender(1)).unread_count == 2


def test_it_applies_fifty_messages_from_known_senders_in_as_many_queries_as_five():
    existing_data(0, 0)
    receive(p.encode(messages_body([sender(n) for n in range(50)], first=1000)))

    five = queries_for(messages_body([sender(n) for n in range(5)]))
    fifty = queries_for(messages_body([sender(n) for n in range(50)], first=100))

    # Several conversations are locked first, in id order (see Conversation.record_activity).
    assert fifty == five == ONE_MESSAGE_QUERIES + 1
    assert Message.objects.count() == 105


def test_it_applies_fifty_messages_from_new_senders_in_as_many_queries_as_five():
    existing_data(0, 0)

    five = queries_for(messages_body([sender(n) for n in range(5)]))
    fifty = queries_for(messages_body([sender(n) for n in range(100, 150)], first=100))

    # Creating contacts and conversations costs an INSERT and a look-up again each.
    assert fifty == five == ONE_MESSAGE_QUERIES + 1 + 4
    assert Contact.objects.count() == Conversation.objects.count() == 55
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {1}


def test_it_records_fifty_statuses_in_as_many_queries_as_five():
    wamids = [f"wamid.OUT{n}" for n in range(50)]
    outbound(wamids)
    receive(p.encode(statuses_body(wamids[:1], "sent")))  # the number is known from now on

    five = queries_for(statuses_body(wamids[:5]))
    fifty = queries_for(statuses_body(wamids, "read"))

    # No contact, conversation or annotation look-ups; the messages are locked and read in
    # one statement, and their new statuses written in one.
    assert fifty == five == 12 + ERASURE_LOCK
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.READ}
    assert StatusEvent.objects.count() == 56


def test_it_numbers_a_batchs_messages_by_metas_timestamp_then_in_the_order_they_came():
    def text(wamid, minutes):
        return p.text_message(
            wamid, sender=sender(1), wamid=wamid, timestamp=T0 + timedelta(minutes=minutes)
        )

    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[],
                    messages=[
                        text("wamid.C", 1),
                        text("wamid.A", 1),
                        text("wamid.B", 1),
                        text("wamid.Z", 0),
                    ],
                )
            )
        )
    )

    in_id_order = Message.objects.order_by("pk").values_list("wamid", flat=True)
    assert list(in_id_order) == ["wamid.Z", "wamid.C", "wamid.A", "wamid.B"]


IN_ONE_BODY = sorted(set(itertools.permutations(["sent", "delivered", "read", "failed", "read"])))


@pytest.mark.parametrize("order", IN_ONE_BODY, ids=["-".join(o) for o in IN_ONE_BODY])
def test_it_applies_statuses_arriving_in_one_body_in_any_order_as_one_by_one(order):
    (message,) = outbound(["wamid.OUT"])
    failure = p.error(131026, "Message undeliverable", details="Receiver is incapable")
    statuses = [
        p.status(
            "wamid.OUT",
            status,
            timestamp=T0 + timedelta(minutes=n),
            errors=[failure] if status == "failed" else None,
        )
        for n, status in enumerate(order)
    ]
    body = p.envelope(p.value(statuses=[*statuses, statuses[0]]))  # and a duplicate

    event = receive(p.encode(body))

    message.refresh_from_db()
    failed_at = T0 + timedelta(minutes=order.index("failed"))
    assert (message.status, message.status_at, message.error_code) == ("failed", failed_at, 131026)
    assert event.summary["events"] == {"StatusUpdate": 6, "duplicate": 1}
    assert StatusEvent.objects.filter(message=message).count() == 5


NO_FAILURE = sorted(set(itertools.permutations(["sent", "delivered", "read", "delivered", "read"])))


@pytest.mark.parametrize("order", NO_FAILURE, ids=["-".join(o) for o in NO_FAILURE])
def test_it_never_moves_a_status_back_within_one_body(order):
    (message,) = outbound(["wamid.OUT"])
    message.status = Message.Status.PENDING
    message.save()
    statuses = [
        p.status("wamid.OUT", status, timestamp=T0 + timedelta(minutes=n))
        for n, status in enumerate(order)
    ]

    receive(p.encode(p.envelope(p.value(statuses=statuses))))

    message.refresh_from_db()
    # As when applied one by one: the first "read" moved it, nothing after it did.
    assert (message.status, message.status_at) == (
        "read",
        T0 + timedelta(minutes=order.index("read")),
    )


def test_it_counts_a_redelivered_batch_as_duplicates_and_changes_nothing():
    body = messages_body([sender(n) for n in range(5)])
    receive(p.encode(body))
    changes = InboxChange.objects.count()

    event = receive(p.encode(body) + b" ")  # the same messages in a body that differs

    assert event.summary["events"] == {"InboundMessage": 5, "duplicate": 5}
    assert Message.objects.count() == 5
    assert InboxChange.objects.count() == changes
    assert set(Conversation.objects.values_list("unread_count", flat=True)) == {1}


def test_it_moves_each_conversations_counters_once_per_batch_by_metas_timestamp():
    def at(minutes):
        return T0 + timedelta(minutes=minutes)

    def batch(*messages):
        receive(p.encode(p.envelope(p.value(contacts=[], messages=list(messages)))))

    batch(p.text_message("5", sender=sender(1), wamid="wamid.5", timestamp=at(5)))
    Conversation.objects.update(state=Conversation.State.CLOSED)

    batch(
        p.text_message("3", sender=sender(1), wamid="wamid.3", timestamp=at(3)),
        p.text_message("7", sender=sender(1), wamid="wamid.7", timestamp=at(7)),
        p.text_message("other", sender=sender(2), wamid="wamid.O", timestamp=at(1)),
        p.text_message("6", sender=sender(1), wamid="wamid.6", timestamp=at(6)),
    )
    batch(p.text_message("2", sender=sender(1), wamid="wamid.2", timestamp=at(2)))

    first = Conversation.objects.get(contact__wa_id=sender(1))
    assert (first.unread_count, first.state) == (5, Conversation.State.OPEN)
    assert (first.last_message.wamid, first.last_message_at, first.last_inbound_at) == (
        "wamid.7",
        at(7),
        at(7),
    )
    other = Conversation.objects.get(contact__wa_id=sender(2))
    assert (other.unread_count, other.last_message.wamid, other.last_inbound_at) == (
        1,
        "wamid.O",
        at(1),
    )


# One commit per POST


class Transactions:
    """Counts commits: of atomic blocks, and of statements run outside one (autocommit)."""

    def __init__(self):
        self.commits = 0
        self.autocommitted = []

    def __call__(self, execute, sql, params, many, context):
        if not connection.in_atomic_block and not sql.startswith("BEGIN"):
            self.autocommitted.append(sql)
        return execute(sql, params, many, context)


@pytest.fixture
def transactions(monkeypatch):
    counter = Transactions()
    commit = connection.commit

    def counting_commit():
        counter.commits += 1
        commit()

    monkeypatch.setattr(connection, "commit", counting_commit)
    with connection.execute_wrapper(counter):
        yield counter


@pytest.mark.django_db(transaction=True)
def test_a_post_commits_its_raw_body_and_the_task_that_applies_it_together_and_nothing_more(
    post_webhook, transactions
):
    response = post_webhook(messages_body([sender(n) for n in range(20)]), apply=False)

    assert response.status_code == 200
    assert transactions.commits == 1
    assert not transactions.autocommitted
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.RECEIVED
    (task,) = DBTaskResult.objects.filter(queue_name=WEBHOOK_QUEUE)
    assert task.args_kwargs["args"] == [event.pk]
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_applies_a_body_in_one_commit_and_queues_one_automation_task_after_it(
    post_webhook, transactions
):
    post_webhook(messages_body([sender(n) for n in range(20)]), apply=False)
    transactions.commits = 0

    run_webhook_tasks()

    # The body applied in one transaction (the task row's claim and result are single
    # statements of the worker's own).
    assert transactions.commits == 1
    (task,) = queued()
    new = Message.objects.order_by("timestamp", "pk").values_list("pk", flat=True)
    assert task.args_kwargs["args"] == list(new)
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_it_commits_the_raw_body_marked_failed_when_applying_fails(
    post_webhook, message_insert_failure
):
    message_insert_failure.start()

    response = post_webhook(messages_body([sender(1), sender(2)]))

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED
    # Applied again item by item after the bulk step failed: each item's path and error type.
    lines = event.error.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "entry[0].changes[0].value.messages[0]",
        "entry[0].changes[0].value.messages[1]",
    ]
    assert not Message.objects.exists()
    assert not queued().exists()


# Falling back to one by one


@pytest.fixture
def bad_wamid(django_db_blocker):
    """Make the database refuse one message (wamid.BAD), as a value it cannot store would."""
    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION test_refuse_bad() RETURNS trigger AS $$ BEGIN "
            "IF NEW.wamid = 'wamid.BAD' THEN RAISE EXCEPTION 'refused for a test'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_refuse_bad BEFORE INSERT ON messaging_message "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_bad()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_refuse_bad ON messaging_message",
            "DROP FUNCTION IF EXISTS test_refuse_bad()",
        ]
    else:
        create = [
            "CREATE TRIGGER test_refuse_bad BEFORE INSERT ON messaging_message "
            "WHEN NEW.wamid = 'wamid.BAD' BEGIN SELECT RAISE(ABORT, 'refused for a test'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_refuse_bad"]
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for statement in drop:
            cursor.execute(statement)


def test_it_applies_the_rest_of_a_batch_one_by_one_when_one_message_breaks_the_bulk_insert(
    bad_wamid, django_capture_on_commit_callbacks
):
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=sender(1), name="Amina")],
            messages=[
                p.text_message("first", sender=sender(1), wamid="wamid.A", timestamp=T0),
                p.text_message("bad", sender=sender(1), wamid="wamid.BAD", timestamp=T0),
                p.text_message("third", sender=sender(1), wamid="wamid.C", timestamp=T0),
            ],
        )
    )

    with django_capture_on_commit_callbacks(execute=True):
        event = receive(p.encode(body))

    assert event.state == WebhookEvent.State.FAILED
    assert event.error.startswith("entry[0].changes[0].value.messages[1]: ")
    assert sorted(Message.objects.values_list("wamid", flat=True)) == ["wamid.A", "wamid.C"]
    assert Conversation.objects.get().unread_count == 2
    (task,) = queued()
    assert sorted(task.args_kwargs["args"]) == sorted(Message.objects.values_list("pk", flat=True))


def test_it_applies_the_batch_item_by_item_when_moving_the_counters_fails():
    failed = []

    def refuse_the_first_counters_update(execute, sql, params, many, context):
        # As a lock timeout would: once, then the database takes the statement again.
        if not failed and sql.lstrip().startswith("UPDATE messaging_conversation SET"):
            failed.append(sql)
            raise DatabaseError("canceling statement due to lock timeout")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_the_first_counters_update):
        event = receive(p.encode(messages_body([sender(1), sender(2)])))

    assert failed, "the set-based counters update was never refused"

    assert event.state == WebhookEvent.State.PROCESSED, event.error
    assert Message.objects.count() == 2
    assert list(Conversation.objects.values_list("unread_count", flat=True)) == [1, 1]
    assert InboxChange.objects.count() == 2  # nothing twice from the rolled-back attempt


# Concurrency (PostgreSQL: SQLite serialises writers, so nothing races)


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every write, so nothing races")


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_it_applies_concurrent_overlapping_batches_without_deadlocks_or_duplicates(settings):
    postgresql_only()
    senders = [sender(n) for n in range(30)]
    shared = [  # the same messages, redelivered in every body
        p.text_message("shared", sender=wa_id, wamid=f"wamid.SHARED{n}", timestamp=T0)
        for n, wa_id in enumerate(senders[:10])
    ]
    bodies = []
    for copy in range(6):
        order = senders[:]
        random.Random(copy).shuffle(order)
        own = [
            p.text_message(f"copy {copy}", sender=wa_id, wamid=f"wamid.C{copy}-{n}", timestamp=T0)
            for n, wa_id in enumerate(order)
        ]
        bodies.append(
            p.encode(
                p.envelope(
                    p.value(
                        contacts=[p.contact(wa_id=wa_id, name="Customer") for wa_id in order],
                        # Meta may batch the same messages differently, in their order.
                        messages=own + shared if copy % 2 else shared + own,
                    )
                )
            )
        )

    statuses = post_concurrently(bodies, settings)

    assert statuses == [200] * 6
    assert list(WebhookEvent.objects.values_list("error", flat=True)) == [""] * 6
    assert Message.objects.count() == 6 * 30 + 10
    assert Contact.objects.count() == Conversation.objects.count() == 30
    unread = dict(Conversation.objects.values_list("contact__wa_id", "unread_count"))
    assert unread == {wa_id: 6 + (1 if n < 10 else 0) for n, wa_id in enumerate(senders)}


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_it_applies_concurrent_status_batches_for_the_same_messages_without_going_back(settings):
    postgresql_only()
    wamids = [f"wamid.OUT{n}" for n in range(40)]
    outbound(wamids)
    bodies = []
    for copy, status in enumerate(["delivered", "read", "sent", "read", "delivered", "sent"]):
        order = wamids[:]
        random.Random(copy).shuffle(order)
        bodies.append(p.encode(statuses_body(order, status)))

    statuses = post_concurrently(bodies, settings)

    assert statuses == [200] * 6
    assert list(WebhookEvent.objects.values_list("error", flat=True)) == [""] * 6
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.READ}
    assert StatusEvent.objects.count() == 40 * 3
