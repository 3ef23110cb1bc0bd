"""Sessions: idle and absolute limits, passive polling, htmx, sign-in and deactivation."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from staff.security import ACTIVE_AT, ACTIVITY_RESOLUTION, LOGIN_AT

pytestmark = pytest.mark.django_db

HOUR = 60 * 60


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SESSION_IDLE_MINUTES = 30
    settings.SESSION_MAX_HOURS = 12


def clocks(client):
    session = client.session
    return session[LOGIN_AT], session[ACTIVE_AT]


def set_clocks(client, *, signed_in_ago=0, active_ago=0):
    now = int(time.time())
    session = client.session
    session[LOGIN_AT] = now - signed_in_ago
    session[ACTIVE_AT] = now - active_ago
    session.save()


def is_signed_in(client):
    return "_auth_user_id" in client.session


def test_signing_in_starts_both_clocks(client, staff_user, password):
    before = int(time.time())
    client.post(reverse("login"), {"username": "amina", "password": password})

    signed_in, active = clocks(client)
    assert before <= signed_in <= time.time()
    assert active == signed_in


def test_a_recently_active_session_goes_on(staff_client):
    set_clocks(staff_client, signed_in_ago=2 * HOUR, active_ago=29 * 60)

    assert staff_client.get("/").status_code == 200
    assert is_signed_in(staff_client)


def test_an_idle_session_ends_with_a_message_on_the_login_page(staff_client):
    set_clocks(staff_client, signed_in_ago=2 * HOUR, active_ago=30 * 60)

    response = staff_client.get("/c/1/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/c/1/"
    assert not is_signed_in(staff_client)
    login_page = staff_client.get(response["Location"])
    assert b"Your session has expired. Please sign in again." in login_page.content


def test_a_session_ends_after_the_maximum_however_active(staff_client):
    set_clocks(staff_client, signed_in_ago=12 * HOUR, active_ago=0)

    response = staff_client.get("/")

    assert response["Location"] == "/accounts/login/?next=/"
    assert not is_signed_in(staff_client)


def test_the_admin_is_covered_too(staff_client):
    set_clocks(staff_client, active_ago=30 * 60)

    response = staff_client.get("/admin/")

    assert response["Location"] == "/admin/login/?next=/admin/"
    assert not is_signed_in(staff_client)


def test_activity_is_recorded_at_most_once_a_minute(staff_client):
    # Half a minute of margin either side: a slow machine may tick a second or two mid-test.
    set_clocks(staff_client, signed_in_ago=HOUR, active_ago=ACTIVITY_RESOLUTION // 2)
    _, before = clocks(staff_client)

    staff_client.get("/")
    assert clocks(staff_client)[1] == before  # no session write within the minute

    set_clocks(staff_client, signed_in_ago=HOUR, active_ago=ACTIVITY_RESOLUTION + 30)
    started = int(time.time())
    staff_client.get("/")
    assert clocks(staff_client)[1] >= started


def test_polling_is_not_activity(staff_client):
    set_clocks(staff_client, signed_in_ago=HOUR, active_ago=20 * 60)
    _, before = clocks(staff_client)

    response = staff_client.get(reverse("inbox:poll"), {"since": "0"})

    assert response.status_code in {200, 204}
    assert clocks(staff_client)[1] == before


def test_an_open_tab_polling_does_not_keep_the_session_alive(staff_client):
    set_clocks(staff_client, signed_in_ago=HOUR, active_ago=30 * 60)

    response = staff_client.get(
        reverse("inbox:poll"),
        {"since": "0"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/c/7/?q=x"},
    )

    assert not is_signed_in(staff_client)
    # htmx navigates the whole page to the login page, then back to where the user was.
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fc%2F7%2F%3Fq%3Dx"
    assert "Location" not in response


def test_htmx_requests_get_hx_redirect_instead_of_a_login_page(client):
    response = client.post("/c/1/reply/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/"
    assert response.content == b""


def test_hx_redirect_never_points_back_to_another_site(client):
    response = client.get(
        "/poll/",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/phish"},
    )

    assert response["HX-Redirect"] == "/accounts/login/"


def test_plain_requests_still_get_an_ordinary_redirect(client):
    response = client.get("/poll/")

    assert response.status_code == 302
    assert "HX-Redirect" not in response


def test_sessions_from_before_the_clocks_existed_start_them_now(staff_client):
    session = staff_client.session
    del session[LOGIN_AT], session[ACTIVE_AT]
    session.save()

    started = int(time.time())
    assert staff_client.get("/").status_code == 200
    signed_in, active = clocks(staff_client)
    assert signed_in == active >= started


def test_the_session_id_changes_at_sign_in(client, staff_user, password):
    session = client.session
    session["before"] = "anonymous"
    session.save()
    anonymous_key = session.session_key

    client.post(reverse("login"), {"username": "amina", "password": password})

    assert client.cookies["sessionid"].value != anonymous_key
    assert not Session.objects.filter(session_key=anonymous_key).exists()
    assert is_signed_in(client)


def test_signing_out_deletes_the_session(staff_client):
    key = staff_client.session.session_key

    staff_client.post(reverse("logout"))

    assert not Session.objects.filter(session_key=key).exists()


def test_deactivating_a_user_ends_all_their_sessions_at_once(staff_user, supervisor):
    laptop, phone, colleague = Client(), Client(), Client()
    laptop.force_login(staff_user)
    phone.force_login(staff_user)
    colleague.force_login(supervisor)

    staff_user.is_active = False
    staff_user.save()

    remaining = [session.get_decoded()["_auth_user_id"] for session in Session.objects.all()]
    assert remaining == [str(supervisor.pk)]
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert colleague.get("/").status_code == 200


def test_a_bulk_deactivation_is_refused_on_the_next_request(staff_client, staff_user):
    # QuerySet.update() sends no signal, so the session row survives; Django's ModelBackend
    # still refuses an inactive user.
    type(staff_user).objects.filter(pk=staff_user.pk).update(is_active=False)

    response = staff_client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not response.wsgi_request.user.is_authenticated


def test_saving_an_active_user_leaves_sessions_alone(staff_client, staff_user):
    staff_user.first_name = "Amina B."
    staff_user.save()

    assert staff_client.get("/").status_code == 200
