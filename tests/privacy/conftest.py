import pytest

from tests.erasure_support import populate


@pytest.fixture
def world(staff_user):
    """Zainab and Omar, with everything the app can hold about them (tests/erasure_support.py)."""
    return populate(staff_user)
