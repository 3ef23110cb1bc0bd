"""Automation's periodic jobs and staff e-mails: auto-close, waiting alerts, retention of
notes, and how notifications are delivered."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.tasks.signals import task_enqueued
from django.utils import timezone

from automation.maintenance import automation_upkeep
from automation.models import Note, StaffNotification, StaffPreferences, WaitAlert
from automation.notifications import deliver as deliver_notification
from automation.notifications import notify
from messaging.hooks import maintenance_jobs
from messaging.models import Conversation, Message
from messaging.sending import queue_text_reply
from staff.models import StaffProfile
from tests.staff_support import grant
from tests.teamwork_support import NOTIFICATION_TASK, deliver, queued, run_queued

pytestmark = pytest.mark.django_db


def test_the_workers_maintenance_runs_automations_upkeep():
    assert automation_upkeep in maintenance_jobs()


# Auto-close


def test_idle_open_conversations_are_closed_and_say_so_and_the_next_message_reopens(settings):
    settings.AUTOMATION_AUTO_CLOSE_DAYS = 7
    idle = deliver("old", sender="966500000001", minutes_ago=8 * 24 * 60).conversation
    recent = deliver("new", sender="966500000002", minutes_ago=6 * 24 * 60).conversation

    counts = automation_upkeep()

    assert counts["auto_close"] == 1
    idle.refresh_from_db()
    recent.refresh_from_db()
    assert (idle.state, recent.state) == ("closed", "open")
    (note,) = Note.objects.filter(conversation=idle)
    assert note.describe() == "Closed automatically after 7 days without activity."
    assert automation_upkeep()["auto_close"] == 0

    deliver("I'm back", sender="966500000001")
    idle.refresh_from_db()
    assert idle.state == "open"


def test_auto_close_can_be_switched_off(settings):
    settings.AUTOMATION_AUTO_CLOSE_DAYS = 0
    conversation = deliver(minutes_ago=100 * 24 * 60).conversation

    automation_upkeep()

    conversation.refresh_from_db()
    assert conversation.state == "open"


# Waiting alerts


@pytest.fixture
def alerts(settings):
    settings.AUTOMATION_UNANSWERED_ALERT_MINUTES = 30
    settings.AUTOMATION_AUTO_CLOSE_DAYS = 0


def test_a_customer_waiting_past_the_threshold_alerts_the_assignee_once_per_wait(
    alerts, staff_user, django_capture_on_commit_callbacks
):
    staff_user.email = "amina@example.org"
    staff_user.save()
    conversation = deliver("Hello?", minutes_ago=45).conversation
    deliver("Anyone?", minutes_ago=5)  # still the same wait
    Conversation.objects.update(assignee=staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        automation_upkeep()
        automation_upkeep()
    run_queued(NOTIFICATION_TASK)

    (email,) = mail.outbox
    assert email.to == ["amina@example.org"]
    assert email.subject == "[WABA Al Qalam] A conversation is waiting for an answer"
    assert "more than 30 minutes" in email.body
    assert (
        WaitAlert.objects.get().waiting_since == Message.objects.order_by("timestamp")[0].timestamp
    )

    # Staff answer; the customer writes again and waits again: a new wait, a new alert.
    reply = queue_text_reply(conversation, staff_user, "Here!")
    Message.objects.filter(pk=reply.pk).update(timestamp=timezone.now() - timedelta(minutes=42))
    Message.objects.filter(text="Anyone?").update(timestamp=timezone.now() - timedelta(minutes=40))
    with django_capture_on_commit_callbacks(execute=True):
        automation_upkeep()
    run_queued(NOTIFICATION_TASK)
    assert len(mail.outbox) == 2
    assert WaitAlert.objects.count() == 2


def test_a_staff_reply_ends_the_wait_but_an_automatic_reply_does_not(alerts, staff_user):
    answered = deliver("Hello?", sender="966500000001", minutes_ago=45).conversation
    automated = deliver("Hello?", sender="966500000002", minutes_ago=45).conversation
    Conversation.objects.update(assignee=staff_user)
    queue_text_reply(answered, staff_user, "Hi!")
    Message.objects.create(
        conversation=automated,
        direction="out",
        type="text",
        text="We are closed.",
        timestamp=timezone.now(),
        status="sent",
    )

    automation_upkeep()

    assert list(StaffNotification.objects.values_list("conversation", "kind")) == [
        (automated.pk, "waiting")
    ]


def test_unassigned_waiting_conversations_alert_whoever_receives_waiting_alerts(
    alerts, supervisor, staff_user, django_user_model
):
    grant(supervisor, "receive_waiting_alerts")
    opted_out = grant(
        django_user_model.objects.create_user("rania", is_staff=True),
        "view_conversation",
        "receive_waiting_alerts",
    )
    StaffPreferences.objects.create(user=opted_out, notify_waiting=False)
    deliver("Hello?", minutes_ago=45)

    automation_upkeep()

    assert list(StaffNotification.objects.values_list("user__username", flat=True)) == ["salma"]


def test_closed_conversations_and_waits_below_the_threshold_raise_no_alert(alerts, staff_user):
    deliver("just now", sender="966500000001", minutes_ago=10)
    closed = deliver("long ago", sender="966500000002", minutes_ago=120).conversation
    Conversation.objects.update(assignee=staff_user)
    Conversation.objects.filter(pk=closed.pk).update(state="closed")

    automation_upkeep()

    assert not StaffNotification.objects.exists()


# Retention of what automation keeps


# Delivery


def test_a_rolled_back_action_emails_nobody_and_enqueues_nothing(
    staff_user, django_capture_on_commit_callbacks
):
    staff_user.email = "amina@example.org"
    staff_user.save()
    conversation = deliver().conversation
    enqueued = []

    def seen(sender, task_result, **kwargs):
        enqueued.append(task_result)

    def assign_then_fail():
        with transaction.atomic():
            notify(staff_user, "assigned", conversation)
            raise RuntimeError("the assignment failed")

    # The task backend's own signal: it would also catch a task enqueued straight away,
    # whose queue row the rollback would hide.
    task_enqueued.connect(seen)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
        ):
            assign_then_fail()
    finally:
        task_enqueued.disconnect(seen)

    assert (enqueued, callbacks) == ([], [])
    assert not StaffNotification.objects.exists()
    assert mail.outbox == []


def test_a_committed_notification_is_enqueued_after_the_commit_and_emailed_by_the_task(
    staff_user, supervisor, django_capture_on_commit_callbacks
):
    staff_user.email = "amina@example.org"
    staff_user.save()
    conversation = deliver().conversation

    with django_capture_on_commit_callbacks() as callbacks:
        notify(staff_user, "assigned", conversation, actor=supervisor)
        assert not queued(NOTIFICATION_TASK).exists()
    assert len(callbacks) == 1
    callbacks[0]()
    assert mail.outbox == []  # the worker sends it, not the committing request
    run_queued(NOTIFICATION_TASK)

    (email,) = mail.outbox
    assert email.to == ["amina@example.org"]


def test_a_notification_is_sent_once_even_if_its_task_runs_twice(staff_user, supervisor):
    staff_user.email = "amina@example.org"
    staff_user.save()
    notification = notify(staff_user, "assigned", deliver().conversation, actor=supervisor)

    assert deliver_notification(notification.pk) == "sent"
    assert deliver_notification(notification.pk) is None

    assert len(mail.outbox) == 1


def test_people_without_an_email_address_or_who_opted_out_are_skipped(staff_user, supervisor):
    conversation = deliver().conversation
    no_address = notify(staff_user, "assigned", conversation, actor=supervisor)
    assert deliver_notification(no_address.pk) == "skipped"

    staff_user.email = "amina@example.org"
    staff_user.save()
    StaffPreferences.objects.create(user=staff_user, notify_mentioned=False)
    assert notify(staff_user, "mentioned", conversation, actor=supervisor) is None
    assert mail.outbox == []


def test_people_who_cannot_open_the_conversation_are_not_notified(django_user_model):
    stranger = django_user_model.objects.create_user("guest", is_staff=True, email="g@example.org")

    assert notify(stranger, "assigned", deliver().conversation) is None


def test_emails_link_to_the_conversation_and_the_settings_page_on_the_site_url(
    staff_user, supervisor, settings
):
    settings.SITE_URL = "https://inbox.example.org"
    staff_user.email = "amina@example.org"
    staff_user.save()
    StaffProfile.objects.create(user=staff_user, language="ar")
    conversation = deliver().conversation
    notification = notify(staff_user, "assigned", conversation, actor=supervisor)

    deliver_notification(notification.pk)

    (email,) = mail.outbox
    assert f"https://inbox.example.org/c/{conversation.pk}/" in email.body
    assert "https://inbox.example.org/settings/notifications/" in email.body
