"""E-mail to staff: a conversation was assigned to them, they were @mentioned in a note, or a
conversation has waited too long for an answer.

`notify()` records a StaffNotification in the caller's transaction and queues the sending task
for after the commit: a rolled-back assignment or note e-mails nobody, and no e-mail is ever
sent inside a web request or the webhook. The task claims the row with a conditional UPDATE,
so a duplicate task sends nothing twice.

E-mails say who did what, and link to the conversation; they carry no message or note text,
no customer name and no phone number (the privacy policy limits where content goes). Each is
written in the recipient's interface language. People switch each kind off on their
notification settings page (StaffPreferences).
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from automation.models import StaffNotification, StaffPreferences
from messaging.queues import NOTIFICATIONS
from staff.models import StaffProfile
from staff.permissions import can_open, users_with_perm

logger = logging.getLogger(__name__)

Kind = StaffNotification.Kind
PREFERENCE = {
    Kind.ASSIGNED: "notify_assigned",
    Kind.MENTIONED: "notify_mentioned",
    Kind.WAITING: "notify_waiting",
}


def preferences(user):
    """The person's preferences (defaults when they never changed any)."""
    return StaffPreferences.objects.filter(user=user).first() or StaffPreferences(user=user)


def wants(user, kind):
    return user.is_active and user.is_staff and getattr(preferences(user), PREFERENCE[kind])


def notify(user, kind, conversation, *, actor=None):
    """Record an e-mail for `user` and send it from a task once the transaction commits.
    Nothing for people acting on themselves, inactive accounts, people who opted out or who
    may not open the conversation."""
    if user is None or (actor is not None and actor.pk == user.pk):
        return None
    if not wants(user, kind) or not can_open(user, conversation):
        return None
    notification = StaffNotification.objects.create(
        user=user, kind=kind, conversation=conversation, actor=actor
    )
    transaction.on_commit(lambda: enqueue_delivery(notification.pk))
    return notification


def enqueue_delivery(notification_id):
    deliver_notification.enqueue(notification_id)


def notify_assignment(conversation, assignee, *, actor=None):
    """A conversation was (re)assigned to `assignee` by `actor` (None: automation)."""
    if assignee is not None:
        notify(assignee, Kind.ASSIGNED, conversation, actor=actor)


def waiting_alert_recipients(conversation):
    """The assignee; for an unassigned conversation, everyone who receives waiting alerts
    (the permission automation.receive_waiting_alerts, or superusers)."""
    if conversation.assignee_id:
        assignee = conversation.assignee
        return [assignee] if assignee.is_active else []
    receivers = users_with_perm("automation.receive_waiting_alerts")
    return list(receivers.filter(is_staff=True).order_by("pk"))


# Sending (in the task).


@task(queue_name=NOTIFICATIONS.name, priority=NOTIFICATIONS.priority)
def deliver_notification(notification_id):
    """Send one staff notification e-mail, in the worker."""
    return deliver(notification_id)


def deliver(notification_id):
    """Send one recorded notification by e-mail, once. Returns its final status."""
    now = timezone.now()
    claimed = StaffNotification.objects.filter(
        pk=notification_id, status=StaffNotification.Status.PENDING
    ).update(status=StaffNotification.Status.SENT, sent_at=now)
    if not claimed:
        return None
    notification = StaffNotification.objects.select_related(
        "user", "actor", "conversation__business_number"
    ).get(pk=notification_id)
    user = notification.user
    if not user.email or not wants(user, notification.kind):
        StaffNotification.objects.filter(pk=notification_id).update(
            status=StaffNotification.Status.SKIPPED
        )
        return StaffNotification.Status.SKIPPED
    with translation.override(StaffProfile.objects.language_of(user)):
        subject, body = compose(notification)
    try:
        send_mail(subject, body, None, [user.email], using="default")
    except Exception as exc:  # SMTP down, refused address, …: recorded, not retried
        StaffNotification.objects.filter(pk=notification_id).update(
            status=StaffNotification.Status.FAILED
        )
        logger.warning("notification %s not sent (%s)", notification_id, type(exc).__name__)
        return StaffNotification.Status.FAILED
    logger.info("notification %s (%s) sent", notification_id, notification.kind)
    return StaffNotification.Status.SENT


def absolute(path):
    return f"{settings.SITE_URL}{path}" if settings.SITE_URL else path


def compose(notification):
    """(subject, body) of the e-mail, in the active language. Who, what, and a link."""
    conversation = notification.conversation
    number = str(conversation.business_number) if conversation else ""
    actor = notification.actor
    who = (actor.get_full_name() or actor.get_username()) if actor else _("Automation")
    values = {"who": who, "number": number}
    if notification.kind == Kind.ASSIGNED:
        subject = _("A conversation was assigned to you")
        text = _("%(who)s assigned a conversation on %(number)s to you.") % values
    elif notification.kind == Kind.MENTIONED:
        subject = _("You were mentioned in an internal note")
        text = _("%(who)s mentioned you in an internal note on a conversation on %(number)s.")
        text %= values
    else:
        values["minutes"] = settings.AUTOMATION_UNANSWERED_ALERT_MINUTES
        subject = _("A conversation is waiting for an answer")
        text = _("A customer on %(number)s has waited more than %(minutes)s minutes for an answer.")
        text %= values
    lines = [text, ""]
    if conversation:
        link = absolute(reverse("inbox:conversation", args=[conversation.pk]))
        lines += [_("Open the conversation:"), link, ""]
    lines += [
        "-- ",
        _("WABA Al Qalam. To choose which e-mails you receive: %(url)s")
        % {"url": absolute(reverse("inbox:notification_settings"))},
    ]
    return f"[WABA Al Qalam] {subject}", "\n".join(lines)
