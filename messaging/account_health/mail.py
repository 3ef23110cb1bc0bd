"""E-mail to administrators about an account event, once, from a task.

messaging.account_health.record queues `deliver_account_event` after the commit that stored a
new event worth telling. The task takes the event with a conditional UPDATE of `notified_at`:
a duplicate task, or a replay, finds it taken and sends nothing, so each event is e-mailed
once, however often Meta delivers it (the row itself is stored once: its fingerprint).

Who: the active staff who may see account events (the permission messaging.view_accountevent:
superusers, and the Supervisor role) and may see this one (AccountEvent.objects.visible_to:
a number outside their numbers is not theirs to hear about), with an e-mail address. Each
e-mail is written in its reader's interface language; it names the account, number or
template and what WhatsApp said, and links to the event in the admin: there is no customer
in it.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.tasks import task
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from messaging.account_health.models import AccountEvent
from messaging.account_health.wording import describe
from messaging.queues import NOTIFICATIONS
from staff.models import StaffProfile
from staff.permissions import SEE_ACCOUNT_EVENTS, users_with_perm

logger = logging.getLogger(__name__)


@task(queue_name=NOTIFICATIONS.name, priority=NOTIFICATIONS.priority)
def deliver_account_event(event_id: int) -> int:
    return deliver(event_id)


def deliver(event_id: int) -> int:
    """E-mail the event to those who should hear of it, unless it was taken before; the
    number of e-mails sent."""
    taken = AccountEvent.objects.filter(pk=event_id, notified_at__isnull=True).update(
        notified_at=timezone.now()
    )
    if not taken:
        return 0
    event = AccountEvent.objects.select_related("business_number", "template").get(pk=event_id)
    sent = 0
    for user in recipients(event):
        with translation.override(StaffProfile.objects.language_of(user)):
            subject, body = compose(event)
        try:
            send_mail(subject, body, None, [user.email], using="default")
        except Exception as exc:  # SMTP down, refused address, …: the others still get theirs
            logger.warning("account event %s: e-mail not sent (%s)", event_id, type(exc).__name__)
        else:
            sent += 1
    logger.info("account event %s (%s %s): %d e-mail(s)", event_id, event.kind, event.event, sent)
    return sent


def recipients(event: AccountEvent) -> list[User]:
    people = users_with_perm(SEE_ACCOUNT_EVENTS).filter(is_staff=True).exclude(email="")
    return [
        user
        for user in people.order_by("pk")
        if AccountEvent.objects.visible_to(user).filter(pk=event.pk).exists()
    ]


def compose(event: AccountEvent) -> tuple[str, str]:
    """(subject, body) in the active language."""
    if event.kind in {AccountEvent.Kind.TEMPLATE_STATUS, AccountEvent.Kind.TEMPLATE_CATEGORY}:
        subject = _("A WhatsApp template changed")
    elif event.kind == AccountEvent.Kind.QUALITY:
        subject = _("The quality of a WhatsApp number changed")
    else:
        subject = _("The WhatsApp business account changed")
    link = reverse("admin:messaging_accountevent_change", args=[event.pk])
    lines = [
        describe(event),
        "",
        _("Details and history:"),
        f"{settings.SITE_URL}{link}",
        "",
        "-- ",
        _("WABA Al Qalam. You receive this as you may see WhatsApp account events."),
    ]
    return f"[WABA Al Qalam] {subject}", "\n".join(lines)
