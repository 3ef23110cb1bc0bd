"""Two business numbers, each with a customer and everything staff and automation add around
them, and staff limited to the first: for the tests of number scope (nothing of the second
number may reach someone who may see only the first)."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import Group
from django.test import Client

from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    BusinessHours,
    ConversationLabel,
    Holiday,
    Label,
    Note,
    RoutingRule,
    StaffNotification,
)
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, WebhookEvent
from messaging.phones import format_phone
from messaging.sending import queue_text_reply
from staff.models import StaffProfile


@dataclass
class Side:
    """One number and what lies on it (`marks`: its words, which must never reach someone
    limited to the other number)."""

    number: BusinessNumber
    conversation: Conversation
    auto_reply: AutoReply
    rule: RoutingRule
    hours: BusinessHours
    label: Label
    webhook: WebhookEvent  # the raw body its customer's message came in
    marks: list[str]

    @property
    def message(self):
        return self.conversation.messages.earliest("pk")


def build_side(user, *, phone_number_id, display, line, customer, wa_id, colour):
    """A number called `line`, and a customer's conversation on it, labelled, noted, answered
    by `user`, greeted and routed; `user` was notified of it."""
    webhook = receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id=phone_number_id,
                    display_phone_number=display,
                    contacts=[p.contact(wa_id=wa_id, name=customer)],
                    messages=[p.text_message(f"Question for {line}", sender=wa_id)],
                )
            )
        )
    )
    number = BusinessNumber.objects.get(phone_number_id=phone_number_id)
    number.name = line
    number.save(update_fields=["name"])
    conversation = Conversation.objects.select_related("contact").get(business_number=number)
    message = conversation.messages.get()
    # Labels are shared by every number: only a conversation wearing one is the number's.
    label = Label.objects.create(name=f"Tag {colour}", colour=colour)
    ConversationLabel.objects.create(conversation=conversation, label=label)
    Note.objects.create(conversation=conversation, author=user, text=f"Note on {line}")
    queue_text_reply(conversation, user, f"Reply on {line}")
    hours = BusinessHours.objects.create(business_number=number, time_zone="Asia/Riyadh")
    Holiday.objects.create(hours=hours, date=date(2026, 12, 1), name=f"Holiday of {line}")
    auto_reply = AutoReply.objects.create(
        kind="greeting", business_number=number, language="en", text=f"Welcome to {line}"
    )
    rule = RoutingRule.objects.create(
        name=f"Rule of {line}", business_number=number, action="label", label=label
    )
    StaffNotification.objects.create(user=user, kind="assigned", conversation=conversation)
    AutomationRun.objects.create(message=message, outcome="nothing to do")
    AutoReplyClaim.objects.create(conversation=conversation, kind="greeting", message=message)
    marks = [
        line,
        display,
        format_phone(display),
        customer,
        wa_id,
        format_phone(wa_id),
        f"Question for {line}",
        f"Note on {line}",
        f"Reply on {line}",
        f"Welcome to {line}",
        f"Rule of {line}",
        f"Holiday of {line}",
    ]
    return Side(number, conversation, auto_reply, rule, hours, label, webhook, marks)


@dataclass
class TwoNumbers:
    ours: Side  # number 1: the one the limited staff may see
    theirs: Side  # number 2


def two_numbers(user):
    ours = build_side(
        user, phone_number_id="111", display="15550000111", line="Sales line",
        customer="Samira Ours", wa_id="966500000111", colour="teal",
    )  # fmt: skip
    theirs = build_side(
        user, phone_number_id="222", display="15550000222", line="Support line",
        customer="Zubair Theirs", wa_id="966500000222", colour="purple",
    )  # fmt: skip
    return TwoNumbers(ours, theirs)


def member(django_user_model, username, role, *, numbers=()):
    """Staff with one of the roles, limited to `numbers` (none given: every number)."""
    user = django_user_model.objects.create_user(username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    if numbers:
        StaffProfile.objects.create(user=user).numbers.add(*numbers)
    return user


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def does_not_exist(response):
    """The admin's answer for an id nobody has: back to the admin index, with a message."""
    return response.status_code == 302 and response["Location"] == "/admin/"
