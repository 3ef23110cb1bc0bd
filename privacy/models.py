"""What the privacy policy promises, as data: deletion requests, erasure tombstones, and the
audit trail of staff actions that touch personal data."""

from datetime import datetime, timedelta
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from messaging.models import Contact, Conversation, Message, StatusEvent, WebhookEvent
from messaging.querysets import Viewer
from staff.models import StaffProfile


def holding(value: Any) -> Q:
    """Contacts holding `value` (a value or an expression) as their phone number or BSUID:
    the id a request was given may be either."""
    return Q(wa_id=value) | Q(user_id=value)


class DeletionRequestQuerySet(models.QuerySet["DeletionRequest"]):
    def open(self) -> Self:
        return self.filter(status__in=self.model.OPEN_STATES)

    def visible_to(self, user: Viewer) -> Self:
        """The requests `user` may see: with every business number, all; limited to some
        (StaffProfile.objects.number_scope), those of which every contact and id named is
        someone who wrote to one of their numbers (a contact they may see). A request that
        names nobody any more (erasure cleared it) shows only dates, counts and who handled
        it, and every officer sees it. The whole policy: privacy.admin.DeletionRequestAdmin.
        """
        if StaffProfile.objects.number_scope(user) is None:
            return self
        contacts = Contact.objects.visible_to(user)
        return self.filter(
            Q(contact__isnull=True) | Q(contact__in=contacts),
            Q(phone="") | Exists(contacts.filter(holding(OuterRef("phone")))),
            Q(user_id="") | Exists(contacts.filter(holding(OuterRef("user_id")))),
        )

    def record_from_inbox(
        self, contact: Contact, by: AbstractBaseUser
    ) -> tuple["DeletionRequest", bool]:
        """The customer asked a member of staff (`by`) on WhatsApp: a request for a privacy
        officer to handle. One open request per contact: returns (the open one, False) when
        there is one already, else (the new one, True)."""
        with transaction.atomic():
            # Locking the contact makes two quick presses (or two colleagues) record one.
            type(contact).objects.select_for_update().filter(pk=contact.pk).first()
            existing = self.open().filter(contact=contact).order_by("received_at").first()
            if existing is not None:
                return existing, False
            return self.create(
                channel=self.model.Channel.WHATSAPP,
                contact=contact,
                phone=contact.wa_id or "",
                user_id=contact.user_id or "",
                received_at=timezone.now(),
                notes=gettext("Recorded from the inbox by %(name)s.") % {"name": by.get_username()},
            ), True


class DeletionRequest(models.Model):
    """A person asked for their data to be deleted (policy section 7)."""

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", _("WhatsApp message")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone call")
        IN_PERSON = "in_person", _("In person")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")

    OPEN_STATES = (Status.RECEIVED, Status.IN_PROGRESS)

    # Who asked, as they identified themselves. Cleared when the request completes: after
    # erasure the tombstone's keyed hash is all that links the request to the person.
    phone = models.CharField(_("phone number"), max_length=32, blank=True)
    user_id = models.CharField(_("business-scoped user id"), max_length=160, blank=True)
    contact = models.ForeignKey(
        "messaging.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deletion_requests",
    )
    channel = models.CharField(_("received by"), max_length=12, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who handled it, in words: the username (kept if the account is deleted later), or
    # "<OS user> (command line)" for `manage.py erase_contact` run without --handled-by.
    handled_by_name = models.CharField(_("handled by (name)"), max_length=150, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # What was erased, as counts per kind ({"messages": 12, "raw webhook bodies": 3, …}).
    erased = models.JSONField(_("erased"), default=dict, blank=True)

    objects = DeletionRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        ordering = ["-received_at"]
        permissions = [
            ("erase_contact", _("Can erase a contact's data")),
            ("export_contact", _("Can export a contact's data")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="deletion_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATES

    @property
    def deadline(self) -> datetime:
        return self.received_at + timedelta(days=settings.DELETION_REQUEST_DEADLINE_DAYS)

    @property
    def deleted_after(self) -> datetime | None:
        """When retention deletes this record (None while the request is open)."""
        if self.status in {self.Status.RECEIVED, self.Status.IN_PROGRESS}:
            return None
        closed = self.completed_at or self.received_at
        return closed + timedelta(days=settings.RETENTION_DELETION_REQUESTS_DAYS)

    @property
    def is_overdue(self) -> bool:
        open_states = {self.Status.RECEIVED, self.Status.IN_PROGRESS}
        return self.status in open_states and timezone.now() > self.deadline


class ErasureTombstone(models.Model):
    """What remains of an erased person: keyed hashes of their ids, and who erased them when.

    A webhook redelivered after erasure (Meta retries for up to 7 days) is recognised by these
    hashes and dropped, without the ids themselves being kept.
    """

    id_hash = models.CharField(max_length=64, db_index=True)
    deletion_request = models.ForeignKey(
        DeletionRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("erasure tombstone")
        verbose_name_plural = _("erasure tombstones")

    def __str__(self) -> str:
        return f"tombstone {self.id_hash[:12]}…"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user: Viewer) -> Self:
        """The entries `user` may read: with every business number, all; limited to some,
        those about no one object (sign-ins, retention runs, searches) and those about an
        object they may see (its model's `visible_to`), so that other numbers' activity
        stays out of sight. An entry about an object that is gone (erased, expired) belongs
        to no number anyone can tell: only those who see every number read it."""
        if StaffProfile.objects.number_scope(user) is None:
            return self
        audited: dict[str, models.QuerySet[Any]] = {
            "messaging.contact": Contact.objects.visible_to(user),
            "messaging.conversation": Conversation.objects.visible_to(user),
            "messaging.message": Message.objects.visible_to(user),
            "messaging.statusevent": StatusEvent.objects.visible_to(user),
            "messaging.webhookevent": WebhookEvent.objects.visible_to(user),
            "privacy.deletionrequest": DeletionRequest.objects.visible_to(user),
        }
        seen = Q(object_id="")
        for label, objects in audited.items():
            keys = objects.annotate(key=Cast("pk", CharField())).values("key")
            seen |= Q(object_type=label, object_id__in=keys)
        return self.filter(seen)


class AuditEvent(models.Model):
    """Append-only record of staff actions that touch personal data. Never message content:
    only who, what kind of action, which object, and when."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        LOGOUT = "logout", _("Signed out")
        VIEW_CONVERSATION = "view", _("Viewed a conversation")
        REPLY = "reply", _("Replied")
        RETRY = "retry", _("Sent a message again")
        EXPORT = "export", _("Exported a contact's data")
        ERASE = "erase", _("Erased a contact's data")
        REJECT = "reject", _("Rejected a deletion request")
        RETENTION = "retention", _("Retention run")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The username as typed for failed sign-ins (there is no user), else the actor's.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"


class RetentionSchedule(models.Model):
    """When the task worker's daily retention run is next due (a single row).

    Every worker's maintenance asks each minute; a conditional UPDATE on this row lets exactly
    one of them run it per day (privacy.retention.claim_daily_run).
    """

    next_run_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("retention schedule")
        verbose_name_plural = _("retention schedule")

    def __str__(self) -> str:
        return f"retention next due {self.next_run_at:%Y-%m-%d %H:%M}"
