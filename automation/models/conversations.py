"""Teamwork and automation: labels, quick replies, internal notes, business hours, automatic
replies, routing rules, staff notifications, and the rows that make automation run once.

Supervisors configure everything here in the admin (model permissions `automation.add_…`,
`change_…`, `delete_…`, `view_…`); agents use labels, notes and quick replies in the inbox
(`automation.apply_label`, `automation.add_note`; quick replies need the reply permission).

Nothing here changes a messaging table: labels reach conversations through their own link
table, priorities live in ConversationPriority, and notes are not messages (they can never be
sent to WhatsApp: nothing in the sending pipeline reads them).
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from messaging.models import BusinessNumber, Conversation, Message

# WhatsApp's limit for a text message body (messaging.sending.MAX_TEXT_LENGTH).
TEXT_LIMIT = 4096
# Longest regular expression a routing rule may use (see automation.rules).
PATTERN_LIMIT = 200


# Labels


class Label(models.Model):
    """A coloured tag on conversations ("Billing", "VIP", …), from a fixed palette: each
    colour is a CSS class (static/css/teamwork.css), never an inline style (CSP)."""

    class Colour(models.TextChoices):
        GREY = "grey", _("Grey")
        RED = "red", _("Red")
        ORANGE = "orange", _("Orange")
        YELLOW = "yellow", _("Yellow")
        GREEN = "green", _("Green")
        TEAL = "teal", _("Teal")
        BLUE = "blue", _("Blue")
        PURPLE = "purple", _("Purple")
        PINK = "pink", _("Pink")

    name = models.CharField(_("name"), max_length=50)
    colour = models.CharField(_("colour"), max_length=10, choices=Colour.choices, default="grey")
    description = models.CharField(_("description"), max_length=200, blank=True)
    conversations = models.ManyToManyField(
        Conversation, through="ConversationLabel", related_name="labels", blank=True
    )

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="label_unique_name_ci"),
        ]
        permissions = [
            ("apply_label", _("Can add and remove labels on conversations")),
        ]

    def __str__(self):
        return self.name

    @property
    def css_class(self):
        return f"label-{self.colour}"


class ConversationLabel(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="label_links"
    )
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="links")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conversation label")
        verbose_name_plural = _("conversation labels")
        constraints = [
            # Also the index behind the list's label filter (conversation, then label).
            models.UniqueConstraint(
                fields=["conversation", "label"], name="conversation_label_unique"
            ),
        ]

    def __str__(self):
        return f"{self.label} on {self.conversation_id}"


class ConversationPriorityQuerySet(models.QuerySet):
    def merge(self, keep, other):
        """Conversation `other` is being folded into `keep`: the higher of the two
        priorities stays (no row means normal)."""
        levels = dict(
            self.filter(conversation__in=[keep, other]).values_list("conversation_id", "level")
        )
        if other.pk not in levels:
            return
        if levels[other.pk] > levels.get(keep.pk, self.model.Level.NORMAL):
            self.update_or_create(conversation=keep, defaults={"level": levels[other.pk]})
        self.filter(conversation=other).delete()


class ConversationPriority(models.Model):
    """A conversation's priority, set by routing rules (absent: normal). Kept here rather than
    on Conversation so that the messaging tables stay as they are."""

    class Level(models.IntegerChoices):
        LOW = -1, _("Low")
        NORMAL = 0, _("Normal")
        HIGH = 1, _("High")
        URGENT = 2, _("Urgent")

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="priority"
    )
    level = models.SmallIntegerField(_("priority"), choices=Level.choices, default=Level.NORMAL)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationPriorityQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation priority")
        verbose_name_plural = _("conversation priorities")

    def __str__(self):
        return self.get_level_display()

    @property
    def css_class(self):
        return f"priority-{self.Level(self.level).name.lower()}"


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


# Internal notes


class Note(models.Model):
    """Staff-only text in a conversation's timeline, ordered with its messages by time.

    `note`: written by a member of staff (who may @mention colleagues). `system`: what
    automation did ("Routed to Salma by rule “Billing”"), stored as an event and its details
    and worded in the reader's language when shown (`describe()`).
    """

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        SYSTEM = "system", _("Automation record")

    class Event(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned by a rule")
        LABELLED = "labelled", _("Labelled by a rule")
        PRIORITISED = "prioritised", _("Priority set by a rule")
        REPLIED = "replied", _("Quick reply sent by a rule")
        REPLY_NOT_SENT = "reply_not_sent", _("Quick reply of a rule not sent")
        NOT_ASSIGNED = "not_assigned", _("Nobody assigned by a rule")
        AUTO_CLOSED = "auto_closed", _("Closed for inactivity")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("note"), max_length=4000, blank=True)
    event = models.CharField(max_length=20, choices=Event.choices, blank=True)
    details = models.JSONField(default=dict, blank=True)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="mentioned_in_notes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # The timeline shows notes among messages (inbox/templates/inbox/inbox.html).
    timeline_template = "inbox/teamwork/note.html"
    is_note = True

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        indexes = [
            # A timeline page's notes: one conversation, a time range.
            models.Index(fields=["conversation", "created_at"], name="note_timeline_idx"),
            # Retention: notes past RETENTION_CONTENT_DAYS.
            models.Index(fields=["created_at"], name="note_created_idx"),
        ]

    def __str__(self):
        return f"note {self.pk} on {self.conversation_id}"

    @property
    def timestamp(self):
        return self.created_at

    def describe(self):
        """A system note in the reader's language."""
        d = self.details or {}
        if self.event == self.Event.ASSIGNED:
            return gettext("Routed to %(person)s by rule “%(rule)s”.") % d
        if self.event == self.Event.LABELLED:
            return gettext("Label “%(label)s” added by rule “%(rule)s”.") % d
        if self.event == self.Event.PRIORITISED:
            level = ConversationPriority.Level(d.get("level", 0)).label
            return gettext("Priority set to %(level)s by rule “%(rule)s”.") % {**d, "level": level}
        if self.event == self.Event.REPLIED:
            return gettext("Quick reply /%(shortcut)s sent by rule “%(rule)s”.") % d
        if self.event == self.Event.REPLY_NOT_SENT:
            reason = d.get("reason")
            reason = ReplyNotSent(reason).label if reason in ReplyNotSent.values else reason
            return gettext(
                "Rule “%(rule)s” matched, but its quick reply /%(shortcut)s was not sent: "
                "%(reason)s."
            ) % {**d, "reason": reason}
        if self.event == self.Event.NOT_ASSIGNED:
            if d.get("reason") == "person":
                reason = gettext("its person cannot take this conversation")
            else:
                reason = gettext("nobody in its group can take this conversation")
            return gettext("Rule “%(rule)s” matched, but nobody was assigned: %(reason)s.") % {
                **d,
                "reason": reason,
            }
        if self.event == self.Event.AUTO_CLOSED:
            return gettext("Closed automatically after %(days)s days without activity.") % d
        return self.text


class ReplyNotSent(models.TextChoices):
    """Why a matched rule's quick reply was not sent (the `reason` of its system note)."""

    TOO_OLD = "too_old", _("the message was too old to answer")
    WINDOW_CLOSED = "window_closed", _("the 24-hour window was closed")
    PAUSED = "paused", _("sending was paused for this number")
    OWN_NUMBER = "own_number", _("the message came from one of our own numbers")
    HOURLY_LIMIT = "hourly_limit", _("the conversation had its hourly number of automatic replies")
    ANOTHER_REPLY = "another_reply", _("an earlier rule's quick reply answered the message")
    SWITCHED_OFF = "switched_off", _("the quick reply is switched off")
    NO_TEXT = "no_text", _("the quick reply has no text")
    REFUSED = "refused", _("the sending pipeline refused it")
    ANSWERED = "answered", _("the message was answered already")


# Business hours and automatic replies


def validate_time_zone(value):
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("“%(value)s” is not a time zone name such as Asia/Riyadh."),
            params={"value": value},
        ) from None


class BusinessHours(models.Model):
    """When a business number is staffed: a weekly schedule in its own time zone, minus
    holidays. A number without business hours counts as always open (no away message)."""

    business_number = models.OneToOneField(
        BusinessNumber,
        on_delete=models.CASCADE,
        related_name="business_hours",
        verbose_name=_("business number"),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("An IANA name, e.g. Asia/Riyadh or Europe/London."),
    )
    away_interval_hours = models.PositiveSmallIntegerField(
        _("away message at most every (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 30)],
        help_text=_("A conversation gets the away message at most once in this many hours."),
    )

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self):
        return gettext("Business hours of %(number)s") % {"number": self.business_number}


class OpeningPeriod(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(
        _("closes"), help_text=_("Earlier than the opening time: open past midnight.")
    )

    class Meta:
        verbose_name = _("opening period")
        verbose_name_plural = _("opening periods")
        ordering = ["weekday", "opens"]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self):
        if self.opens is not None and self.opens == self.closes:
            raise ValidationError(_("A period must not open and close at the same time."))


class Holiday(models.Model):
    hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["hours", "date"], name="holiday_unique_date"),
        ]

    def __str__(self):
        return f"{self.date} {self.name}".strip()


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


# Routing rules


class RoutingRule(models.Model):
    """Evaluated in order (position, then id) on each inbound message: when the message
    matches, the action is applied and recorded in the conversation's timeline."""

    class Match(models.TextChoices):
        ANY = "any", _("Any message")
        EXACT = "exact", _("Keyword: the whole message")
        CONTAINS = "contains", _("Keyword: contained in the message")
        REGEX = "regex", _("Regular expression")
        NEW_CONTACT = "new_contact", _("New contact (first message to the number)")
        REPLY_ID = "reply_id", _("Button or list reply id")

    class Action(models.TextChoices):
        ASSIGN = "assign", _("Assign to a person")
        ROUND_ROBIN = "round_robin", _("Assign round-robin within a group")
        LABEL = "label", _("Add a label")
        QUICK_REPLY = "quick_reply", _("Send a quick reply")
        PRIORITY = "priority", _("Set the priority")

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(
        _("position"), default=0, help_text=_("Rules run from the lowest position up.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    business_number = models.ForeignKey(
        BusinessNumber,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("business number"),
        help_text=_("Only messages to this number (empty: any number)."),
    )
    match = models.CharField(_("match"), max_length=12, choices=Match.choices, default="any")
    pattern = models.CharField(
        _("keyword, expression or reply id"),
        max_length=PATTERN_LIMIT,
        blank=True,
        help_text=_(
            "Keywords ignore case and surrounding spaces. A regular expression is searched "
            "for anywhere in the text, ignoring case."
        ),
    )
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"is_staff": True},
        verbose_name=_("person"),
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("group"),
    )
    label = models.ForeignKey(
        Label,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("label"),
    )
    quick_reply = models.ForeignKey(
        QuickReply,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("quick reply"),
    )
    priority = models.SmallIntegerField(
        _("priority"), null=True, blank=True, choices=ConversationPriority.Level.choices
    )
    stop_processing = models.BooleanField(
        _("stop here"),
        default=False,
        help_text=_("When this rule matches, later rules are not evaluated for the message."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        from automation.rules import validate_rule

        validate_rule(self)


class RoundRobinState(models.Model):
    """Who in a group was assigned last by round-robin, so that the next one is next."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, primary_key=True)
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("round-robin position")
        verbose_name_plural = _("round-robin positions")

    def __str__(self):
        return str(self.group)


# Running automation exactly once


class AutomationRun(models.Model):
    """Claimed before automation acts on an inbound message: a second task for the same
    message (a duplicate enqueue, a retried worker) finds it and does nothing."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    ran_at = models.DateTimeField(default=timezone.now)
    # What happened, in words for administrators (no message content).
    outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("automation run")
        verbose_name_plural = _("automation runs")

    def __str__(self):
        return f"automation for message {self.message_id}"


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


# Staff notifications


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
