"""Routing rules (matched against each inbound message, see automation.rules), the
round-robin position of each group, and the run that makes automation act on a message once."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from automation.models.conversations import ConversationPriority, Label
from automation.models.replies import QuickReply
from automation.patterns import PATTERN_LIMIT, check_regex
from messaging.models import BusinessNumber, Message

# Longest regular expression a routing rule may use (see automation.rules).


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

    # Kinds of match that compare the message with the rule's pattern.
    NEEDS_PATTERN = frozenset({Match.EXACT, Match.CONTAINS, Match.REGEX, Match.REPLY_ID})

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
        errors = {}
        pattern = (self.pattern or "").strip()
        needs_pattern = self.match in self.NEEDS_PATTERN
        if needs_pattern and not pattern:
            errors["pattern"] = gettext(
                "This kind of match needs a keyword, expression or reply id."
            )
        elif not needs_pattern and pattern:
            errors["pattern"] = gettext("This kind of match takes no keyword: leave it empty.")
        elif self.match == self.Match.REGEX:
            try:
                check_regex(self.pattern)
            except ValidationError as error:
                errors["pattern"] = error.messages
        needed = {
            self.Action.ASSIGN: ("assignee", gettext("Choose the person to assign to.")),
            self.Action.ROUND_ROBIN: ("group", gettext("Choose the group to assign within.")),
            self.Action.LABEL: ("label", gettext("Choose the label to add.")),
            self.Action.QUICK_REPLY: ("quick_reply", gettext("Choose the quick reply to send.")),
            self.Action.PRIORITY: ("priority", gettext("Choose the priority to set.")),
        }
        if self.action in needed:
            field, message = needed[self.action]
            if getattr(self, f"{field}_id" if field != "priority" else field, None) is None:
                errors[field] = message
        if errors:
            raise ValidationError(errors)


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
