"""staff.backends.OneQueryModelBackend reads a signed-in user's permissions afresh on every
request: whatever changed since the last one (their own permissions, their groups, a group's
permissions, a deleted group, their account) counts on the next."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from staff.backends import OneQueryModelBackend

pytestmark = pytest.mark.django_db

CLOSE = "messaging.close_any_conversation"


def permission(codename):
    return Permission.objects.get(codename=codename)


@pytest.fixture
def helpers():
    group = Group.objects.create(name="Helpers")
    group.permissions.add(permission("view_conversation"))
    return group


@pytest.fixture
def agent(django_user_model, helpers):
    user = django_user_model.objects.create_user("layla", is_staff=True)
    user.groups.add(helpers)
    return user


def signed_in(user):
    """The user as the next request loads them."""
    return OneQueryModelBackend().get_user(user.pk)


def test_a_permission_added_to_their_group_counts_on_the_next_request(agent, helpers):
    assert not signed_in(agent).has_perm(CLOSE)

    helpers.permissions.add(permission("close_any_conversation"))

    assert signed_in(agent).has_perm(CLOSE)


def test_a_permission_added_to_their_group_from_the_permissions_side_counts(agent, helpers):
    permission("close_any_conversation").group_set.add(helpers)

    assert signed_in(agent).has_perm(CLOSE)


def test_joining_a_group_counts_on_the_next_request(agent):
    closers = Group.objects.create(name="Closers")
    closers.permissions.add(permission("close_any_conversation"))
    assert not signed_in(agent).has_perm(CLOSE)

    closers.user_set.add(agent)

    assert signed_in(agent).has_perm(CLOSE)


def test_leaving_their_group_counts_on_the_next_request(agent, helpers):
    assert signed_in(agent).has_perm("messaging.view_conversation")

    agent.groups.remove(helpers)

    assert signed_in(agent).get_all_permissions() == set()


def test_a_deleted_group_grants_nothing_on_the_next_request(agent, helpers):
    helpers.delete()

    assert not signed_in(agent).has_perm("messaging.view_conversation")


def test_a_revoked_permission_of_their_own_stops_counting_on_the_next_request(agent):
    agent.user_permissions.add(permission("close_any_conversation"))
    assert signed_in(agent).has_perm(CLOSE)

    agent.user_permissions.clear()

    assert not signed_in(agent).has_perm(CLOSE)


def test_becoming_a_superuser_counts_on_the_next_request(agent):
    agent.is_superuser = True
    agent.save()

    assert signed_in(agent).has_perm(CLOSE)


def test_a_deactivated_account_is_signed_out_on_the_next_request(agent):
    agent.is_active = False
    agent.save()

    assert signed_in(agent) is None


def test_a_change_between_two_polls_answers_the_second(client, agent, helpers):
    nobody = Group.objects.create(name="Nobody")
    client.force_login(agent)
    poll = reverse("inbox:poll")
    assert client.get(poll, {"since": 0}).status_code != 403

    agent.groups.set([nobody])
    assert client.get(poll, {"since": 0}).status_code == 403

    nobody.permissions.add(permission("view_conversation"))
    assert client.get(poll, {"since": 0}).status_code != 403
