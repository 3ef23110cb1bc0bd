"""Two-factor sign-in in a real browser: set up an authenticator app from the QR code page,
then sign in with a code; no Content Security Policy violations, fits a phone."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code(device, steps_ahead=0):
    device.refresh_from_db()
    token = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{token:0{device.digits}d}"


def sign_in(page, password, otp_token=""):
    page.goto("/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    if otp_token:
        page.get_by_label("Authentication code").fill(otp_token)
    page.get_by_role("button", name="Sign in").click()


def test_staff_member_sets_up_two_factor_and_signs_in_with_a_code(
    page, page_errors, staff_user, password
):
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, password)
    page.get_by_role("heading", name="Conversations").wait_for()

    page.get_by_title("Two-factor sign-in").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    qr.wait_for()
    box = qr.bounding_box()
    assert box["width"] >= 150
    assert box["width"] == pytest.approx(box["height"], abs=1)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.get_by_text("Can't scan it?").click()
    assert page.locator(".two-factor-secret").is_visible()

    device = TOTPDevice.objects.get(user=staff_user)
    page.get_by_label("Authentication code").fill(code(device))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    page.get_by_text("Two-factor sign-in is on.", exact=True).wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    sign_in(page, password, code(device, steps_ahead=1))
    page.get_by_role("heading", name="Conversations").wait_for()

    assert page_errors == []
