"""Headers every page carries, and the absence of inline code the CSP would have to allow."""

import re
import runpy
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "config" / "settings.py"


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {parts[0]: parts[1:] for parts in (d.split() for d in policy.split(";")) if parts}


def test_pages_carry_a_nonce_based_content_security_policy(client):
    response = client.get(reverse("login"))

    directives = csp_directives(response)
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"][-1]).group(1)
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert f'nonce="{nonce}"'.encode() in response.content


def test_each_response_gets_a_fresh_nonce(client):
    first = csp_directives(client.get(reverse("login")))["script-src"]
    second = csp_directives(client.get(reverse("login")))["script-src"]

    assert first != second


def test_basic_security_headers_are_set(client):
    response = client.get(reverse("login"))

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def production_transport(settings, monkeypatch):
    """The HTTPS settings exactly as production computes them (tests run with HTTPS_ONLY off)."""
    monkeypatch.setenv("HTTPS_ONLY", "on")
    monkeypatch.setenv("ENV_FILE", "")
    production = runpy.run_path(str(SETTINGS_FILE))
    for name in (
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ):
        setattr(settings, name, production[name])


def test_production_sends_hsts_for_at_least_a_year(client, production_transport):
    response = client.get(reverse("login"), secure=True)

    max_age = int(re.search(r"max-age=(\d+)", response["Strict-Transport-Security"]).group(1))
    assert max_age >= 365 * 24 * 3600
    assert "includeSubDomains" in response["Strict-Transport-Security"]


def test_production_redirects_plain_http_to_https(client, production_transport):
    response = client.get(reverse("login"))

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_production_trusts_the_proxys_forwarded_proto(client, production_transport):
    response = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200


def test_production_cookies_are_secure_and_http_only(
    client, staff_user, password, production_transport
):
    client.get(reverse("login"), secure=True)
    response = client.post(
        reverse("login"), {"username": "amina", "password": password}, secure=True
    )

    for name in ("sessionid", "csrftoken"):
        cookie = response.cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name


INLINE_CODE = [
    # Inline script; a JSON data block (Django's json_script) is never executed, so CSP
    # leaves it alone.
    re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I),
    re.compile(r"<style\b", re.I),  # inline stylesheet
    re.compile(r"\sstyle\s*=", re.I),  # style attribute
    re.compile(r"\son[a-z]+\s*=", re.I),  # event handler attribute
    re.compile(r"javascript:", re.I),
]


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/admin/"])
def test_pages_have_no_inline_scripts_or_styles(staff_client, staff_user, path):
    staff_user.is_superuser = True
    staff_user.save()

    html = staff_client.get(path).content.decode()

    for pattern in INLINE_CODE:
        assert not pattern.search(html), (path, pattern.pattern, pattern.search(html))


def test_no_project_template_contains_inline_code():
    base = Path(__file__).resolve().parents[2]
    templates = [*base.glob("templates/**/*.html"), *base.glob("*/templates/**/*.html")]

    assert templates
    for template in templates:
        text = template.read_text()
        for pattern in INLINE_CODE:
            assert not pattern.search(text), (template, pattern.pattern)


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/messaging/message/"])
def test_signed_in_pages_carry_the_nonce_policy_too(staff_client, staff_user, path):
    staff_user.is_superuser = True
    staff_user.save()

    response = staff_client.get(path)

    assert response.status_code == 200
    directives = csp_directives(response)
    assert any(source.startswith("'nonce-") for source in directives["script-src"])
    assert any(source.startswith("'nonce-") for source in directives["style-src"])
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_pages_for_signed_in_users_are_never_stored(staff_client):
    response = staff_client.get("/")

    assert response["Cache-Control"] == "no-store"


def test_a_page_that_sets_its_own_cache_control_keeps_it(staff_client):
    # /healthz is never_cache: Django's own, stricter header, left as it is.
    response = staff_client.get("/healthz")

    assert "no-store" in response["Cache-Control"]
    assert "must-revalidate" in response["Cache-Control"]


def test_anonymous_responses_are_left_to_their_views(client):
    response = client.get("/robots.txt")

    assert "no-store" not in response.get("Cache-Control", "")


def inbound_photo():
    """A customer's photo that Meta (the locmem transport) still holds: the media proxy
    answers 200 for it."""
    from messaging import payloads as p
    from messaging.backends import locmem
    from messaging.ingest import receive
    from messaging.models import Message
    from tests import media_files as f

    media_id = p.new_media_id()
    item = p.media_message("image", media_id, mime_type="image/png")
    receive(
        p.encode(p.envelope(p.value(contacts=[p.contact(wa_id=p.USER_WA_ID)], messages=[item])))
    )
    locmem.media[media_id] = {"content": f.png(), "mime_type": "image/png", "filename": ""}
    return Message.objects.get(wamid=item["id"])


def test_every_page_a_signed_in_user_gets_says_how_to_cache_it(staff_client, staff_user):
    from messaging.backends import locmem
    from tests.url_walk import walk

    staff_user.is_superuser = True
    staff_user.save()
    photo = inbound_photo()
    answered = set()
    try:
        for route in walk({"pk": photo.conversation_id, "message_pk": photo.pk}):
            if route.path == "/webhooks/whatsapp/":
                continue  # Meta's, not a page; answers 403 to a GET without the verify token
            response = staff_client.get(route.path)
            assert response.has_header("Cache-Control"), route
            if response.status_code == 200:
                answered.add(route.name)
                assert "no-store" in response["Cache-Control"], route
    finally:
        locmem.reset()
    # Customers' media are personal data like the pages that show them.
    assert {"inbox:media", "inbox:conversation"} <= answered


def test_the_session_cookie_lasts_no_longer_than_the_longest_session(
    client, staff_user, password, settings
):
    response = client.post(reverse("login"), {"username": "amina", "password": password})

    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_MAX_HOURS * 60 * 60
    assert response.cookies["sessionid"]["samesite"] == "Lax"
