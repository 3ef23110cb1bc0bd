"""Whom a conversation may be assigned to: only people who can open it (the view permission,
and its number in their scope), in the assignee menu and in the assign view alike."""

import re

import pytest
from django.urls import reverse

from tests.scope_support import member, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(django_user_model, numbers):
    """A supervisor of every number and the colleagues they might hand conversations to."""
    ours, theirs = numbers.ours.number, numbers.theirs.number
    found = {
        "boss": member(django_user_model, "boss", "Supervisor"),
        "agent": member(django_user_model, "agent", "Agent"),
        "sales agent": member(django_user_model, "sales-agent", "Agent", numbers=[ours]),
        "support agent": member(django_user_model, "support-agent", "Agent", numbers=[theirs]),
        "officer": member(django_user_model, "officer", "Privacy officer"),
        "gone": member(django_user_model, "gone", "Agent"),
    }
    found["gone"].is_active = False
    found["gone"].save()
    return numbers.ours.conversation, found


def menu(html):
    """The user ids the assignee menu offers."""
    select = re.search(r'<select id="assignee".*?</select>', html, re.S).group()
    return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select)}


def test_it_offers_only_people_who_can_open_the_conversation(people):
    conversation, staff = people

    html = signed_in(staff["boss"]).get(reverse("inbox:conversation", args=[conversation.pk]))

    offered = menu(html.content.decode())
    assert offered == {staff[name].pk for name in ["boss", "agent", "sales agent"]}


@pytest.mark.parametrize("name", ["support agent", "officer", "gone"])
def test_it_refuses_to_assign_someone_who_cannot_open_the_conversation(people, name):
    conversation, staff = people

    response = signed_in(staff["boss"]).post(
        reverse("inbox:assign", args=[conversation.pk]), {"assignee": staff[name].pk}
    )

    assert response.status_code == 400
    assert "who can open this conversation" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee is None


def test_a_colleague_limited_to_the_conversations_number_can_be_assigned(people):
    conversation, staff = people

    signed_in(staff["boss"]).post(
        reverse("inbox:assign", args=[conversation.pk]), {"assignee": staff["sales agent"].pk}
    )

    conversation.refresh_from_db()
    assert conversation.assignee == staff["sales agent"]


def test_an_assignee_who_can_no_longer_open_it_is_shown_as_such_not_as_unassigned(people):
    conversation, staff = people
    type(conversation).objects.filter(pk=conversation.pk).update(assignee=staff["officer"])

    html = signed_in(staff["boss"]).get(reverse("inbox:conversation", args=[conversation.pk]))

    select = re.search(r'<select id="assignee".*?</select>', html.content.decode(), re.S).group()
    chosen = re.search(r"<option[^>]* selected[^>]*>([^<]*)<", select).group(1)
    assert "officer" in chosen
    assert "cannot open this conversation" in chosen
