"""staff.backends.OneQueryModelBackend: Django's answers, with the user's own query or in
one more."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User

from messaging.models import BusinessNumber
from staff.backends import OneQueryModelBackend
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db


def permission(codename):
    return Permission.objects.get(codename=codename)


@pytest.fixture
def agent():
    user = User.objects.create_user("layla", is_staff=True)
    user.user_permissions.add(permission("view_conversation"))
    group = Group.objects.create(name="Helpers")
    group.permissions.add(permission("reply_conversation"), permission("view_conversation"))
    user.groups.add(group)
    return User.objects.get(pk=user.pk)


def test_it_reads_own_and_group_permissions_in_one_query(agent, django_assert_num_queries):
    with django_assert_num_queries(1):
        permissions = OneQueryModelBackend().get_all_permissions(agent)
        assert OneQueryModelBackend().has_perm(agent, "messaging.reply_conversation")

    assert permissions == {"messaging.view_conversation", "messaging.reply_conversation"}


@pytest.mark.parametrize("kind", ["agent", "superuser", "inactive", "nobody"])
def test_it_answers_as_djangos_model_backend(agent, kind):
    if kind == "superuser":
        user = User.objects.create_superuser("root")
    elif kind == "inactive":
        agent.is_active = False
        agent.save()
        user = agent
    elif kind == "nobody":
        user = User.objects.create_user("nobody", is_staff=True)
    else:
        user = agent

    ours = OneQueryModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
    djangos = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))

    assert ours == djangos
    assert bool(ours) == (kind in {"agent", "superuser"})


def test_a_permission_for_an_object_is_not_granted_by_a_model_permission(agent):
    assert OneQueryModelBackend().get_all_permissions(agent, obj=object()) == set()


def test_a_signed_in_user_comes_with_their_permissions_in_the_same_query(
    agent, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = OneQueryModelBackend().get_user(agent.pk)
        assert user.has_perm("messaging.reply_conversation")
        assert not user.has_perm("messaging.close_any_conversation")

    assert user.get_all_permissions() == ModelBackend().get_all_permissions(agent)


def test_a_permission_granted_since_the_last_request_counts_on_the_next(agent):
    backend = OneQueryModelBackend()
    assert not backend.get_user(agent.pk).has_perm("messaging.close_any_conversation")

    agent.user_permissions.add(permission("close_any_conversation"))

    assert backend.get_user(agent.pk).has_perm("messaging.close_any_conversation")


@pytest.mark.parametrize("kind", ["superuser", "without permissions"])
def test_a_signed_in_user_has_what_djangos_backend_gives(kind):
    if kind == "superuser":
        user = User.objects.create_superuser("root")
    else:
        user = User.objects.create_user("nobody", is_staff=True)

    signed_in = OneQueryModelBackend().get_user(user.pk)

    assert signed_in.get_all_permissions() == ModelBackend().get_all_permissions(user)
    assert signed_in.has_perm("messaging.view_conversation") == (kind == "superuser")


def test_an_inactive_or_missing_user_is_not_signed_in(agent):
    agent.is_active = False
    agent.save()

    assert OneQueryModelBackend().get_user(agent.pk) is None
    assert OneQueryModelBackend().get_user(agent.pk + 1000) is None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("limited", {"111", "222"}), ("no profile", None), ("empty profile", None), ("root", None)],
)
def test_a_signed_in_user_comes_with_their_number_scope_in_the_same_query(
    agent, django_assert_num_queries, kind, expected
):
    numbers = [BusinessNumber.objects.create(phone_number_id=pk) for pk in ["111", "222", "333"]]
    if kind == "root":
        agent.is_superuser = True
        agent.save()
    if kind != "no profile":
        profile = StaffProfile.objects.create(user=agent)
        if kind in {"limited", "root"}:
            profile.numbers.add(*numbers[:2])

    with django_assert_num_queries(1):
        user = OneQueryModelBackend().get_user(agent.pk)
        scope = StaffProfile.objects.number_scope(user)

    ids = {number.pk: number.phone_number_id for number in numbers}
    assert scope == StaffProfile.objects.number_scope(User.objects.get(pk=agent.pk))
    assert (scope if scope is None else {ids[pk] for pk in scope}) == expected
