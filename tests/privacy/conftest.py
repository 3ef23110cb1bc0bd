import pytest
from django.contrib.auth.models import Group

from staff.models import StaffProfile
from tests.erasure_support import populate
from tests.number_scope_support import two_numbers


@pytest.fixture
def world(staff_user):
    """Zainab and Omar, with everything the app can hold about them (tests/erasure_support.py)."""
    return populate(staff_user)


@pytest.fixture
def numbers():
    """Nadia on number 1, Layla on number 2, Sami on both (tests/number_scope_support.py)."""
    return two_numbers()


def privacy_officer(django_user_model, username, *numbers):
    user = django_user_model.objects.create_user(username, password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="Privacy officer"))
    if numbers:
        StaffProfile.objects.create(user=user).numbers.add(*numbers)
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def limited_officer(django_user_model, numbers):
    """A privacy officer (the role) limited to number 1."""
    return privacy_officer(django_user_model, "hana", numbers.number_1)


@pytest.fixture
def everywhere_officer(django_user_model, numbers):
    """A privacy officer (the role) with every number."""
    return privacy_officer(django_user_model, "olga")
