"""Every URL needs a signed-in staff user, except the few the product brief makes public."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Public by design (PRODUCT.md, "URLs"); the admin's own login page is public as well.
PUBLIC_PATHS = {"/accounts/login/", "/healthz", "/admin/login/", "/webhooks/whatsapp/"}
# Open to any signed-in user, staff or not.
ANY_USER_PATHS = {"/accounts/logout/"}


def concrete_paths(resolver=None, prefix=""):
    """Every path in the URLconf that takes no arguments, e.g. "/", "/healthz", "/admin/"."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = str(entry.pattern)
        if "<" in route or "(" in route:
            continue
        route = route.lstrip("^").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from concrete_paths(entry, prefix + route)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + route


def test_the_url_walk_finds_the_known_pages():
    paths = set(concrete_paths())

    assert {"/", "/healthz", "/accounts/login/", "/accounts/logout/", "/admin/"} <= paths


@pytest.mark.parametrize("path", sorted(set(concrete_paths()) - PUBLIC_PATHS))
def test_anonymous_requests_are_sent_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302, path
    # The admin sends people to its own login page, which is fine: it is a login page too.
    assert response["Location"].split("?next=")[0] in {"/accounts/login/", "/admin/login/"}, path


@pytest.mark.parametrize("path", sorted(set(concrete_paths()) - PUBLIC_PATHS - ANY_USER_PATHS))
def test_non_staff_users_are_refused(client, non_staff_user, path):
    client.force_login(non_staff_user)

    assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_public_pages_answer_anonymous_visitors_themselves(client, path):
    response = client.get(path)

    # The webhook answers a bare GET with 403 (no verify token): its own answer, not a login.
    assert response.status_code in {200, 403}
    assert "Location" not in response


def test_robots_are_told_to_stay_out(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert b"Disallow: /" in b"".join(response.streaming_content)


def test_the_favicon_is_served_without_a_login(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
