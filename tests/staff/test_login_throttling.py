"""Login throttling (django-axes): repeated failures lock a username, or an address, out."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def fail(client, username="amina", address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": "wrong"}, REMOTE_ADDR=address)


def sign_in(client, password, username="amina", address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_failures_below_the_limit_only_show_the_form_error(client, staff_user):
    for _ in range(2):
        response = fail(client)

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_reaching_the_limit_shows_the_lockout_page(client, staff_user):
    for _ in range(2):
        fail(client)

    response = fail(client)

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    html = response.content.decode()
    assert "Sign-in locked" in html
    assert "Try again in 15 minutes" in html
    assert "An administrator can unlock" in html
    # A styled page like the login page, under the same Content Security Policy.
    assert 'class="card auth-card"' in html
    assert "'nonce-" in response["Content-Security-Policy"]


def test_the_right_password_is_refused_while_locked_out(client, staff_user, password):
    for _ in range(3):
        fail(client)

    response = sign_in(client, password)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_from_any_address(client, staff_user, password):
    for number in range(3):
        fail(client, address=f"198.51.100.{number + 1}")

    assert sign_in(client, password, address="203.0.113.9").status_code == 429


def test_the_lock_is_per_address_for_any_account(client, staff_user, password):
    for name in ("salma", "omar", "root"):
        fail(client, username=name)

    # amina never failed, but her attempts come from the locked-out address.
    assert sign_in(client, password).status_code == 429
    assert sign_in(client, password, address="203.0.113.9").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, staff_user, password):
    for _ in range(3):
        fail(client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = sign_in(client, password)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


def test_a_successful_sign_in_clears_the_count(client, staff_user, password):
    for _ in range(2):
        fail(client)
    assert sign_in(client, password).status_code == 302
    client.post(reverse("logout"))

    for _ in range(2):
        fail(client)

    assert sign_in(client, password).status_code == 302


def test_an_administrator_unlocks_with_the_management_command(client, staff_user, password):
    for _ in range(3):
        fail(client)

    call_command("axes_reset_username", "amina", verbosity=0)
    call_command("axes_reset_ip", "198.51.100.7", verbosity=0)

    assert sign_in(client, password).status_code == 302


def test_an_administrator_unlocks_in_the_admin(client, admin_client, staff_user, password):
    for _ in range(3):
        fail(client)
    attempt = AccessAttempt.objects.get(username="amina")

    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert b"amina" in listing.content
    response = admin_client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert sign_in(client, password).status_code == 302


def test_the_admin_login_is_throttled_too(client, staff_user):
    for _ in range(3):
        response = client.post(
            reverse("admin:login"),
            {"username": "amina", "password": "wrong"},
            REMOTE_ADDR="198.51.100.7",
        )

    assert response.status_code == 429


def test_successful_sign_ins_are_recorded_for_audit(client, staff_user, password):
    sign_in(client, password)

    assert AccessLog.objects.get().username == "amina"


def test_neither_the_password_nor_the_next_page_is_recorded_or_logged(client, staff_user, caplog):
    caplog.set_level(logging.DEBUG)
    client.post(
        LOGIN + "?next=/%3Fq%3DFatima",
        {"username": "amina", "password": "hunter2-secret", "next": "/?q=Fatima"},
    )

    attempt = AccessAttempt.objects.get()
    recorded = attempt.get_data + attempt.post_data
    assert "amina" in recorded  # who tried: what an administrator needs
    for private in ("hunter2-secret", "Fatima"):
        assert private not in recorded
        assert private not in caplog.text
