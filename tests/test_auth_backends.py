"""config.auth_backends.OneQueryModelBackend: Django's answers, in one query."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission, User

from config.auth_backends import OneQueryModelBackend

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
