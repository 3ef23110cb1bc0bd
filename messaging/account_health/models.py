"""AccountEvent: one change Meta reported about the account, a number or a template.

Registered with the messaging app through messaging.models, which imports it; it refers to
the models there by name only, so that neither module imports the other's classes.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.account_health.rules import FIELD_KINDS, Meaning, meaning
from messaging.db import db_safe
from messaging.querysets import AccountEventQuerySet


class AccountEvent(models.Model):
    """A ban, restriction, review, quality or template change, stored once however often Meta
    delivers it (unique `fingerprint`), and kept: the history of the account and its numbers.

    `business_number` is the number the event is about; NULL for the account as a whole and
    for templates (which belong to the account). What it means (`condition`, `alert`,
    `ends_at`: messaging.account_health.rules) is decided once, when it is stored; what is in
    force now is `AccountEvent.objects.active()`.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Account")
        REVIEW = "review", _("Account review")
        QUALITY = "quality", _("Number quality and messaging limit")
        TEMPLATE_STATUS = "template_status", _("Template status")
        TEMPLATE_CATEGORY = "template_category", _("Template category")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Meta's value as sent (DISABLED_UPDATE, FLAGGED, a review's decision, a new category).
    event = models.CharField(_("event"), max_length=64)
    waba_id = models.CharField(_("WhatsApp Business Account id"), max_length=64, blank=True)
    business_number = models.ForeignKey(
        "messaging.BusinessNumber",
        verbose_name=_("business number"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="account_events",
    )
    # The template row, when we mirror it (the event's details name it in any case).
    template = models.ForeignKey(
        "messaging.MessageTemplate",
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account_events",
    )
    # What the event is about ("waba:…", "number:…", "template:…"): a later event about the
    # same subject and condition ends what this one raised.
    subject = models.CharField(max_length=600)
    condition = models.CharField(_("condition"), max_length=20, blank=True)
    alert = models.BooleanField(_("raises a problem"), default=False)
    ends_at = models.DateTimeField(_("lasts until"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Meta's time (entry.time); when we received it if the entry did not say.
    occurred_at = models.DateTimeField(_("when"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    # A hash of the change as Meta sent it (field, account, time, value): a redelivery,
    # whatever body it comes in, has the same one and is not stored again.
    fingerprint = models.CharField(max_length=64, unique=True)
    # Set by the e-mail task when it takes the event (messaging.account_health.mail): a
    # duplicate task finds it set and sends nothing.
    notified_at = models.DateTimeField(_("staff e-mailed at"), null=True, blank=True)

    objects = AccountEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # active(): "is there a later event about the same subject and condition?"
            models.Index(
                fields=["subject", "condition", "occurred_at"], name="account_event_later_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=sorted(FIELD_KINDS.values())), name="account_event_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.event}"

    @classmethod
    def build(
        cls,
        *,
        field: str,
        event: str,
        waba_id: str,
        subject: str,
        data: dict[str, Any],
        timestamp: datetime | None,
    ) -> "AccountEvent":
        """The unsaved row for one change of webhook `field` (its value `data`), with what it
        means decided, its strings made db_safe."""
        kind = FIELD_KINDS[field]
        what: Meaning = meaning(kind, event, data)
        digest = json.dumps(
            [field, waba_id, timestamp.timestamp() if timestamp else None, data],
            sort_keys=True,
            default=str,
        )
        return cls(
            kind=kind,
            event=db_safe(event[:64]),
            waba_id=db_safe(waba_id[:64]),
            subject=db_safe(subject[:600]),
            condition=what.condition,
            alert=what.alert,
            ends_at=what.ends_at,
            details=db_safe(data),
            occurred_at=timestamp or timezone.now(),
            fingerprint=hashlib.sha256(digest.encode("utf-8", "replace")).hexdigest(),
        )

    @property
    def notable(self) -> bool:
        return meaning(self.kind, self.event, self.details).notable

    def in_force(self, now: datetime | None = None) -> bool:
        """Whether what this event raised still lasts, unless a later event ended it (which
        only the database can say: AccountEvent.objects.active())."""
        return self.alert and (self.ends_at is None or self.ends_at > (now or timezone.now()))
