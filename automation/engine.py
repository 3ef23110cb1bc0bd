"""Automation for one inbound message: routing rules, then at most one automatic reply.

Runs in a task (`run_automation`, below) that ingestion queues after the message's
transaction commits, never inside the webhook request.

1. the active routing rules are matched in order (position, id), before anything is locked,
   up to the first matching rule marked "stop here" (regular expressions run on RE2, in time
   linear in the message: automation.rules);
2. in one transaction: the message is claimed (AutomationRun: a second run for it does
   nothing) and the conversation row locked, so that automation for one conversation runs
   one at a time; each matched rule's action is applied and recorded in the timeline (a
   system note), and so is what a rule could not do (nobody to assign, a quick reply not
   sent and why);
3. answer, at most once per message: the first matched rule's quick reply that can be sent,
   else the away message when the number is closed, else the greeting for a contact's first
   message to the number. The reply is claimed under a unique key (AutoReplyClaim) in the
   same transaction that queues it through the normal pipeline (messaging.sending.
   queue_outbound, sent_by None, marked in its data as an automatic reply: the timeline
   shows "Automation").

Guarantees: replies only ever answer inbound messages from customers (never our own, echoed
or system messages, never a message from one of our own numbers), so automation cannot answer
itself; nothing is answered that is older than AUTOMATION_MAX_MESSAGE_AGE_MINUTES (Meta
replays up to a week of messages after downtime) or outside the 24-hour window, or while the
number's sending is paused; a conversation gets at most AUTOMATION_MAX_REPLIES_PER_HOUR
automatic replies an hour (a bot at the other end cannot start a ping-pong); and a redelivered
webhook creates no new message, hence no new run, and the claims' unique keys stop a second
reply even if two runs race.

Routing still applies to old messages (they are new to us): assigning, labelling and setting a
priority are not answers. Assignment rules only assign unassigned conversations (a rule never
takes a conversation away from the person already handling it), and only to people who may
open the conversation.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from automation import hours as business_hours
from automation.labels import add_label
from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    ConversationPriority,
    Note,
    ReplyNotSent,
    RoundRobinState,
    RoutingRule,
)
from automation.notes import record
from automation.notifications import notify_assignment
from automation.rules import matches
from automation.text import fill, person_name, pick_variant, script_language
from messaging.models import BusinessNumber, Conversation, InboxChange, Message
from messaging.queues import AUTOMATION
from messaging.sending import MAX_TEXT_LENGTH, ReplyRefused, queue_outbound
from staff.permissions import can_open, who_can_open

logger = logging.getLogger(__name__)

Action = RoutingRule.Action
# Message.data key marking an automatic reply (its value: the AutoReplyClaim kind).
AUTOMATIC_REPLY = "automation"


def run_for_message(message_id, now=None):
    """Apply automation to inbound message `message_id`; returns what happened, in words."""
    now = now or timezone.now()
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        return "message gone"
    if message.direction != Message.Direction.INBOUND:
        return "not an inbound message"
    if message.type in Message.NOT_WRITTEN_TYPES:
        return f"{message.type} messages are not automated"
    if AutomationRun.objects.filter(message_id=message.pk).exists():
        return "already done"
    # Reading and matching happen before the conversation is locked: the lock is held only
    # while actions are applied, whatever the message's length or the rules' expressions.
    first = is_first_message(message)
    matched = matching_rules(message, first)
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = AutomationRun.objects.create(message=message, ran_at=now)
        except IntegrityError:
            return "already done"
        conversation = (
            # FOR NO KEY UPDATE: ingestion may still insert messages meanwhile.
            Conversation.objects.select_for_update(of=("self",), no_key=True)
            .select_related("contact", "business_number", "assignee")
            .get(pk=message.conversation_id)
        )
        message.conversation = conversation
        applied, quick_replies = apply_rules(matched, conversation)
        answer = reply_to(message, conversation, first, quick_replies, now)
        run.outcome = f"rules applied: {len(applied)}; reply: {answer}"[:255]
        run.save(update_fields=["outcome"])
    return run.outcome


def is_first_message(message):
    """Whether `message` is the contact's first message to this business number: no earlier
    inbound message (but reactions, edits and system notices) in its conversation.

    Our own messages do not count: a contact we wrote to first (a template) is still new when
    they first write back, so they get the greeting and "new contact" rules apply to them.
    """
    earlier = Q(timestamp__lt=message.timestamp) | Q(timestamp=message.timestamp, pk__lt=message.pk)
    return not (
        Message.objects.filter(
            earlier, conversation_id=message.conversation_id, direction=Message.Direction.INBOUND
        )
        .exclude(type__in=Message.NOT_WRITTEN_TYPES)
        .exists()
    )


# Routing.


def active_rules():
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("assignee", "group", "label", "quick_reply")
        .prefetch_related("quick_reply__texts")
        .order_by("position", "pk")
    )


def matching_rules(message, first):
    """The active rules `message` matches, in order, up to the first "stop here" one."""
    matched = []
    for rule in active_rules():
        if matches(rule, message, is_first=first):
            matched.append(rule)
            if rule.stop_processing:
                break
    return matched


def apply_rules(matched, conversation):
    """Apply the matched rules' actions in order; returns (rules applied, quick-reply rules
    to answer with). Whatever a rule could not do is recorded in the timeline too."""
    applied, quick_replies = [], []
    for rule in matched:
        if rule.action == Action.QUICK_REPLY:
            if rule.quick_reply.is_active:
                quick_replies.append(rule)
            else:
                not_sent(conversation, rule, ReplyNotSent.SWITCHED_OFF)
        elif apply_action(rule, conversation):
            applied.append(rule)
    return applied, quick_replies


def apply_action(rule, conversation):
    """Apply a rule's (non-reply) action; returns whether anything changed."""
    if rule.action in (Action.ASSIGN, Action.ROUND_ROBIN):
        if conversation.assignee_id:
            return False  # never taken from whoever has it
        if rule.action == Action.ASSIGN:
            person = rule.assignee
            if person is None or not (
                person.is_active and person.is_staff and can_open(person, conversation)
            ):
                record(conversation, Note.Event.NOT_ASSIGNED, rule=rule.name, reason="person")
                return False
        else:
            person = next_in_group(rule.group, conversation) if rule.group else None
            if person is None:
                record(conversation, Note.Event.NOT_ASSIGNED, rule=rule.name, reason="group")
                return False
        if not Conversation.objects.filter(pk=conversation.pk, assignee__isnull=True).update(
            assignee=person
        ):
            return False
        conversation.assignee = person
        record(conversation, Note.Event.ASSIGNED, person=person_name(person), rule=rule.name)
        notify_assignment(conversation, person)
        return True
    if rule.action == Action.LABEL:
        if not add_label(conversation, rule.label):
            return False
        record(conversation, Note.Event.LABELLED, label=rule.label.name, rule=rule.name)
        return True
    if rule.action == Action.PRIORITY:
        current = (
            ConversationPriority.objects.filter(conversation=conversation)
            .values_list("level", flat=True)
            .first()
        )
        if current == rule.priority or (current is None and rule.priority == 0):
            return False
        ConversationPriority.objects.update_or_create(
            conversation=conversation, defaults={"level": rule.priority}
        )
        record(conversation, Note.Event.PRIORITISED, level=rule.priority, rule=rule.name)
        InboxChange.objects.record(conversation.pk)
        return True
    return False


def next_in_group(group, conversation):
    """The group's next assignable member after the one assigned last (by id, wrapping
    round): active staff who may open the conversation (the permission, and its number in
    their scope), and not marked unavailable. The group's position row is locked, so
    concurrent assignments take turns."""
    RoundRobinState.objects.get_or_create(group=group)
    state = RoundRobinState.objects.select_for_update().get(pk=group.pk)
    members = get_user_model().objects.filter(groups=group, is_staff=True)
    candidates = list(
        who_can_open(members, conversation)
        .exclude(teamwork_preferences__available=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not candidates:
        return None
    last = state.last_user_id or 0
    chosen = next((pk for pk in candidates if pk > last), candidates[0])
    state.last_user_id = chosen
    state.save(update_fields=["last_user", "updated_at"])
    return get_user_model().objects.get(pk=chosen)


# Answering.


def reply_to(message, conversation, first, quick_replies, now):
    """Send at most one automatic reply to `message`; returns what was sent or why not.
    Every matched quick-reply rule ends in the timeline: sent, or not sent and why."""
    blocked = why_not_answered(message, conversation, now)
    if blocked:
        for rule in quick_replies:
            not_sent(conversation, rule, blocked)
        return f"none ({blocked})"
    language = answer_language(message)
    unanswered = list(quick_replies)
    for option in candidates(message, conversation, first, quick_replies, language, now):
        rule = option.rule
        if rule is not None:
            unanswered.remove(rule)
        text = fill(option.text, contact=conversation.contact, agent=conversation.assignee)
        if not text.strip():
            if rule is not None:
                not_sent(conversation, rule, ReplyNotSent.NO_TEXT)
            continue
        if (
            option.period
            and AutoReplyClaim.objects.filter(
                conversation=conversation, kind=option.kind, created_at__gt=now - option.period
            ).exists()
        ):
            continue  # already sent within its period
        try:
            with transaction.atomic():
                claim = AutoReplyClaim.objects.create(
                    conversation=conversation,
                    kind=option.kind,
                    key=option.key,
                    message=message,
                    created_at=now,
                )
                reply = queue_outbound(
                    conversation,
                    None,
                    type="text",
                    text=text.strip()[:MAX_TEXT_LENGTH],
                    # What the timeline shows as "Automation" (sent_by is also empty for
                    # messages whose author's account was deleted).
                    data={AUTOMATIC_REPLY: option.kind},
                )
                claim.reply = reply
                claim.save(update_fields=["reply"])
                if rule is not None:
                    record(
                        conversation,
                        Note.Event.REPLIED,
                        shortcut=rule.quick_reply.shortcut,
                        rule=rule.name,
                    )
        except IntegrityError:
            if rule is not None:
                not_sent(conversation, rule, ReplyNotSent.ANSWERED)
            continue  # claimed already: this reason was answered
        except ReplyRefused:
            for refused in [rule, *unanswered] if rule is not None else unanswered:
                not_sent(conversation, refused, ReplyNotSent.REFUSED)
            return "none (refused by the sending pipeline)"
        for later in unanswered:
            not_sent(conversation, later, ReplyNotSent.ANOTHER_REPLY)
        return option.kind
    return "none"


def why_not_answered(message, conversation, now):
    """Why no automatic reply may answer `message` now (a ReplyNotSent reason), or None."""
    if message.timestamp < now - timedelta(minutes=settings.AUTOMATION_MAX_MESSAGE_AGE_MINUTES):
        return ReplyNotSent.TOO_OLD
    if not conversation.window_is_open(now):
        return ReplyNotSent.WINDOW_CLOSED
    if conversation.business_number.sending_paused_at:
        return ReplyNotSent.PAUSED
    if from_own_number(conversation.contact):
        return ReplyNotSent.OWN_NUMBER
    recent = AutoReplyClaim.objects.filter(
        conversation=conversation, created_at__gte=now - timedelta(hours=1)
    ).count()
    if recent >= settings.AUTOMATION_MAX_REPLIES_PER_HOUR:
        return ReplyNotSent.HOURLY_LIMIT
    return None


def not_sent(conversation, rule, reason):
    """Record that `rule` matched but its quick reply was not sent, and why."""
    record(
        conversation,
        Note.Event.REPLY_NOT_SENT,
        shortcut=rule.quick_reply.shortcut,
        rule=rule.name,
        reason=reason,
    )


@dataclass(frozen=True)
class Option:
    kind: str
    key: str  # AutoReplyClaim.key
    text: str
    rule: RoutingRule | None = None
    period: timedelta | None = None  # at most once in this long (the away message)


def candidates(message, conversation, first, quick_replies, language, now):
    """The possible replies (Option), best first: the matched rules' quick replies in rule
    order, the away message when the number is closed, the greeting for a first message."""
    number = conversation.business_number
    for rule in quick_replies:
        variants = {text.language: text.text for text in rule.quick_reply.texts.all()}
        text = pick_variant(variants, language) or ""
        yield Option(AutoReplyClaim.Kind.RULE, str(message.pk), text, rule=rule)
    hours = business_hours.load_hours(number)
    if not business_hours.is_open(hours, message.timestamp):
        away = auto_reply(AutoReply.Kind.AWAY, number, language)
        if away:
            # Numbered by the moment of sending, as the claims' created_at is: a period's
            # number changes exactly when a claim from the one before can have expired.
            interval = hours.away_interval_hours
            period_number = int(now.timestamp() // 3600) // interval
            yield Option(
                AutoReplyClaim.Kind.AWAY,
                str(period_number),
                away.text,
                period=timedelta(hours=interval),
            )
    if first:
        greeting = auto_reply(AutoReply.Kind.GREETING, number, language)
        if greeting:
            yield Option(AutoReplyClaim.Kind.GREETING, "", greeting.text)


def auto_reply(kind, number, language):
    """The active automatic reply of `kind` for the number (its own before the one for every
    number), in `language` if there is one."""
    rows = list(
        AutoReply.objects.filter(kind=kind, is_active=True).filter(
            Q(business_number=number) | Q(business_number__isnull=True)
        )
    )
    own = {row.language: row for row in rows if row.business_number_id == number.pk}
    shared = {row.language: row for row in rows if row.business_number_id is None}
    return pick_variant(own, language) or pick_variant(shared, language)


def answer_language(message):
    """The customer's language: the script of this message, else of their latest text."""
    language = script_language(message.text)
    if language:
        return language
    latest = (
        Message.objects.filter(
            conversation_id=message.conversation_id, direction=Message.Direction.INBOUND
        )
        .exclude(text="")
        .order_by("-timestamp", "-pk")
        .values_list("text", flat=True)
        .first()
    )
    return script_language(latest) or settings.LANGUAGE_CODE


def from_own_number(contact):
    """Whether the contact is one of our own business numbers (two of our numbers' automatic
    replies must never answer each other)."""
    if not contact.wa_id:
        return False
    numbers = BusinessNumber.objects.only("phone_number_id", "display_phone_number")
    return any(number.is_called(contact.wa_id) for number in numbers)


@task(queue_name=AUTOMATION.name, priority=AUTOMATION.priority)
def run_automation(*message_ids):
    """Routing rules and automatic replies for new inbound messages, in the order they were
    stored. One task per webhook body: a batch of 50 messages is one queue row, not 50."""
    outcomes, error = [], None
    for message_id in message_ids:
        try:
            outcomes.append(run_for_message(message_id))
        except Exception as exc:
            # The others still run; the task then fails, and running it again is safe
            # (each message's run is claimed once: "already done").
            logger.exception("automation for message %s failed", message_id)
            error = error or exc
    if error is not None:
        raise error
    return outcomes
