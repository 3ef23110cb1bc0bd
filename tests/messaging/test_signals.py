"""messaging announces what happened through its signals; the apps above it only listen.

The base layer works with nobody listening (automation disconnected), and automation, which
only listens, still greets and routes a customer whose message arrives through the webhook.
"""

import pytest

from automation import receivers
from automation.models import AutoReply, Label, RoutingRule
from messaging import payloads as p
from messaging import signals
from messaging.ingest import receive
from messaging.models import Message
from messaging.signature import sign
from tests.teamwork_support import AMINA, automatic_replies, inbound, queued, run_queued
from tests.webhook_support import URL, run_webhook_tasks

pytestmark = pytest.mark.django_db

AUTOMATION_UID = "automation.run_for_new_messages"


@pytest.fixture
def automation_disconnected():
    signals.messages_received.disconnect(dispatch_uid=AUTOMATION_UID)
    yield
    signals.messages_received.connect(receivers.run_for_new_messages, dispatch_uid=AUTOMATION_UID)


@pytest.fixture
def announced():
    """Every messages_received call, as the list of message ids it carried."""
    calls = []

    def listener(sender, message_ids, **kwargs):
        calls.append(list(message_ids))

    signals.messages_received.connect(listener, weak=False, dispatch_uid="tests.listener")
    yield calls
    signals.messages_received.disconnect(dispatch_uid="tests.listener")


def test_ingest_announces_new_messages_after_commit_with_automation_disconnected(
    automation_disconnected, announced, django_capture_on_commit_callbacks
):
    body = p.encode(inbound(p.text_message("Hello", sender=AMINA, wamid="wamid.SIGNAL")))

    with django_capture_on_commit_callbacks() as callbacks:
        receive(body)
        assert announced == []  # not before the rows commit
    for callback in callbacks:
        callback()

    assert announced == [[Message.objects.get(wamid="wamid.SIGNAL").pk]]
    assert queued().count() == 0  # nobody listening for automation: nothing queued


def test_a_redelivered_message_is_not_announced_again(
    announced, django_capture_on_commit_callbacks
):
    body = p.encode(inbound(p.text_message("Hello", sender=AMINA, wamid="wamid.TWICE")))

    with django_capture_on_commit_callbacks(execute=True):
        receive(body)
    with django_capture_on_commit_callbacks(execute=True):
        receive(body)

    assert announced == [[Message.objects.get(wamid="wamid.TWICE").pk]]


def test_a_failing_listener_neither_stops_the_others_nor_the_webhook(
    announced, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("listener bug")

    signals.messages_received.connect(broken, weak=False, dispatch_uid="tests.broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            receive(p.encode(inbound(p.text_message("Hi", sender=AMINA, wamid="wamid.ROBUST"))))
    finally:
        signals.messages_received.disconnect(dispatch_uid="tests.broken")

    assert announced == [[Message.objects.get(wamid="wamid.ROBUST").pk]]
    assert queued().count() == 1  # automation, connected, still queued its run


def test_automation_greets_and_routes_a_message_that_arrives_through_the_webhook(
    client, settings, django_capture_on_commit_callbacks
):
    AutoReply.objects.create(kind="greeting", language="en", text="Welcome, {first_name}!")
    RoutingRule.objects.create(
        name="Invoices",
        match=RoutingRule.Match.CONTAINS,
        pattern="invoice",
        action=RoutingRule.Action.LABEL,
        label=Label.objects.create(name="Billing"),
    )
    body = p.encode(inbound(p.text_message("Where is my invoice?", sender=AMINA)))

    response = client.post(
        URL,
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(body, settings.WHATSAPP_APP_SECRETS[0])},
    )
    with django_capture_on_commit_callbacks(execute=True):
        run_webhook_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        run_queued()

    assert response.status_code == 200
    message = Message.objects.get(direction="in")
    assert list(message.conversation.labels.values_list("name", flat=True)) == ["Billing"]
    assert automatic_replies() == ["Welcome, Amina!"]
