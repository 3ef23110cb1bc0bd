"""Saved and automatic answers: quick replies (typed by staff, or sent by a routing rule),
greetings and away messages, and the claim that makes each automatic reply go out once."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.models import BusinessNumber, Conversation, Message

# WhatsApp's limit for a text message body (messaging.sending.MAX_TEXT_LENGTH).
TEXT_LIMIT = 4096


# Quick replies


class QuickReply(models.Model):
    """A saved answer: typing "/" and its shortcut in the composer offers it. Its text comes in
    one variant per language (QuickReplyText); placeholders are listed in automation.text."""

    shortcut = models.SlugField(
        _("shortcut"),
        max_length=40,
        unique=True,
        allow_unicode=True,
        help_text=_("Typed after “/” in the composer, e.g. “hours”."),
    )
    title = models.CharField(_("title"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        ordering = ["shortcut"]

    def __str__(self):
        return f"/{self.shortcut}"


class QuickReplyText(models.Model):
    quick_reply = models.ForeignKey(QuickReply, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    text = models.TextField(
        _("text"),
        max_length=TEXT_LIMIT,
        help_text=_(
            "Placeholders: {name} (the customer's WhatsApp name), {first_name}, {agent} "
            "(the member of staff sending it)."
        ),
    )

    class Meta:
        verbose_name = _("quick reply text")
        verbose_name_plural = _("quick reply texts")
        constraints = [
            models.UniqueConstraint(
                fields=["quick_reply", "language"], name="quick_reply_text_unique_language"
            ),
        ]

    def __str__(self):
        return f"{self.quick_reply} ({self.language})"


# Automatic replies


class AutoReply(models.Model):
    """A greeting (a contact's first message to a number) or an away message (outside the
    number's business hours), per business number (or for every number) and language."""

    class Kind(models.TextChoices):
        GREETING = "greeting", _("Greeting")
        AWAY = "away", _("Away message")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    business_number = models.ForeignKey(
        BusinessNumber,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("business number"),
        help_text=_("Empty: every number without one of its own."),
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    text = models.TextField(
        _("text"),
        max_length=TEXT_LIMIT,
        help_text=_("Placeholders: {name}, {first_name}, {agent} (the assignee, if any)."),
    )
    is_active = models.BooleanField(_("on"), default=True)

    class Meta:
        verbose_name = _("automatic reply")
        verbose_name_plural = _("automatic replies")
        ordering = ["kind", "business_number", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "business_number", "language"],
                condition=Q(business_number__isnull=False),
                name="auto_reply_unique_per_number",
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=Q(business_number__isnull=True),
                name="auto_reply_unique_default",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language})"


class AutoReplyClaim(models.Model):
    """One automatic reply, claimed in the transaction that queues it. The unique key makes a
    second reply for the same reason impossible, even when two workers race:

    - greeting: key "" (once per conversation, ever);
    - away: key = the away period's number (hours since the epoch // interval), checked
      against the last claim's time too, under a lock on the conversation;
    - rule: key = the inbound message's id (a rule's quick reply answers a message once).
    """

    class Kind(models.TextChoices):
        GREETING = "greeting", _("Greeting")
        AWAY = "away", _("Away message")
        RULE = "rule", _("Quick reply by a rule")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="auto_reply_claims"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64, blank=True)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("automatic reply sent")
        verbose_name_plural = _("automatic replies sent")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "kind", "key"], name="auto_reply_claim_unique"
            ),
        ]
        indexes = [
            # The rate limit and the away period: a conversation's recent claims.
            models.Index(fields=["conversation", "created_at"], name="auto_reply_recent_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.key} on {self.conversation_id}"
