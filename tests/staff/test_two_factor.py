"""Two-factor sign-in (django-otp, authenticator apps): setting it up, signing in with it,
removing it, and REQUIRE_2FA_FOR_SUPERUSERS. Codes are computed from the device's key with
django_otp.oath.totp, as an authenticator app would."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TWO_FACTOR = "/accounts/two-factor/"
ADDRESS = "198.51.100.7"


def code(device, steps_ahead=0):
    """The code the authenticator app shows now (or `steps_ahead` 30-second steps later)."""
    device.refresh_from_db()
    token = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps_ahead)
    return f"{token:0{device.digits}d}"


def wrong_code(device):
    right = code(device)
    return next(
        candidate
        for candidate in ("000000", "111111", "222222")
        if candidate not in {right, code(device, -1), code(device, 1)}
    )


def sign_in(client, username, password, otp_token=None, **data):
    form = {"username": username, "password": password, **data}
    if otp_token is not None:
        form["otp_token"] = otp_token
    return client.post(LOGIN, form, REMOTE_ADDR=ADDRESS)


def signed_in(client):
    return "_auth_user_id" in client.session


def verified(client):
    return DEVICE_ID_SESSION_KEY in client.session


@pytest.fixture
def device(staff_user):
    """amina has set up an authenticator app."""
    return TOTPDevice.objects.create(user=staff_user, name="Phone", confirmed=True)


@pytest.fixture
def superuser_device(superuser):
    return TOTPDevice.objects.create(user=superuser, name="Phone", confirmed=True)


@pytest.fixture
def required(settings):
    settings.REQUIRE_2FA_FOR_SUPERUSERS = True


# Setting it up.


def test_staff_member_sets_up_an_authenticator_app_and_confirms_it_with_a_code(
    staff_client, staff_user
):
    page = staff_client.get(TWO_FACTOR)

    assert page.status_code == 200
    html = page.content.decode()
    pending = TOTPDevice.objects.get(user=staff_user)
    assert not pending.confirmed
    assert '<svg class="qr-code"' in html
    # The key for manual entry, in base32 groups of four.
    secret = re.search(r'class="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1)
    assert secret.replace(" ", "") in pending.config_url

    response = staff_client.post(TWO_FACTOR, {"action": "confirm", "otp_token": code(pending)})

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.confirmed
    # The session that proved the code counts as signed in with it.
    assert staff_client.session[DEVICE_ID_SESSION_KEY] == pending.persistent_id
    follow = staff_client.get(TWO_FACTOR)
    assert b"Two-factor sign-in is on" in follow.content
    assert b'<svg class="qr-code"' not in follow.content  # the key is never shown again


def test_the_qr_code_is_inline_svg_that_the_content_security_policy_allows(staff_client):
    response = staff_client.get(TWO_FACTOR)

    svg = re.search(r'<svg class="qr-code".*?</svg>', response.content.decode(), re.S).group(0)
    assert "style" not in svg
    assert "<script" not in svg
    assert 'role="img"' in svg
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"


def test_reloading_the_set_up_page_keeps_the_same_key(staff_client, staff_user):
    first = staff_client.get(TWO_FACTOR).content
    second = staff_client.get(TWO_FACTOR).content

    assert TOTPDevice.objects.filter(user=staff_user).count() == 1
    assert re.search(rb'<svg class="qr-code".*?</svg>', first, re.S).group(0) in second


def test_a_wrong_code_does_not_confirm_the_device(staff_client, staff_user):
    staff_client.get(TWO_FACTOR)
    pending = TOTPDevice.objects.get(user=staff_user)

    response = staff_client.post(
        TWO_FACTOR, {"action": "confirm", "otp_token": wrong_code(pending)}
    )

    assert response.status_code == 200
    assert b"That code was not accepted" in response.content
    pending.refresh_from_db()
    assert not pending.confirmed
    assert not verified(staff_client)


def test_an_unconfirmed_device_does_not_count_at_sign_in(client, staff_user, password):
    TOTPDevice.objects.create(user=staff_user, name="Phone", confirmed=False)

    response = sign_in(client, "amina", password)

    assert response.status_code == 302
    assert signed_in(client)


def test_after_setting_up_the_next_sign_in_needs_a_code(client, staff_user, password):
    assert sign_in(client, "amina", password).status_code == 302
    client.get(TWO_FACTOR)
    pending = TOTPDevice.objects.get(user=staff_user)
    client.post(TWO_FACTOR, {"action": "confirm", "otp_token": code(pending)})
    client.post(reverse("logout"))

    refused = sign_in(client, "amina", password)
    assert refused.status_code == 200
    assert not signed_in(client)

    # The code used to confirm is spent; the app's next one works.
    accepted = sign_in(client, "amina", password, code(pending, steps_ahead=1))
    assert accepted.status_code == 302
    assert verified(client)


def test_the_set_up_page_returns_to_the_page_asked_for(staff_client, staff_user):
    staff_client.get(TWO_FACTOR)
    pending = TOTPDevice.objects.get(user=staff_user)

    response = staff_client.post(
        TWO_FACTOR, {"action": "confirm", "otp_token": code(pending), "next": "/settings/x/"}
    )
    assert response["Location"] == "/settings/x/"


def test_the_set_up_page_never_returns_to_another_site(staff_client, staff_user):
    staff_client.get(TWO_FACTOR)
    pending = TOTPDevice.objects.get(user=staff_user)

    response = staff_client.post(
        TWO_FACTOR,
        {"action": "confirm", "otp_token": code(pending), "next": "https://evil.example/"},
    )
    assert response["Location"] == TWO_FACTOR


# Signing in.


def test_the_login_form_has_an_authentication_code_field(client):
    html = client.get(LOGIN).content.decode()

    field = re.search(r'<input[^>]*name="otp_token"[^>]*>', html).group(0)
    assert 'inputmode="numeric"' in field
    assert 'autocomplete="one-time-code"' in field
    assert "Authentication code" in html


def test_without_a_device_the_password_alone_signs_in(client, staff_user, password):
    response = sign_in(client, "amina", password)

    assert response.status_code == 302
    assert signed_in(client)
    assert not verified(client)


def test_with_a_device_a_missing_code_is_refused_like_a_wrong_password(client, device, password):
    response = sign_in(client, "amina", password)

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert not signed_in(client)


def test_with_a_device_a_wrong_code_is_refused_like_a_wrong_password(client, device, password):
    response = sign_in(client, "amina", password, wrong_code(device))

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert not signed_in(client)


def test_with_a_device_the_right_code_signs_in_and_verifies_the_session(client, device, password):
    response = sign_in(client, "amina", password, code(device))

    assert response.status_code == 302
    assert signed_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.get("/").wsgi_request.user.is_verified()


def test_a_code_typed_with_a_space_is_accepted(client, device, password):
    token = code(device)

    assert sign_in(client, "amina", password, f"{token[:3]} {token[3:]}").status_code == 302


def test_a_code_is_accepted_only_once(client, device, password):
    token = code(device)
    assert sign_in(client, "amina", password, token).status_code == 302
    client.post(reverse("logout"))

    assert sign_in(client, "amina", password, token).status_code == 200
    assert not signed_in(client)


def test_after_a_wrong_code_the_device_makes_the_next_attempt_wait(
    client, device, password, settings
):
    # The default wait after one failure is 1 s, less than a loaded machine can take
    # between two requests.
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    sign_in(client, "amina", password, wrong_code(device))

    # django-otp's throttling: the right code straight after a wrong one is refused too.
    assert sign_in(client, "amina", password, code(device)).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_a_wrong_code_and_a_wrong_password_get_the_same_error(client, device, password):
    wrong_password = sign_in(client, "amina", "not-the-password", code(device))
    wrong_token = sign_in(client, "amina", password, wrong_code(device))

    def errors(response):
        return re.search(rb'class="form-error".*?</div>', response.content, re.S).group(0)

    assert errors(wrong_password) == errors(wrong_token)


def test_wrong_codes_count_as_failed_sign_ins_and_lock_out(client, device, password, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)

    for _ in range(2):
        assert sign_in(client, "amina", password, wrong_code(device)).status_code == 200
    response = sign_in(client, "amina", password, wrong_code(device))

    assert response.status_code == 429
    assert AccessAttempt.objects.get(username="amina").failures_since_start == 3


def test_the_code_is_not_recorded_with_a_failed_sign_in(client, device, password):
    token = wrong_code(device)
    sign_in(client, "amina", password, token)

    attempt = AccessAttempt.objects.get()
    assert token not in attempt.post_data


def test_the_admin_login_needs_the_code_too(client, superuser, superuser_device, password):
    admin_login = reverse("admin:login")
    page = client.get(admin_login)
    assert b'name="otp_token"' in page.content

    refused = client.post(admin_login, {"username": "root", "password": password})
    assert refused.status_code == 200
    assert not signed_in(client)

    accepted = client.post(
        admin_login,
        {"username": "root", "password": password, "otp_token": code(superuser_device)},
    )
    assert accepted.status_code == 302
    assert verified(client)


# Removing it.


def test_removing_the_device_needs_a_current_code(client, device, password):
    sign_in(client, "amina", password, code(device))

    response = client.post(TWO_FACTOR, {"action": "remove", "otp_token": wrong_code(device)})

    assert response.status_code == 200
    assert b"That code was not accepted" in response.content
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_removing_the_device_with_a_current_code(client, device, password):
    sign_in(client, "amina", password, code(device))

    response = client.post(
        TWO_FACTOR, {"action": "remove", "otp_token": code(device, steps_ahead=1)}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=device.user).exists()
    client.post(reverse("logout"))
    assert sign_in(client, "amina", password).status_code == 302


def test_a_form_from_an_out_of_date_page_does_nothing(client, device, password):
    """A 'confirm' form from another tab, sent after the device was set up, removes nothing."""
    sign_in(client, "amina", password, code(device))

    response = client.post(
        TWO_FACTOR, {"action": "confirm", "otp_token": code(device, steps_ahead=1)}
    )

    assert response.status_code == 302
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()


def test_a_superuser_deletes_a_lost_device_in_the_admin(admin_client, device):
    listing = admin_client.get(reverse("admin:otp_totp_totpdevice_changelist"))
    assert listing.status_code == 200
    assert b"amina" in listing.content
    change = admin_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert device.key.encode() not in change.content  # the key is never shown
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403

    response = admin_client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_staff_without_admin_rights_cannot_see_devices_in_the_admin(staff_client, device):
    response = staff_client.get(reverse("admin:otp_totp_totpdevice_changelist"))

    assert response.status_code == 403
    assert device.name.encode() not in response.content


# Access to the page itself.


def test_the_set_up_page_needs_a_signed_in_staff_member(client, non_staff_user):
    response = client.get(TWO_FACTOR)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={TWO_FACTOR}"

    client.force_login(non_staff_user)
    assert client.get(TWO_FACTOR).status_code == 403
    assert client.post(TWO_FACTOR).status_code == 403
    assert not TOTPDevice.objects.exists()


# REQUIRE_2FA_FOR_SUPERUSERS.


def test_when_required_a_superuser_without_a_device_is_confined_to_setting_one_up(
    client, superuser, password, required, conversation
):
    response = sign_in(client, "root", password)
    assert response.status_code == 302
    assert signed_in(client)

    for path in ["/", f"/c/{conversation.pk}/", "/admin/", "/admin/auth/user/", "/poll/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"{TWO_FACTOR}?next="), path
    refused = client.post(f"/c/{conversation.pk}/reply/", {"text": "hello"})
    assert refused.status_code == 302
    assert refused["Location"].startswith(TWO_FACTOR)

    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert b"Your account must use two-factor sign-in" in page.content


def test_when_required_an_htmx_request_is_sent_to_the_set_up_page(client, superuser, required):
    client.force_login(superuser)

    response = client.get("/poll/?since=0", headers={"HX-Request": "true"})

    assert response.headers["HX-Redirect"].startswith(TWO_FACTOR)


def test_when_required_a_confined_superuser_can_still_sign_out_and_switch_language(
    client, superuser, required
):
    client.force_login(superuser)

    language = client.post(reverse("inbox:language"), {"language": "ar", "next": TWO_FACTOR})
    assert language["Location"] == TWO_FACTOR
    logout = client.post(reverse("logout"))
    assert logout["Location"] == reverse("login")
    assert not signed_in(client)


def test_when_required_setting_up_a_device_frees_the_superuser(
    client, superuser, password, required
):
    sign_in(client, "root", password)
    sent_to = client.get("/admin/")["Location"]
    client.get(sent_to)
    pending = TOTPDevice.objects.get(user=superuser)

    response = client.post(sent_to, {"action": "confirm", "otp_token": code(pending)})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/").status_code == 200


def test_when_required_a_superuser_with_a_device_must_sign_in_with_its_code(
    client, superuser, superuser_device, password, required
):
    assert sign_in(client, "root", password).status_code == 200
    assert not signed_in(client)

    assert sign_in(client, "root", password, code(superuser_device)).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_when_required_an_unverified_session_of_a_superuser_with_a_device_is_signed_out(
    client, superuser, superuser_device, required
):
    client.force_login(superuser)  # e.g. signed in before the device was set up elsewhere

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/admin/"
    assert not signed_in(client)
    page = client.get(response["Location"])
    assert b"Sign in again with a code from your authenticator app" in page.content


def test_when_required_a_superuser_who_removes_the_device_is_confined_again(
    client, superuser, superuser_device, password, required
):
    sign_in(client, "root", password, code(superuser_device))
    client.post(
        TWO_FACTOR, {"action": "remove", "otp_token": code(superuser_device, steps_ahead=1)}
    )

    response = client.get("/")

    assert response["Location"].startswith(TWO_FACTOR)


def test_when_required_other_staff_are_not_affected(staff_client, required):
    assert staff_client.get("/").status_code == 200


def test_when_not_required_a_superuser_without_a_device_uses_every_page(admin_client):
    assert admin_client.get("/").status_code == 200
    assert admin_client.get("/admin/").status_code == 200
    page = admin_client.get(TWO_FACTOR)
    assert b"Optional" in page.content
