import pytest

from tests.scope_support import two_numbers


@pytest.fixture
def numbers(django_user_model):
    """Two numbers, each with a customer and everything around them (tests/scope_support.py)."""
    return two_numbers(django_user_model.objects.create_user("colleague", is_staff=True))
