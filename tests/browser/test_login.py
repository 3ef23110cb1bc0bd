"""The whole stack in a real browser: sign in through the form, see the inbox, sign out."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, password):
    page.goto("/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_staff_user_signs_in_sees_the_inbox_and_signs_out(page, page_errors, staff_user, password):
    page.goto("/")
    assert page.url.endswith("/accounts/login/?next=/")

    sign_in(page, password)

    page.get_by_role("heading", name="Conversations").wait_for()
    assert page.locator(".topbar .user").inner_text() == "Amina"

    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("button", name="Sign in").wait_for()
    assert "/accounts/login/" in page.url
    assert page_errors == []


def test_wrong_password_keeps_the_user_on_the_login_page(page, staff_user):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").inner_text().startswith("Please enter a correct username")


@pytest.mark.parametrize("path", ["/accounts/login/", "/"])
def test_pages_fit_a_360_pixel_wide_phone(page, page_errors, staff_user, password, path):
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, password)
    page.get_by_role("heading", name="Conversations").wait_for()
    if path == "/accounts/login/":
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign in").wait_for()

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    assert page_errors == []


def test_arabic_interface_is_right_to_left(page, staff_user, password):
    sign_in(page, password)
    page.get_by_role("button", name="العربية").click()

    page.wait_for_selector("html[dir=rtl]")
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.get_by_role("button", name="تسجيل الخروج").is_visible()
