"""The admin as a privacy officer meets it, in a real Chromium: signing in lands on the
deletion requests, the front page's retention table reads as a table (its headings were
squeezed to one character a line: a page 13,000 px tall), and Erase looks dangerous."""

import re

import pytest
from playwright.sync_api import expect

from privacy.models import DeletionRequest
from tests.browser_support import SLOW
from tests.staff_support import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DANGER = "rgb(186, 33, 33)"  # the admin's --delete-button-bg


@pytest.fixture
def officer(django_user_model, password):
    """The role's permissions, given one by one: a transactional test empties the database,
    the groups its migrations made included."""
    user = django_user_model.objects.create_user("hana", password=password, is_staff=True)
    return grant(
        user,
        *("view_contact", "view_deletionrequest", "add_deletionrequest"),
        *("change_deletionrequest", "erase_contact", "export_contact", "view_auditevent"),
    )


def sign_in(page, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("hana")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_privacy_officer_signs_in_to_the_deletion_requests(page, page_errors, officer, password):
    sign_in(page, password)

    expect(page).to_have_url(re.compile(r"/admin/privacy/deletionrequest/$"), timeout=SLOW)
    assert page_errors == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_retention_table_gives_its_headings_room(page, officer, password, language):
    page.set_viewport_size({"width": 1366, "height": 820})
    sign_in(page, password)
    page.wait_for_url("**/admin/privacy/deletionrequest/", timeout=SLOW)
    if language == "ar":
        page.goto("/settings/")
        page.get_by_label("Language").select_option("ar")
        page.locator("form.form button[type=submit]").click()
    page.goto("/admin/")

    heading = page.locator("#retention-settings th[scope=row]").first
    width = heading.bounding_box()["width"]
    height = page.evaluate("document.documentElement.scrollHeight")

    assert width >= 200
    assert height <= 3000


def test_erase_is_red_in_the_change_form_and_on_the_confirmation(page, officer, password):
    request = DeletionRequest.objects.create(phone="966501234567", channel="email")
    sign_in(page, password)
    page.wait_for_url("**/admin/privacy/deletionrequest/", timeout=SLOW)

    page.goto(f"/admin/privacy/deletionrequest/{request.pk}/change/")
    link = page.locator("a.erase-link")
    link_colour = link.evaluate("e => getComputedStyle(e).backgroundColor")
    link.click()
    button = page.locator("input.erase-submit")
    expect(button).to_be_visible(timeout=SLOW)

    assert link_colour == DANGER
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == DANGER
