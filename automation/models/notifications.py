"""Staff notifications: each person's choices (which e-mails, whether round-robin may pick
them), the e-mails recorded before they are sent, and the once-per-wait alert."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.models import Conversation


class StaffPreferences(models.Model):
    """Per-person choices about automation: which e-mails to receive, and whether
    round-robin assignment may pick them (absent row: everything on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teamwork_preferences"
    )
    notify_assigned = models.BooleanField(
        _("e-mail me when a conversation is assigned to me"), default=True
    )
    notify_mentioned = models.BooleanField(
        _("e-mail me when someone mentions me in a note"), default=True
    )
    notify_waiting = models.BooleanField(
        _("e-mail me when a conversation waits too long for an answer"), default=True
    )
    available = models.BooleanField(
        _("available for automatic assignment"),
        default=True,
        help_text=_("Off: round-robin assignment skips this person (e.g. on leave)."),
    )

    class Meta:
        verbose_name = _("staff preferences")
        verbose_name_plural = _("staff preferences")

    def __str__(self):
        return str(self.user)


class StaffNotification(models.Model):
    """An e-mail to a member of staff, recorded before the task that sends it runs."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("Conversation assigned")
        MENTIONED = "mentioned", _("Mentioned in a note")
        WAITING = "waiting", _("Conversation waiting for an answer")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teamwork_notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("staff notification")
        verbose_name_plural = _("staff notifications")
        permissions = [
            (
                "receive_waiting_alerts",
                _("Receives e-mail about unassigned conversations waiting for an answer"),
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.user_id}"


class WaitAlert(models.Model):
    """One per wait: a conversation whose customer has waited since `waiting_since` (their
    first message after the last reply by staff) has been reported once."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    waiting_since = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("waiting alert")
        verbose_name_plural = _("waiting alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "waiting_since"], name="wait_alert_once_per_wait"
            ),
        ]

    def __str__(self):
        return f"waiting since {self.waiting_since:%Y-%m-%d %H:%M} ({self.conversation_id})"
