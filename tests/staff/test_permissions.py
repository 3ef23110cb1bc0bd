"""staff.permissions: who may open a conversation, asked of one person or of many at once."""

import pytest
from django.contrib.auth.models import Group, Permission

from messaging.models import BusinessNumber, Contact, Conversation
from staff.models import StaffProfile
from staff.permissions import can_open, users_with_perm, who_can_open, with_every_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation():
    number = BusinessNumber.objects.create(phone_number_id="111")
    return Conversation.objects.create(
        business_number=number, contact=Contact.objects.create(wa_id="966500000001")
    )


@pytest.fixture
def other_number():
    return BusinessNumber.objects.create(phone_number_id="222")


def person(django_user_model, username, *, group=None, own=False, **fields):
    user = django_user_model.objects.create_user(username, is_staff=True, **fields)
    view = Permission.objects.get(codename="view_conversation")
    if own:
        user.user_permissions.add(view)
    if group:
        viewers, _ = Group.objects.get_or_create(name=group)
        viewers.permissions.add(view)
        user.groups.add(viewers)
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def people(django_user_model, other_number):
    scoped_away = person(django_user_model, "scoped-away", own=True)
    StaffProfile.objects.create(user=scoped_away).numbers.add(other_number)
    return {
        "own": person(django_user_model, "own", own=True),
        "group": person(django_user_model, "group", group="Viewers"),
        "root": django_user_model.objects.create_superuser("root"),
        "without": person(django_user_model, "without"),
        "inactive": person(django_user_model, "inactive", own=True, is_active=False),
        "scoped-away": scoped_away,
    }


def test_one_person_and_many_get_the_same_answer(django_user_model, people, conversation):
    one_by_one = {name for name, user in people.items() if can_open(user, conversation)}
    at_once = set(
        who_can_open(django_user_model.objects.all(), conversation).values_list(
            "username", flat=True
        )
    )

    assert one_by_one == at_once == {"own", "group", "root"}


def test_a_scope_that_includes_the_number_lets_them_open_it(people, conversation):
    StaffProfile.objects.get(user=people["scoped-away"]).numbers.add(conversation.business_number)

    assert can_open(people["scoped-away"], conversation)


def test_it_narrows_only_the_users_it_is_given(django_user_model, people, conversation):
    some = django_user_model.objects.filter(username__in=["own", "without"])

    assert list(who_can_open(some, conversation)) == [people["own"]]


def test_nobody_opens_no_conversation(people):
    assert not can_open(people["root"], None)


def test_users_with_a_permission_are_the_active_holders_and_superusers(people):
    holders = users_with_perm("messaging.view_conversation").values_list("username", flat=True)

    assert set(holders) == {"own", "group", "root", "scoped-away"}


def test_those_with_every_number_are_those_whose_number_scope_is_none(
    django_user_model, people, other_number
):
    root_with_numbers = django_user_model.objects.create_superuser("root-scoped")
    StaffProfile.objects.create(user=root_with_numbers).numbers.add(other_number)
    everyone = django_user_model.objects.all()

    at_once = set(with_every_number(everyone).values_list("username", flat=True))

    one_by_one = {u.username for u in everyone if StaffProfile.objects.number_scope(u) is None}
    assert at_once == one_by_one
    assert "scoped-away" not in at_once
    assert {"own", "root", "root-scoped"} <= at_once
