"""The settings pages in a real Chromium: a theme chosen on the preferences page wins over
the device's colour scheme, in both languages, and the labels page works with the keyboard
alone."""

import pytest
from playwright.sync_api import expect

from automation.models import Label
from tests.browser_support import SLOW
from tests.staff_support import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DARK_BG = "rgb(17, 22, 20)"  # --bg in the dark scheme (static/css/app.css)
LIGHT_BG = "rgb(245, 246, 244)"
# A note's paper in each scheme (static/css/teamwork.css, light-dark()): the other stylesheets
# follow the chosen theme too, not only app.css's variables.
NOTE_BG = {DARK_BG: "rgb(46, 40, 18)", LIGHT_BG: "rgb(255, 246, 204)"}


@pytest.fixture
def supervisor(django_user_model, password):
    user = django_user_model.objects.create_user("salma", password=password, is_staff=True)
    return grant(
        user,
        *("view_conversation", "reply_conversation", "view_label", "add_label"),
        *("change_label", "delete_label", "view_quickreply", "add_quickreply"),
    )


def sign_in(page, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("salma")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/", timeout=SLOW)


def background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def note_background(page):
    return page.evaluate(
        """() => {
            const note = document.body.appendChild(document.createElement("div"));
            note.className = "note-bubble";
            return getComputedStyle(note).backgroundColor;
        }"""
    )


@pytest.mark.parametrize(
    ("device", "theme", "expected"),
    [("light", "dark", DARK_BG), ("dark", "light", LIGHT_BG), ("dark", "system", DARK_BG)],
)
def test_the_chosen_theme_wins_over_the_device(
    page, page_errors, supervisor, password, device, theme, expected
):
    page.emulate_media(color_scheme=device)
    sign_in(page, password)
    page.goto("/settings/")
    page.locator(f"input[name='profile-theme'][value='{theme}']").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible(timeout=SLOW)

    page.goto("/")

    assert background(page) == expected
    assert note_background(page) == NOTE_BG[expected]
    assert page_errors == []


def test_in_arabic_the_settings_read_right_to_left_and_keep_the_theme(
    page, page_errors, supervisor, password
):
    page.emulate_media(color_scheme="light")
    sign_in(page, password)
    page.goto("/settings/")
    page.get_by_label("Language").select_option("ar")
    page.locator("input[name='profile-theme'][value='dark']").check()
    page.locator("form.form button[type=submit]").click()

    expect(page.locator("html")).to_have_attribute("dir", "rtl", timeout=SLOW)
    expect(page.get_by_role("heading", name="التفضيلات")).to_be_visible()
    assert background(page) == DARK_BG
    assert page_errors == []


def test_a_label_is_added_with_the_keyboard_alone(page, page_errors, supervisor, password):
    sign_in(page, password)
    page.goto("/settings/labels/")
    page.get_by_role("link", name="New label").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Name").fill("VIP")
    page.get_by_label("Name").press("Enter")

    expect(page.locator(".settings-table")).to_contain_text("VIP", timeout=SLOW)
    assert Label.objects.filter(name="VIP").exists()
    assert page_errors == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_on_a_phone_the_settings_fit_the_screen_and_still_link_the_admin(
    page, supervisor, password, language
):
    Label.objects.create(name="Billing", colour="blue", description="Invoices and refunds")
    sign_in(page, password)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/settings/")
    page.get_by_label("Language").select_option(language)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language, timeout=SLOW)

    widths = {}
    for path in ["/", "/settings/", "/settings/labels/"]:
        page.goto(path)
        widths[path] = page.evaluate("document.documentElement.scrollWidth")

    assert widths == dict.fromkeys(widths, 360)
    assert page.locator(".settings-nav a[href='/admin/']").is_visible()
    assert not page.locator(".topbar a[href='/admin/']").is_visible()  # no room beside the icons
