"""A task applies its body together with the others waiting (messaging.ingest.apply_waiting):
each body keeps its own outcome, contacts and place in line; nothing is applied twice, and
the tasks of the bodies it took are finished with it."""

import threading

import pytest
from django.db import connection, transaction
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging import signals
from messaging.ingest import WEBHOOK_QUEUE, accept, apply_stored_webhook, apply_waiting
from messaging.models import Contact, Conversation, Message, WebhookEvent
from tests.webhook_support import run_webhook_tasks

pytestmark = pytest.mark.django_db


def sender(n):
    return f"96650{n:07d}"


def text_body(n, *, wamid=None, name=None):
    return p.encode(
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=sender(n), name=name or f"Customer {n}")],
                messages=[p.text_message(f"message {n}", sender=sender(n), wamid=wamid)],
            )
        )
    )


def stored(bodies):
    return [accept(body) for body in bodies]


def apply_tasks():
    return DBTaskResult.objects.filter(task_path=apply_stored_webhook.module_path)


def test_one_task_applies_every_waiting_body_and_finishes_their_tasks():
    events = stored(text_body(n) for n in range(5))

    ran = run_webhook_tasks()

    assert ran == 1
    assert Message.objects.count() == 5
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"processed"}
    assert set(apply_tasks().values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
    assert WebhookEvent.objects.get(pk=events[3].pk).attempts == 1


def test_each_body_records_its_own_counts_and_only_the_contacts_it_names():
    first, second = stored([text_body(1), text_body(2)])

    run_webhook_tasks()

    for event, n in ((first, 1), (second, 2)):
        event.refresh_from_db()
        assert event.summary["events"] == {"InboundMessage": 1}
        assert list(event.contacts.values_list("wa_id", flat=True)) == [sender(n)]


def test_a_redelivery_in_the_same_batch_is_a_duplicate_of_its_first_copy_only():
    first, again = stored(
        [text_body(1, wamid="wamid.TWICE"), text_body(1, wamid="wamid.TWICE", name="Renamed")]
    )

    run_webhook_tasks()

    assert Message.objects.filter(wamid="wamid.TWICE").count() == 1
    first.refresh_from_db()
    again.refresh_from_db()
    assert first.summary["events"] == {"InboundMessage": 1}
    assert again.summary["events"] == {"InboundMessage": 1, "duplicate": 1}
    assert Conversation.objects.get().unread_count == 1


def test_a_body_that_fails_is_recorded_failed_and_the_others_apply():
    good = stored([text_body(1)])[0]
    bad = accept(b'{"object": "whatsapp_business_account", "entry": [{"changes": "not a list"')
    later = stored([text_body(2)])[0]

    run_webhook_tasks()

    for event in (good, bad, later):
        event.refresh_from_db()
    assert (good.state, later.state) == ("processed", "processed")
    assert bad.state == "failed"
    assert "not JSON" in bad.error
    assert Message.objects.count() == 2


def test_a_number_change_between_two_messages_is_applied_in_its_place():
    old, new = sender(1), sender(9)
    stored(
        [
            text_body(1),
            p.encode(p.envelope(p.value(messages=[p.system_number_change(old, new)]))),
            p.encode(
                p.envelope(
                    p.value(
                        contacts=[p.contact(wa_id=new, name="Customer 1")],
                        messages=[p.text_message("from my new number", sender=new)],
                    )
                )
            ),
        ]
    )

    run_webhook_tasks()

    contact = Contact.objects.get()
    assert contact.wa_id == new
    assert Conversation.objects.get().messages.count() == 3


def test_new_messages_of_a_batch_are_announced_once_after_it_commits(
    django_capture_on_commit_callbacks,
):
    announced = []

    def receiver(sender, message_ids, **kwargs):
        announced.append(sorted(message_ids))

    stored(text_body(n) for n in range(3))
    signals.messages_received.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_webhook_tasks()
    finally:
        signals.messages_received.disconnect(receiver)

    assert announced == [sorted(Message.objects.values_list("pk", flat=True))]


def test_a_batch_stops_before_the_bodies_that_would_exceed_its_size():
    events = stored(text_body(n) for n in range(4))
    size = len(bytes(events[0].body))

    applied = apply_waiting(events[0].pk, max_bytes=2 * size + 10)

    assert [event.pk for event in applied] == [event.pk for event in events[:2]]
    assert WebhookEvent.objects.filter(state="received").count() == 2


def test_a_large_body_is_applied_alone():
    events = stored(text_body(n) for n in range(3))

    applied = apply_waiting(events[1].pk, max_bytes=10)

    assert [event.pk for event in applied] == [events[1].pk]


def test_a_task_takes_its_own_body_first_then_the_oldest_waiting():
    events = stored(text_body(n) for n in range(4))

    applied = apply_waiting(events[3].pk, max_bodies=2)

    assert sorted(event.pk for event in applied) == [events[0].pk, events[3].pk]
    waiting = apply_tasks().filter(status=TaskResultStatus.READY)
    assert sorted(task.args_kwargs["args"][0] for task in waiting) == [
        events[1].pk,
        events[2].pk,
        events[3].pk,
    ]


def test_a_task_whose_body_was_applied_drains_the_others_waiting():
    events = stored(text_body(n) for n in range(3))
    apply_waiting(events[0].pk, max_bodies=1)

    applied = apply_waiting(events[0].pk)

    assert [event.pk for event in applied] == [events[1].pk, events[2].pk]
    assert Message.objects.count() == 3


def test_a_failed_body_redelivered_is_applied_again_by_its_task():
    event = accept(text_body(1))
    WebhookEvent.objects.filter(pk=event.pk).update(state=WebhookEvent.State.FAILED)

    applied = apply_waiting(event.pk)

    assert [(e.pk, e.state) for e in applied] == [(event.pk, "processed")]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises every write, so nothing races",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_skips_the_bodies_another_is_applying_and_takes_the_next():
    events = stored(text_body(n) for n in range(4))
    held = threading.Event()
    release = threading.Event()

    def another_worker_applying():
        try:
            with transaction.atomic():
                list(
                    WebhookEvent.objects.select_for_update()
                    .filter(pk__in=[events[0].pk, events[1].pk])
                    .values_list("pk", flat=True)
                )
                held.set()
                release.wait(30)
        finally:
            connection.close()

    other = threading.Thread(target=another_worker_applying)
    other.start()
    try:
        assert held.wait(30)
        applied = apply_waiting(events[0].pk)
    finally:
        release.set()
        other.join()

    assert [event.pk for event in applied] == [events[2].pk, events[3].pk]
    assert WebhookEvent.objects.filter(state="received").count() == 2
    waiting = DBTaskResult.objects.filter(queue_name=WEBHOOK_QUEUE, status=TaskResultStatus.READY)
    assert sorted(task.args_kwargs["args"][0] for task in waiting) == [events[0].pk, events[1].pk]
