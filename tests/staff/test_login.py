"""The sign-in and sign-out views, and who gets past them."""

import re

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_redirected_to_the_login_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_login_page_shows_a_form_with_csrf_protection(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_staff_user_signs_in_and_lands_in_the_inbox(client, staff_user, password):
    response = client.post(
        reverse("login"), {"username": "amina", "password": password}, follow=True
    )

    assert response.redirect_chain == [("/", 302)]
    assert response.status_code == 200
    assert b"Amina" in response.content
    assert response.wsgi_request.user == staff_user


def test_sign_in_returns_to_the_page_asked_for(client, staff_user, password):
    response = client.post(
        reverse("login"), {"username": "amina", "password": password, "next": "/admin/"}
    )

    assert response["Location"] == "/admin/"


def test_sign_in_never_redirects_to_another_site(client, staff_user, password):
    response = client.post(
        reverse("login"),
        {"username": "amina", "password": password, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, staff_user):
    response = client.post(reverse("login"), {"username": "amina", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_non_staff_account_cannot_sign_in(client, non_staff_user, password):
    response = client.post(reverse("login"), {"username": "visitor", "password": password})

    assert response.status_code == 200
    assert b"This account has no access to the inbox" in response.content
    assert "_auth_user_id" not in client.session


def test_signed_in_non_staff_user_gets_403(client, non_staff_user):
    client.force_login(non_staff_user)

    response = client.get("/")

    assert response.status_code == 403
    assert b"is not a staff account" in response.content
    assert reverse("logout").encode() in response.content


def test_user_who_loses_staff_status_is_refused_on_the_next_request(staff_client, staff_user):
    staff_user.is_staff = False
    staff_user.save()

    assert staff_client.get("/").status_code == 403


def test_deactivated_user_is_signed_out_on_the_next_request(staff_client, staff_user):
    staff_user.is_active = False
    staff_user.save()

    response = staff_client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_signed_in_staff_user_visiting_login_goes_to_the_inbox(staff_client):
    response = staff_client.get(reverse("login"))

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_needs_a_post(staff_client):
    assert staff_client.get(reverse("logout")).status_code == 405
    assert staff_client.get("/").status_code == 200


def test_logout_signs_out_and_returns_to_the_login_page(staff_client):
    response = staff_client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert staff_client.get("/").status_code == 302


def test_signing_out_after_the_session_expired_goes_straight_to_the_login_page(client):
    # Not via the login page with ?next=/accounts/logout/, which after signing in would send
    # them to the sign-out URL with a GET (a 405).
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_non_staff_user_can_sign_out(client, non_staff_user):
    client.force_login(non_staff_user)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_login_form_rejects_a_post_without_csrf_token(staff_user, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("login"), {"username": "amina", "password": password})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short-pw-1", "This password is too short. It must contain at least 12 characters."),
        ("qwertyuiop123", "This password is too common."),
        ("123456789012", "This password is entirely numeric."),
        ("amina@example", "The password is too similar to the email address."),
    ],
)
def test_a_weak_new_password_is_refused_with_the_reason(
    staff_client, staff_user, password, weak, reason
):
    staff_user.email = "amina@example.org"
    staff_user.save()

    response = staff_client.post(
        "/admin/password_change/",
        {"old_password": password, "new_password1": weak, "new_password2": weak},
    )

    assert response.status_code == 200
    assert reason in response.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.check_password(password)


def test_a_strong_new_password_is_accepted(staff_client, staff_user, password):
    new = "a-long-unusual-passphrase-for-amina"

    response = staff_client.post(
        "/admin/password_change/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password(new)


def test_the_login_page_clears_the_composer_drafts_of_whoever_was_signed_in(client):
    """Drafts live in the tab's sessionStorage; the sign-in page (where signing out, or an
    ended session, leads) runs the script that deletes them."""
    html = client.get("/accounts/login/").content.decode()

    assert re.search(r'<script src="/static/js/signed_out\.[0-9a-f]+\.js" defer nonce=', html)
