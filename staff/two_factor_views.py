"""The two-factor set-up page (/accounts/two-factor/): see staff.two_factor.

Without a confirmed device it shows a QR code and the key of a new, unconfirmed one, and asks
for a code from the app to confirm it (unconfirmed devices never count at sign-in). With one,
it offers to remove it, which needs a current code too.
"""

import base64

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from staff.two_factor import code_field, must_enrol, totp_devices, two_factor_exempt, verify

CONFIRM = "confirm"
REMOVE = "remove"


class CodeForm(forms.Form):
    otp_token = code_field()


@two_factor_exempt
@require_http_methods(["GET", "POST"])
def two_factor(request):
    user = request.user
    device = totp_devices(user).first()
    action = REMOVE if device else CONFIRM
    if request.method == "POST" and request.POST.get("action") != action:
        # Sent from a page that is out of date (e.g. set up meanwhile in another tab).
        return redirect("two_factor")
    form = CodeForm(request.POST or None)
    if device:
        if request.method == "POST" and form.is_valid():
            if verify(user, form.cleaned_data["otp_token"]):
                totp_devices(user, confirmed=None).delete()
                messages.success(request, _("Two-factor sign-in is off for your account."))
                return redirect("two_factor")
            form.add_error("otp_token", wrong_code_error())
        return render(
            request,
            "registration/two_factor.html",
            {"form": form, "device": device, "action": action},
        )

    pending = pending_device(user)
    if request.method == "POST" and form.is_valid():
        confirmed = verify(user, form.cleaned_data["otp_token"], totp_devices(user, False))
        if confirmed:
            with transaction.atomic():
                confirmed.confirmed = True
                confirmed.save(update_fields=["confirmed"])
                totp_devices(user, confirmed=False).delete()
            # This session has just proved the code: it counts as signed in with it.
            otp_login(request, confirmed)
            messages.success(
                request,
                _("Two-factor sign-in is on. From now on, sign in with a code from your app."),
            )
            return redirect(next_url(request) or "two_factor")
        form.add_error("otp_token", wrong_code_error())
    return render(
        request,
        "registration/two_factor.html",
        {
            "form": form,
            "action": action,
            "qr_code": qr_svg(pending.config_url),
            "secret": readable_secret(pending.bin_key),
            "required": must_enrol(user),
            "next": next_url(request),
        },
    )


def pending_device(user):
    """The user's unconfirmed device, made on first visit and kept until confirmed, so the QR
    code stays the same when the page is reloaded."""
    device = totp_devices(user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = totp_devices(user, confirmed=None).model.objects.create(
            user=user, name=_("Authenticator app"), confirmed=False
        )
    return device


def wrong_code_error():
    return _(
        "That code was not accepted. Type the code your app shows now; if it keeps failing, "
        "check that your phone's clock is set automatically, and wait a few seconds between "
        "attempts."
    )


def next_url(request):
    """Where to go once set up (a page on this site), or ""."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url.startswith(reverse("two_factor")) or not url_has_allowed_host_and_scheme(
        url, {request.get_host()}, request.is_secure()
    ):
        return ""
    return url


def readable_secret(key):
    """The key in base32, as authenticator apps take it for manual entry, in groups of four."""
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(data):
    """An inline SVG QR code of `data`: one <path>, presentation attributes only (no style
    attribute, no script), so it passes the Content Security Policy as it is."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=4,
    )
    svg = image.to_string(encoding="unicode")
    svg = svg.replace(' id="qr-path"', "")
    label = escape(_("QR code for your authenticator app"))
    # The image holds only data we made (the key and the username as QR modules, not text).
    return mark_safe(  # noqa: S308
        svg.replace("<svg ", f'<svg class="qr-code" role="img" aria-label="{label}" ', 1)
    )
