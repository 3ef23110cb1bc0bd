import pytest

from tests.scope_support import member, signed_in, two_numbers


@pytest.fixture
def numbers(django_user_model):
    """Two numbers, each with a customer and its automation (tests/scope_support.py)."""
    return two_numbers(django_user_model.objects.create_user("colleague", is_staff=True))


@pytest.fixture
def sales_supervisor(django_user_model, numbers):
    """A supervisor who may see only the first number (a signed-in client)."""
    return signed_in(
        member(django_user_model, "sales-boss", "Supervisor", numbers=[numbers.ours.number])
    )
