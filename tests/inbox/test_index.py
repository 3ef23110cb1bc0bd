import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_staff_user_sees_the_inbox_with_their_name_and_a_sign_out_button(staff_client):
    response = staff_client.get(reverse("inbox:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "WABA Al Qalam" in html
    assert "Amina" in html
    assert f'action="{reverse("logout")}" method="post"' in html
    assert '<main id="main"' in html


def test_page_is_english_and_left_to_right_by_default(staff_client):
    html = staff_client.get("/").content.decode()

    assert '<html lang="en" dir="ltr">' in html


def test_page_follows_the_browser_language_into_arabic_right_to_left(staff_client):
    html = staff_client.get("/", headers={"Accept-Language": "ar"}).content.decode()

    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الخروج" in html


def test_staff_user_can_switch_language(staff_client):
    response = staff_client.post(reverse("inbox:language"), {"language": "ar", "next": "/"})

    assert response.status_code == 302
    assert '<html lang="ar" dir="rtl">' in staff_client.get("/").content.decode()


def test_the_language_choice_follows_the_person_to_another_device(
    staff_client, staff_user, password
):
    staff_client.post(reverse("inbox:language"), {"language": "ar", "next": "/"})
    other_device = Client()

    other_device.post(reverse("login"), {"username": "amina", "password": password})

    assert '<html lang="ar" dir="rtl">' in other_device.get("/").content.decode()


def test_an_unknown_language_or_foreign_next_url_is_refused(staff_client):
    assert staff_client.post(reverse("inbox:language"), {"language": "xx"}).status_code == 400
    response = staff_client.post(
        reverse("inbox:language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_htmx_is_served_from_our_own_static_files_with_the_nonce(staff_client):
    html = staff_client.get("/").content.decode()

    assert '<script src="/static/django_htmx/htmx-2.min.' in html
    assert "nonce=" in html.split("htmx-2.min.")[1].split(">")[0]
    assert '"X-CSRFToken": "' in html
