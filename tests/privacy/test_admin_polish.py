"""How the admin shows deletion requests and its front page: a closed request is read-only,
dates are written one way per language, the retention table gets its stylesheet."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from privacy.models import DeletionRequest
from tests.erasure_support import ZAINAB_PHONE
from tests.staff_support import grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client, django_user_model):
    user = django_user_model.objects.create_user(username="officer", is_staff=True)
    client.force_login(
        grant(
            user,
            "view_deletionrequest",
            "add_deletionrequest",
            "change_deletionrequest",
            "erase_contact",
            "view_contact",
        )
    )
    return client


def change_url(request):
    return reverse("admin:privacy_deletionrequest_change", args=[request.pk])


@pytest.mark.parametrize("status", ["completed", "rejected"])
def test_a_closed_request_has_no_save_buttons_and_refuses_a_post(officer_client, status):
    request = DeletionRequest.objects.create(
        phone="",
        channel="email",
        status=status,
        completed_at=timezone.now(),
        rejection_reason="Not them" if status == "rejected" else "",
    )

    html = officer_client.get(change_url(request)).content.decode()
    response = officer_client.post(change_url(request), {"channel": "whatsapp", "_save": "1"})

    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    assert response.status_code == 403
    assert DeletionRequest.objects.get().channel == "email"


def test_an_open_request_can_still_be_saved(officer_client):
    request = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")

    html = officer_client.get(change_url(request)).content.decode()

    assert 'name="_save"' in html
    assert "erase-link" in html


def test_the_erase_button_has_the_danger_style(officer_client):
    request = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")

    html = officer_client.get(
        reverse("admin:privacy_deletionrequest_erase", args=[request.pk])
    ).content.decode()

    assert 'class="default erase-submit"' in html
    assert "privacy_admin" in html


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_list_writes_every_date_the_way_the_language_writes_a_date(
    officer_client, settings, language
):
    settings.TIME_ZONE = "UTC"
    days = settings.DELETION_REQUEST_DEADLINE_DAYS
    received = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.UTC)
    DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email", received_at=received)

    officer_client.post(reverse("inbox:language"), {"language": language, "next": "/admin/"})
    html = officer_client.get(reverse("admin:privacy_deletionrequest_changelist")).content.decode()

    with translation.override(language):
        moment = date_format(received, "DATETIME_FORMAT")
        deadline = date_format(received + timedelta(days=days), "DATE_FORMAT")
    assert moment in html
    assert deadline in html
    # Day before month in Arabic, as its dates without a time: not English's order.
    assert (moment.startswith("2 ") and "، 2026، 9:30" in moment) is (language == "ar")


def test_the_admin_front_page_loads_the_stylesheet_that_widens_its_tables(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert 'id="retention-settings"' in html
    assert "css/privacy_admin" in html
