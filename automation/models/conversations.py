"""What staff add to a conversation: labels, its priority, and internal notes (written by
staff, or recorded by automation as system notes, worded by `Note.describe()`).

Nothing here changes a messaging table: labels reach conversations through their own link
table, priorities live in ConversationPriority, and notes are not messages (they can never be
sent to WhatsApp: nothing in the sending pipeline reads them).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from messaging.models import Conversation

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
