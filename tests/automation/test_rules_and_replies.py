"""Automation on inbound messages: routing rules, automatic replies and their guarantees."""

import threading
from collections import Counter
from datetime import timedelta
from importlib import import_module

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.db import connection
from django.utils import timezone

from automation.engine import run_for_message
from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    BusinessHours,
    ConversationPriority,
    Label,
    Note,
    OpeningPeriod,
    QuickReply,
    QuickReplyText,
    RoutingRule,
    StaffNotification,
    StaffPreferences,
)
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation, Message
from messaging.sending import queue_text_reply
from staff.models import StaffProfile
from tests.staff_support import grant
from tests.teamwork_support import (
    AMINA,
    JOHN,
    NOTIFICATION_TASK,
    automatic_replies,
    deliver,
    inbound,
    latest,
    queued,
    run_queued,
)

pytestmark = pytest.mark.django_db


def quick_reply(shortcut="hours", **texts):
    reply = QuickReply.objects.create(shortcut=shortcut, title=shortcut.title())
    for language, text in (texts or {"en": "We open at nine."}).items():
        QuickReplyText.objects.create(quick_reply=reply, language=language, text=text)
    return reply


def rule(name="Rule", **fields):
    fields.setdefault("match", RoutingRule.Match.ANY)
    fields.setdefault("action", RoutingRule.Action.LABEL)
    if fields["action"] == RoutingRule.Action.LABEL and "label" not in fields:
        fields["label"], _ = Label.objects.get_or_create(name="Routed")
    return RoutingRule.objects.create(name=name, **fields)


def labels_of(conversation):
    return sorted(conversation.labels.values_list("name", flat=True))


def system_notes(conversation):
    notes = Note.objects.filter(conversation=conversation, kind="system").order_by("pk")
    return [note.describe() for note in notes]


def closed_all_week():
    """Business hours for the demo number with no opening periods: closed now."""
    return BusinessHours.objects.create(business_number=BusinessNumber.objects.get())


def open_from_nine_to_five_on(day):
    """Business hours for the demo number: 9:00-17:00 (UTC) on the weekday of `day` only."""
    hours = BusinessHours.objects.create(business_number=BusinessNumber.objects.get())
    OpeningPeriod.objects.create(hours=hours, weekday=day.weekday(), opens="09:00", closes="17:00")
    return hours


def auto_reply(kind, text, language="en", **fields):
    return AutoReply.objects.create(kind=kind, language=language, text=text, **fields)


# Matching: each kind of rule.


@pytest.mark.parametrize(
    ("match", "pattern", "text", "expected"),
    [
        ("exact", "opening hours", "  Opening HOURS? ", True),
        ("exact", "opening hours", "what are your opening hours", False),
        ("contains", "invoice", "Where is my INVOICE please", True),
        ("contains", "invoice", "Where is my order", False),
        ("contains", "فاتورة", "أين الفاتورة؟", True),
        ("regex", r"order\s*#?\d{4}", "about order #4567", True),
        ("regex", r"order\s*#?\d{4}", "about order 45", False),
        ("any", "", "anything at all", True),
    ],
    ids=str,
)
def test_keyword_rules_match_exactly_by_containment_or_by_regular_expression(
    match, pattern, text, expected
):
    deliver("first", minutes_ago=5)
    rule(match=match, pattern=pattern)
    message = deliver(text)

    run_for_message(message.pk)

    assert (labels_of(message.conversation) == ["Routed"]) is expected


@pytest.mark.parametrize(
    ("pattern", "hit"),
    [
        (r".*.*.*.*x", "x"),
        (r"a*a*a*a*b", "b"),
        (r"\w+\s?\w+\s?\w+x", "x"),
        (r"(a+)+$", "a"),
        (r"(\w*)*!\d", "!1"),
    ],
)
def test_a_hostile_expression_against_a_long_message_is_answered_at_once(pattern, hit):
    # Python's backtracking engine takes minutes to hours for each of these on 1,000
    # characters that almost match; RE2 takes time linear in the text, whatever the pattern.
    hostile = rule("Hostile", match="regex", pattern=pattern, label=Label.objects.create(name="H"))
    hostile.full_clean()
    rule("Next", position=1, label=Label.objects.create(name="Next"))
    miss = deliver("a" * 999 + "!", sender=AMINA)
    hit = deliver("a" * 998 + hit, sender=JOHN)

    run_for_message(miss.pk)
    run_for_message(hit.pk)

    assert labels_of(miss.conversation) == ["Next"]
    assert labels_of(hit.conversation) == ["H", "Next"]


def test_a_rule_whose_saved_expression_is_refused_never_runs_and_says_so_in_the_log(caplog):
    broken = rule("Old", match="regex", pattern=r"(\w+) \1", label=Label.objects.create(name="H"))
    rule("Next", position=1, label=Label.objects.create(name="Next"))
    message = deliver("hello hello")

    run_for_message(message.pk)

    assert labels_of(message.conversation) == ["Next"]
    assert f"rule {broken.pk}: its regular expression is refused" in caplog.text


def test_a_new_contact_rule_matches_only_the_first_message_to_the_number():
    rule(match="new_contact", action="label", label=Label.objects.create(name="New"))
    first = deliver("Hi", minutes_ago=3)
    run_for_message(first.pk)
    assert labels_of(first.conversation) == ["New"]
    Label.objects.get(name="New").links.all().delete()

    second = deliver("Me again", minutes_ago=2)
    run_for_message(second.pk)

    assert labels_of(first.conversation) == []
    assert AutomationRun.objects.get(message=second).outcome.startswith("rules applied: 0")


@pytest.mark.parametrize(
    "message",
    [
        p.interactive_reply("track-order", "Track my order", sender=AMINA),
        p.interactive_reply("track-order", "Track", kind="list_reply", sender=AMINA),
        p.message("button", {"payload": "track-order", "text": "Track"}, sender=AMINA),
    ],
    ids=["button_reply", "list_reply", "template button"],
)
def test_a_reply_id_rule_matches_the_id_of_a_tapped_button_or_list_row(message):
    rule(match="reply_id", pattern="track-order")
    other = deliver(message=p.interactive_reply("other", "Other", sender=AMINA))
    run_for_message(other.pk)
    assert labels_of(other.conversation) == []

    tapped = deliver(message=message)
    run_for_message(tapped.pk)

    assert labels_of(tapped.conversation) == ["Routed"]


def test_a_rule_for_one_business_number_ignores_messages_to_the_others():
    deliver("to the first number", sender=AMINA)
    second = deliver(
        "to the second", sender=JOHN, phone_number_id="222", display_phone_number="15550000002"
    )
    rule(business_number=BusinessNumber.objects.get(phone_number_id="222"))
    first = deliver("again, to the first", sender=AMINA)

    run_for_message(first.pk)
    run_for_message(second.pk)

    assert labels_of(first.conversation) == []
    assert labels_of(second.conversation) == ["Routed"]


def test_inactive_rules_are_skipped():
    rule(is_active=False)
    message = deliver()

    run_for_message(message.pk)

    assert labels_of(message.conversation) == []


# Actions, each recorded in the timeline.


def test_assign_to_a_person_assigns_records_it_and_emails_them_after_the_commit(
    supervisor, django_capture_on_commit_callbacks
):
    supervisor.email = "salma@example.org"
    supervisor.save()
    rule("Billing", action="assign", assignee=supervisor)
    message = deliver()

    with django_capture_on_commit_callbacks() as callbacks:
        run_for_message(message.pk)
        assert not queued(NOTIFICATION_TASK).exists()  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    run_queued(NOTIFICATION_TASK)

    conversation = Conversation.objects.get()
    assert conversation.assignee == supervisor
    assert system_notes(conversation) == ["Routed to Salma by rule “Billing”."]
    notification = StaffNotification.objects.get()
    assert (notification.kind, notification.actor, notification.status) == (
        "assigned",
        None,
        "sent",
    )
    (email,) = mail.outbox
    assert email.to == ["salma@example.org"]
    assert "Automation assigned a conversation" in email.body


@pytest.mark.parametrize("reason", ["no permission", "another number", "inactive"])
def test_an_assignment_rule_never_assigns_someone_who_cannot_open_the_conversation(
    reason, supervisor, django_user_model
):
    deliver("earlier", sender=JOHN)
    if reason == "no permission":
        person = django_user_model.objects.create_user("guest", is_staff=True)
    elif reason == "another number":
        person = supervisor
        other = BusinessNumber.objects.create(phone_number_id="222", display_phone_number="2")
        StaffProfile.objects.create(user=supervisor).numbers.add(other)
    else:
        person = supervisor
        django_user_model.objects.filter(pk=supervisor.pk).update(is_active=False)
    rule("Billing", action="assign", assignee=person)
    message = deliver()

    run_for_message(message.pk)

    assert Conversation.objects.get(pk=message.conversation_id).assignee is None
    assert system_notes(message.conversation) == [
        "Rule “Billing” matched, but nobody was assigned: its person cannot take this conversation."
    ]
    assert not StaffNotification.objects.exists()


def test_an_assignment_rule_never_takes_a_conversation_from_its_assignee(supervisor, staff_user):
    rule(action="assign", assignee=supervisor)
    message = deliver()
    Conversation.objects.update(assignee=staff_user)

    run_for_message(message.pk)

    assert Conversation.objects.get().assignee == staff_user
    assert system_notes(message.conversation) == []


def test_add_label_adds_it_once_and_records_it():
    rule(
        "Invoices", match="contains", pattern="invoice", label=Label.objects.create(name="Billing")
    )
    first = deliver("invoice 1", minutes_ago=2)
    second = deliver("invoice 2", minutes_ago=1)

    run_for_message(first.pk)
    run_for_message(second.pk)

    assert labels_of(first.conversation) == ["Billing"]
    assert system_notes(first.conversation) == ["Label “Billing” added by rule “Invoices”."]


def test_set_priority_sets_it_and_records_it():
    rule("Urgent words", match="contains", pattern="urgent", action="priority", priority=2)
    message = deliver("This is URGENT")

    run_for_message(message.pk)

    assert ConversationPriority.objects.get(conversation=message.conversation).level == 2
    assert system_notes(message.conversation) == ["Priority set to Urgent by rule “Urgent words”."]


def test_send_a_quick_reply_answers_in_the_customers_language_through_the_outbox(
    django_capture_on_commit_callbacks,
):
    hours = quick_reply(en="Hello {first_name}, we open at nine.", ar="أهلاً {first_name}")
    rule("Hours", match="contains", pattern="ساعات", action="quick_reply", quick_reply=hours)
    message = deliver("ما هي ساعات العمل؟", name="أمينة خالد")

    with django_capture_on_commit_callbacks(execute=True):
        run_for_message(message.pk)

    reply = Message.objects.get(direction="out")
    assert (reply.text, reply.status, reply.sent_by) == ("أهلاً أمينة", "pending", None)
    assert queued("messaging.tasks.send_message").count() == 1
    assert system_notes(message.conversation) == ["Quick reply /hours sent by rule “Hours”."]


# Ordering.


def test_rules_run_in_position_order_and_stop_here_ends_the_list():
    later = rule("Later", position=20, label=Label.objects.create(name="Later"))
    rule("Sooner", position=10, label=Label.objects.create(name="Sooner"), stop_processing=True)
    message = deliver()

    run_for_message(message.pk)

    assert labels_of(message.conversation) == ["Sooner"]
    later.position = 5
    later.save()
    another = deliver("again")
    run_for_message(another.pk)
    assert labels_of(message.conversation) == ["Later", "Sooner"]


def test_only_the_first_matching_quick_reply_is_sent_one_answer_per_message():
    rule("First", position=1, action="quick_reply", quick_reply=quick_reply("a", en="First."))
    rule("Second", position=2, action="quick_reply", quick_reply=quick_reply("b", en="Second."))
    auto_reply("greeting", "Welcome!")
    message = deliver()

    run_for_message(message.pk)

    assert automatic_replies() == ["First."]
    assert system_notes(message.conversation) == [
        "Quick reply /a sent by rule “First”.",
        "Rule “Second” matched, but its quick reply /b was not sent: an earlier rule's quick "
        "reply answered the message.",
    ]


def test_a_quick_reply_without_text_lets_the_next_matching_rule_answer():
    empty = QuickReply.objects.create(shortcut="empty", title="Empty")
    rule("First", position=1, action="quick_reply", quick_reply=empty)
    rule("Second", position=2, action="quick_reply", quick_reply=quick_reply("b", en="Second."))
    message = deliver()

    run_for_message(message.pk)

    assert automatic_replies() == ["Second."]
    assert system_notes(message.conversation) == [
        "Rule “First” matched, but its quick reply /empty was not sent: the quick reply has no "
        "text.",
        "Quick reply /b sent by rule “Second”.",
    ]


def _too_old(settings):
    settings.AUTOMATION_MAX_MESSAGE_AGE_MINUTES = 60
    return 61


def _window_closed(settings):
    settings.AUTOMATION_MAX_MESSAGE_AGE_MINUTES = 3 * 24 * 60
    return 25 * 60


def _paused(settings):
    BusinessNumber.objects.update(sending_paused_at=timezone.now())


def _hourly_limit(settings):
    settings.AUTOMATION_MAX_REPLIES_PER_HOUR = 0


def _switched_off(settings):
    QuickReply.objects.update(is_active=False)


@pytest.mark.parametrize(
    ("situation", "reason"),
    [
        (_too_old, "the message was too old to answer"),
        (_window_closed, "the 24-hour window was closed"),
        (_paused, "sending was paused for this number"),
        (_hourly_limit, "the conversation had its hourly number of automatic replies"),
        (_switched_off, "the quick reply is switched off"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else "",
)
def test_a_quick_reply_rule_that_matched_but_sent_nothing_says_why_in_the_timeline(
    settings, situation, reason
):
    deliver("earlier", sender=JOHN, minutes_ago=30)
    rule("Hours", action="quick_reply", quick_reply=quick_reply(en="We open at nine."))
    minutes_ago = situation(settings) or 1
    message = deliver("When do you open?", minutes_ago=minutes_ago)

    run_for_message(message.pk)

    assert automatic_replies() == []
    assert system_notes(message.conversation) == [
        f"Rule “Hours” matched, but its quick reply /hours was not sent: {reason}."
    ]


# Round-robin.


def test_round_robin_is_fair_over_100_conversations_and_skips_whoever_cannot_take_them(
    django_user_model,
):
    group = Group.objects.create(name="Support")
    other_number = BusinessNumber.objects.create(phone_number_id="222", display_phone_number="2")
    people = {}
    for name, active in [("a", True), ("b", True), ("c", True), ("d", False), ("e", True)]:
        user = django_user_model.objects.create_user(name, is_staff=True, is_active=active)
        people[name] = grant(user, "view_conversation")
    people["f"] = django_user_model.objects.create_user("f", is_staff=True)  # may not view
    people["g"] = grant(
        django_user_model.objects.create_user("g", is_staff=True), "view_conversation"
    )
    StaffProfile.objects.create(user=people["g"]).numbers.add(other_number)  # other number only
    for user in people.values():
        user.groups.add(group)
    StaffPreferences.objects.create(user=people["e"], available=False)
    rule(action="round_robin", group=group)

    for i in range(100):
        message = deliver(f"hello {i}", sender=f"9665{i:08d}")
        run_for_message(message.pk)

    counts = Counter(
        Conversation.objects.values_list("assignee__username", flat=True).order_by("pk")
    )
    assert counts == {"a": 34, "b": 33, "c": 33}
    order = list(Conversation.objects.order_by("pk").values_list("assignee__username", flat=True))
    assert order[:6] == ["a", "b", "c", "a", "b", "c"]


def test_round_robin_gives_a_member_the_conversations_of_the_numbers_they_may_see(
    django_user_model,
):
    group = Group.objects.create(name="Support")
    group.permissions.add(Permission.objects.get(codename="view_conversation"))
    deliver("to the first number", sender=JOHN)
    second = BusinessNumber.objects.create(phone_number_id="222", display_phone_number="2")
    everywhere = django_user_model.objects.create_user("everywhere", is_staff=True)
    second_only = django_user_model.objects.create_user("second_only", is_staff=True)
    StaffProfile.objects.create(user=second_only).numbers.add(second)
    group.user_set.add(everywhere, second_only)
    rule(action="round_robin", group=group)

    for i in range(4):
        for phone_number_id in (p.PHONE_NUMBER_ID, "222"):
            message = deliver(f"hello {i}", sender=f"9665{i:08d}", phone_number_id=phone_number_id)
            run_for_message(message.pk)

    assigned = Counter(
        Conversation.objects.exclude(contact__wa_id=JOHN).values_list(
            "business_number__phone_number_id", "assignee__username"
        )
    )
    assert assigned == {(p.PHONE_NUMBER_ID, "everywhere"): 4, ("222", "second_only"): 4}


def test_round_robin_with_nobody_available_leaves_the_conversation_unassigned_and_says_so(
    django_user_model,
):
    group = Group.objects.create(name="Night shift")
    django_user_model.objects.create_user("gone", is_staff=True, is_active=False).groups.add(group)
    rule("Nights", action="round_robin", group=group)
    message = deliver()

    run_for_message(message.pk)

    assert Conversation.objects.get().assignee is None
    assert system_notes(message.conversation) == [
        "Rule “Nights” matched, but nobody was assigned: nobody in its group can take this "
        "conversation."
    ]


# Automatic replies.


def test_a_contacts_first_message_gets_the_greeting_and_later_ones_do_not():
    auto_reply("greeting", "Welcome, {first_name}!")
    first = deliver("Hello", minutes_ago=2)
    second = deliver("Anyone there?", minutes_ago=1)

    run_for_message(first.pk)
    run_for_message(second.pk)

    assert automatic_replies() == ["Welcome, Amina!"]


def test_a_contact_we_wrote_to_first_gets_the_greeting_and_counts_as_new_on_their_first_message(
    staff_user,
):
    deliver("someone else", sender=JOHN, minutes_ago=30)
    conversation = Conversation.objects.create(
        business_number=BusinessNumber.objects.get(),
        contact=Contact.objects.create(wa_id=AMINA, profile_name="Amina Khalid"),
    )
    Message.objects.create(
        conversation=conversation,
        direction="out",
        type="template",
        text="Your order has shipped.",
        timestamp=timezone.now() - timedelta(hours=2),
        status="read",
        sent_by=staff_user,
    )
    auto_reply("greeting", "Welcome, {first_name}!")
    rule(match="new_contact", label=Label.objects.create(name="New"))
    message = deliver("Thanks! One question", sender=AMINA)
    assert message.conversation_id == conversation.pk

    run_for_message(message.pk)

    assert automatic_replies() == ["Welcome, Amina!"]
    assert labels_of(conversation) == ["New"]


def test_a_business_numbers_own_greeting_and_the_customers_language_are_preferred():
    deliver("first", sender=JOHN, minutes_ago=10)
    auto_reply("greeting", "Welcome (every number)")
    auto_reply("greeting", "Welcome to this number", business_number=BusinessNumber.objects.get())
    auto_reply(
        "greeting",
        "أهلاً بك في هذا الرقم",
        language="ar",
        business_number=BusinessNumber.objects.get(),
    )
    message = deliver("مرحبا")

    run_for_message(message.pk)

    assert automatic_replies() == ["أهلاً بك في هذا الرقم"]


def test_switched_off_automatic_replies_are_not_sent():
    auto_reply("greeting", "Welcome!", is_active=False)
    message = deliver()

    run_for_message(message.pk)

    assert automatic_replies() == []


def test_the_away_message_is_sent_once_per_period_even_across_midnight():
    midnight = latest(0, 1) - timedelta(minutes=1)
    late = deliver("late at night", at=midnight - timedelta(minutes=1))
    early = deliver("just after midnight", at=midnight + timedelta(minutes=1))
    closed_all_week()  # away_interval_hours: 24
    auto_reply("away", "We are closed.")
    seconds = timedelta(seconds=30)

    run_for_message(late.pk, now=late.timestamp + seconds)
    run_for_message(early.pk, now=early.timestamp + seconds)

    assert automatic_replies() == ["We are closed."]


def test_with_a_two_hour_interval_the_away_message_comes_again_after_two_hours():
    last = latest(12, 5)
    messages = [
        deliver(f"{minutes} minutes before 12:05", at=last - timedelta(minutes=minutes))
        for minutes in (125, 35, 0)  # 10:00, 11:30, 12:05
    ]
    hours = closed_all_week()
    hours.away_interval_hours = 2
    hours.save()
    auto_reply("away", "We are closed.")

    sent = []
    for message in messages:
        run_for_message(message.pk, now=message.timestamp + timedelta(seconds=30))
        sent.append(len(automatic_replies()))

    assert sent == [1, 1, 2]
    assert [claim.message for claim in AutoReplyClaim.objects.order_by("pk")] == [
        messages[0],
        messages[2],
    ]


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(8, 59, ["We are closed."]), (9, 0, []), (16, 59, []), (17, 0, ["We are closed."])],
    ids=["before opening", "opening", "before closing", "closing"],
)
def test_the_away_message_is_sent_only_outside_the_opening_hours(hour, minute, expected):
    deliver("earlier", sender=JOHN, minutes_ago=30)
    moment = latest(hour, minute)
    open_from_nine_to_five_on(moment)
    auto_reply("away", "We are closed.")
    message = deliver(at=moment)

    run_for_message(message.pk, now=moment + timedelta(minutes=1))

    assert automatic_replies() == expected


def test_outside_hours_a_first_message_gets_the_away_message_instead_of_the_greeting():
    deliver("earlier", sender=JOHN, minutes_ago=30)
    closed_all_week()
    auto_reply("away", "We are closed.")
    auto_reply("greeting", "Welcome!")

    run_for_message(deliver().pk)

    assert automatic_replies() == ["We are closed."]


def test_automatic_replies_are_marked_as_sent_by_automation():
    deliver("earlier", sender=JOHN, minutes_ago=30)
    hours = quick_reply(en="We open at nine.")
    rule(match="contains", pattern="hours", action="quick_reply", quick_reply=hours)
    auto_reply("greeting", "Welcome!")

    run_for_message(deliver("Your hours?", sender=AMINA).pk)
    run_for_message(deliver("Hello", sender="966500000009").pk)
    closed_all_week()
    auto_reply("away", "We are closed.")
    run_for_message(deliver("Anyone there?", sender=JOHN).pk)

    replies = Message.objects.filter(direction="out").order_by("pk")
    assert [(m.text, m.sent_by, m.data) for m in replies] == [
        ("We open at nine.", None, {"automation": "rule"}),
        ("Welcome!", None, {"automation": "greeting"}),
        ("We are closed.", None, {"automation": "away"}),
    ]


def test_automatic_replies_sent_before_they_were_marked_are_marked_by_the_migration():
    from django.apps import apps

    migration = import_module("automation.migrations.0003_mark_automatic_replies")
    conversation = deliver().conversation
    old = Message.objects.create(
        conversation=conversation,
        direction="out",
        type="text",
        text="Welcome!",
        timestamp=timezone.now(),
        status="read",
        data={"kept": 1},
    )
    AutoReplyClaim.objects.create(conversation=conversation, kind="greeting", reply=old)

    migration.mark_automatic_replies(apps, None)

    old.refresh_from_db()
    assert old.data == {"kept": 1, "automation": "greeting"}


# Guarantees.


def test_a_message_older_than_the_maximum_age_is_never_answered_but_still_routed(settings):
    settings.AUTOMATION_MAX_MESSAGE_AGE_MINUTES = 60
    auto_reply("greeting", "Welcome!")
    rule()
    stale = deliver("replayed after downtime", minutes_ago=61)

    run_for_message(stale.pk)

    assert automatic_replies() == []
    assert labels_of(stale.conversation) == ["Routed"]
    assert AutomationRun.objects.get().outcome == "rules applied: 1; reply: none (too_old)"


def test_nothing_is_answered_outside_the_24_hour_window(settings):
    settings.AUTOMATION_MAX_MESSAGE_AGE_MINUTES = 3 * 24 * 60
    auto_reply("greeting", "Welcome!")
    message = deliver(minutes_ago=25 * 60)

    run_for_message(message.pk)

    assert automatic_replies() == []
    assert AutomationRun.objects.get().outcome.endswith("reply: none (window_closed)")


def test_automation_never_answers_outbound_messages_or_reactions(staff_user):
    auto_reply("greeting", "Welcome!")
    conversation = deliver().conversation
    Message.objects.all().delete()
    ours = queue_text_reply(conversation, staff_user, "Hi")
    reaction = deliver(message=p.reaction_message(ours.wamid or "wamid.X", "👍", sender=AMINA))

    assert run_for_message(ours.pk) == "not an inbound message"
    assert run_for_message(reaction.pk) == "reaction messages are not automated"
    assert automatic_replies() == []


def test_automation_never_answers_a_number_that_became_one_of_ours_after_its_message_arrived():
    # Ingest sets aside what our numbers send (tests/messaging/test_ingest_own_numbers.py);
    # a message stored before its sender was registered as ours still gets no answer.
    auto_reply("greeting", "Welcome!")
    rule("Hours", action="quick_reply", quick_reply=quick_reply(en="We open at nine."))
    deliver("hello", sender=JOHN)
    message = deliver("When do you open?", sender=AMINA)
    BusinessNumber.objects.create(phone_number_id="333", display_phone_number=AMINA)

    run_for_message(message.pk)

    assert automatic_replies() == []
    assert system_notes(message.conversation) == [
        "Rule “Hours” matched, but its quick reply /hours was not sent: "
        "the message came from one of our own numbers."
    ]


def test_a_conversation_gets_at_most_the_hourly_number_of_automatic_replies(settings):
    settings.AUTOMATION_MAX_REPLIES_PER_HOUR = 2
    rule(action="quick_reply", quick_reply=quick_reply(en="Bot answer"))

    for minutes in (4, 3, 2, 1):
        run_for_message(deliver(f"bot says {minutes}", minutes_ago=minutes).pk)

    assert automatic_replies() == ["Bot answer", "Bot answer"]


def test_an_automatic_reply_does_not_trigger_automation_so_it_cannot_loop(
    django_capture_on_commit_callbacks,
):
    auto_reply("greeting", "Welcome!")
    with django_capture_on_commit_callbacks(execute=True):
        deliver()
    assert queued().count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        run_queued()

    assert automatic_replies() == ["Welcome!"]
    assert queued().count() == 0
    assert queued("messaging.tasks.send_message").count() == 1


def test_nothing_is_answered_while_the_numbers_sending_is_paused():
    auto_reply("greeting", "Welcome!")
    message = deliver()
    BusinessNumber.objects.update(sending_paused_at=timezone.now())

    run_for_message(message.pk)

    assert automatic_replies() == []


# Exactly once.


def test_ingestion_queues_automation_after_commit_once_per_new_inbound_message(
    django_capture_on_commit_callbacks,
):
    body = inbound(p.text_message("Hello", sender=AMINA, wamid="wamid.ONCE"))

    with django_capture_on_commit_callbacks() as callbacks:
        receive(p.encode(body))
        assert queued().count() == 0  # not inside the webhook's transaction
    for callback in callbacks:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        receive(p.encode(body))  # Meta redelivers
        receive(p.encode(p.envelope(p.value(statuses=[p.status("wamid.ONCE", "read")]))))

    assert [task.args_kwargs["args"] for task in queued()] == [
        [Message.objects.get(wamid="wamid.ONCE").pk]
    ]


def test_one_task_answers_every_new_message_of_a_batch_even_if_one_of_them_fails(
    django_capture_on_commit_callbacks, monkeypatch
):
    auto_reply("greeting", "Welcome!")
    now = timezone.now()
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=AMINA, name="Amina"), p.contact(wa_id=JOHN, name="John")],
            messages=[
                p.text_message("Hello", sender=AMINA, wamid="wamid.A", timestamp=now),
                p.text_message("Hi", sender=JOHN, wamid="wamid.J", timestamp=now),
                p.text_message("Again", sender=AMINA, wamid="wamid.A2", timestamp=now),
            ],
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        receive(p.encode(body))
    assert queued().count() == 1
    first = Message.objects.get(wamid="wamid.A").pk
    run = run_for_message

    def failing_for_the_first(message_id, now=None):
        if message_id == first:
            raise RuntimeError("a bug in a rule")
        return run(message_id, now)

    monkeypatch.setattr("automation.engine.run_for_message", failing_for_the_first)
    with pytest.raises(RuntimeError):
        run_queued()
    assert automatic_replies() == ["Welcome!"]  # John's, though Amina's first failed

    monkeypatch.undo()
    run_queued()  # the same task again, as a retry would: each message is claimed once

    assert automatic_replies() == ["Welcome!", "Welcome!"]


def test_a_redelivered_webhook_never_triggers_a_second_automatic_reply(
    django_capture_on_commit_callbacks,
):
    auto_reply("greeting", "Welcome!")
    body = p.encode(inbound(p.text_message("Hello", sender=AMINA)))

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            receive(body)
            # A redelivery that is not byte-identical (Meta batches differently) too.
            receive(p.encode(inbound(p.text_message("Hello", sender=AMINA, wamid="wamid.B"))))
    run_queued()

    assert automatic_replies() == ["Welcome!"]


def test_running_automation_twice_for_a_message_does_nothing_the_second_time():
    auto_reply("greeting", "Welcome!")
    rule()
    message = deliver()

    run_for_message(message.pk)
    assert run_for_message(message.pk) == "already done"

    assert automatic_replies() == ["Welcome!"]
    assert len(system_notes(message.conversation)) == 1


def test_two_first_messages_arriving_out_of_order_get_one_greeting():
    auto_reply("greeting", "Welcome!")
    later = deliver("second", minutes_ago=1)
    run_for_message(later.pk)  # processed before the earlier one arrived
    earlier = deliver("first", minutes_ago=2)

    run_for_message(earlier.pk)

    assert automatic_replies() == ["Welcome!"]


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so nothing races")


def in_threads(target, args_list):
    errors = []
    barrier = threading.Barrier(len(args_list))

    def run(*args):
        try:
            barrier.wait()
            target(*args)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_webhooks_and_racing_workers_send_one_greeting():
    postgresql_only()
    auto_reply("greeting", "Welcome!")
    body = p.encode(inbound(p.text_message("Hello", sender=AMINA)))

    in_threads(receive, [(body,)] * 8)
    assert queued().count() == 1
    # The same task claimed by several workers at once (as if queued twice).
    message_id = Message.objects.get().pk
    in_threads(run_for_message, [(message_id,)] * 6)

    assert automatic_replies() == ["Welcome!"]
    assert AutomationRun.objects.count() == 1


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_messages_in_one_conversation_get_one_greeting_and_one_away_message():
    postgresql_only()
    auto_reply("greeting", "Welcome!")
    deliver("earlier", sender=JOHN, minutes_ago=30)
    messages = [deliver(f"burst {i}", minutes_ago=1, name="Amina") for i in range(6)]
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(timestamp=messages[0].timestamp)

    in_threads(run_for_message, [(m.pk,) for m in messages])
    assert automatic_replies().count("Welcome!") == 1

    AutoReply.objects.all().delete()
    AutomationRun.objects.all().delete()
    closed_all_week()
    auto_reply("away", "We are closed.")
    in_threads(run_for_message, [(m.pk,) for m in messages])
    assert automatic_replies().count("We are closed.") == 1
