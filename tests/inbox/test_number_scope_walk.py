"""Number scope, walked: a supervisor and an agent who may see only number 1 go through every
inbox URL, every admin URL (automation's included) and the poll, with the ids of number 2's
objects wherever a URL takes one, reading and posting. Nothing of number 2 may come back (its
name and phone number, its customer's name and phone number, message and note text, its
automatic replies, rules and holidays, a label worn by its conversation), and nothing of
number 2 may change. (A privacy officer's walk is tests/privacy's.)"""

import uuid

import pytest
from django.apps import apps
from django.urls import reverse

from automation.models import AutomationRun, AutoReplyClaim, StaffNotification
from messaging.models import Conversation, InboxChange, Message
from tests.scope_support import member, signed_in
from tests.template_helpers import make_template
from tests.url_walk import walk

pytestmark = pytest.mark.django_db

# Every field an inbox action reads, with values that would act if the action went through.
ACTION = {
    "text": "Hello from number 1", "assignee": "me", "state": "closed", "action": "remove",
    "emoji": "👍", "caption": "A picture", "client_token": str(uuid.UUID(int=1)),
    "param-body-1": "Amina",
}  # fmt: skip


@pytest.fixture(params=["Supervisor", "Agent"])
def limited(request, django_user_model, numbers):
    """A supervisor or an agent who may see only number 1, signed in."""
    user = member(django_user_model, "limited", request.param, numbers=[numbers.ours.number])
    return signed_in(user)


def theirs_by_model(numbers):
    """For each admin model, the object of number 2 its pages are walked with."""
    theirs = numbers.theirs
    conversation = theirs.conversation
    return {
        "messaging.businessnumber": theirs.number,
        "messaging.contact": conversation.contact,
        "messaging.conversation": conversation,
        "messaging.message": theirs.message,
        "messaging.webhookevent": theirs.webhook,
        "automation.autoreply": theirs.auto_reply,
        "automation.routingrule": theirs.rule,
        "automation.businesshours": theirs.hours,
        "automation.label": theirs.label,
        "automation.staffnotification": StaffNotification.objects.get(conversation=conversation),
        "automation.automationrun": AutomationRun.objects.get(message=theirs.message),
        "automation.autoreplyclaim": AutoReplyClaim.objects.get(conversation=conversation),
    }


def routes(numbers):
    """Every URL of the project, with number 2's ids: its conversation and its message in the
    inbox, its object of each model in the admin (the first row of models that have none)."""
    theirs = numbers.theirs.conversation
    values = {"pk": theirs.pk, "message_pk": theirs.messages.get(direction="out").pk}
    found = {}
    for label, obj in theirs_by_model(numbers).items():
        model = apps.get_model(label)
        for route in walk(values | {"object_id": obj.pk}):
            if route.route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
                found[route.path] = route
    for route in walk(values, objects=True):
        found.setdefault(route.path, route)
    return list(found.values())


def snapshot(numbers):
    """What an action on number 2 would change."""
    theirs = numbers.theirs
    conversation = type(theirs.conversation).objects.get(pk=theirs.conversation.pk)
    return {
        "conversation": (conversation.assignee_id, conversation.state, conversation.unread_count),
        "messages": Message.objects.filter(conversation=conversation).count(),
        "notes": conversation.notes.count(),
        "labels": sorted(conversation.labels.values_list("pk", flat=True)),
        "auto reply": type(theirs.auto_reply).objects.filter(pk=theirs.auto_reply.pk).values()[0],
        "rule": type(theirs.rule).objects.filter(pk=theirs.rule.pk).values()[0],
        "hours": type(theirs.hours).objects.filter(pk=theirs.hours.pk).values()[0],
    }


def leaks(numbers, html, asked):
    """The words of number 2 in a page, and its label if shown worn by a conversation (a
    label's name alone is not number 2's: every number shares the labels, and the labels
    settings page lists every one as a `label-sample`). What the page was asked for (a search
    box shows its own words again) does not count."""
    for value in asked.values():
        html = html.replace(str(value), "")
    worn = f'label-chip {numbers.theirs.label.css_class}">'
    return [mark for mark in [*numbers.theirs.marks, worn] if mark in html]


def searches(numbers):
    """The list filtered and searched by number 2's things."""
    theirs = numbers.theirs
    return [
        {"number": theirs.number.pk},
        {"label": theirs.label.pk},
        {"q": "Zubair"},
        {"q": theirs.conversation.contact.wa_id},
        {"q": "Question for Support line"},
    ]


def test_limited_staff_find_nothing_of_another_number_anywhere(limited, numbers):
    template = make_template("hello", [{"type": "BODY", "text": "Hello {{1}}"}])
    action = ACTION | {"label": numbers.theirs.label.pk, "template": template.pk}
    requests = [
        (method, route.path, data)
        for route in routes(numbers)
        if route.name not in {"logout", "admin:logout"}  # signed in throughout
        for method, data in [("get", {}), ("post", action)]
    ]
    requests += [("get", "/", query) for query in searches(numbers)]
    before = snapshot(numbers)

    found = {}
    for method, path, data in requests:
        response = getattr(limited, method)(path, data)
        asked = data if method == "get" else {}
        if leaked := leaks(numbers, response.content.decode(), asked):
            found[f"{method.upper()} {path} {asked}"] = leaked

    assert not found
    assert snapshot(numbers) == before
    assert "Samira Ours" in limited.get("/").content.decode()  # number 1's, for comparison


def test_limited_staff_poll_hears_nothing_of_another_number(limited, numbers):
    theirs = numbers.theirs.conversation
    since = InboxChange.objects.latest("pk").pk
    InboxChange.objects.record(theirs.pk, numbers.theirs.message.pk)
    Conversation.objects.filter(pk=theirs.pk).update(unread_count=1)

    # Following number 2's conversation, asking to read it, as an open page would.
    response = limited.get(
        reverse("inbox:poll"), {"since": since, "open": theirs.pk, "visible": 1, "read": 1}
    )

    assert response.status_code == 204
    assert Conversation.objects.get(pk=theirs.pk).unread_count == 1
