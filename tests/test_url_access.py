"""Every URL needs a signed-in staff user, except the few the product brief makes public."""

import pytest
from django.test import Client
from django.urls import get_resolver

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Message
from messaging.sending import queue_text_reply
from tests.url_walk import reaches_its_own_view, walk

pytestmark = pytest.mark.django_db

# Public by design (PRODUCT.md, "URLs"); the admin's own login page is public as well.
# /privacy/ joins them once it exists (another issue adds it): see public_paths().
PUBLIC_PATHS = {"/accounts/login/", "/healthz", "/admin/login/", "/webhooks/whatsapp/"}
# Open to any signed-in user, staff or not.
ANY_USER_PATHS = {"/accounts/logout/"}


@pytest.fixture
def non_staff_user(django_user_model):
    """Signed in with force_login only: no password, so no slow hashing per parametrized case."""
    return django_user_model.objects.create_user(username="visitor", password=None)


def concrete_paths():
    """Every URL pattern as a path, arguments included (ids 999999: pages that 404)."""
    return [route.path for route in walk()]


def public_paths():
    return PUBLIC_PATHS | ({"/privacy/"} & set(concrete_paths()))


def test_the_url_walk_finds_the_known_pages():
    paths = set(concrete_paths())

    assert {"/", "/healthz", "/accounts/login/", "/accounts/logout/", "/admin/"} <= paths
    # Patterns with arguments too, the admin's included.
    assert {"/c/999999/reply/", "/c/999999/m/999999/retry/", "/media/999999/"} <= paths
    assert "/admin/messaging/message/999999/change/" in paths


def test_the_url_walk_covers_every_pattern_once():
    def count(resolver):
        return sum(
            count(entry) if hasattr(entry, "url_patterns") else 1 for entry in resolver.url_patterns
        )

    routes = list(walk())

    assert len(routes) == count(get_resolver())
    assert len({route.path for route in routes}) == len(routes)
    assert all(reaches_its_own_view(route) for route in routes)


@pytest.fixture
def objects(staff_user):
    """A real conversation with an inbound message and a reply, for URLs that take ids."""
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
                    messages=[p.text_message("Hello?")],
                )
            )
        )
    )
    inbound = Message.objects.get()
    reply = queue_text_reply(inbound.conversation, staff_user, "Hi")
    return {"pk": inbound.conversation_id, "message_pk": reply.pk}


def is_login_redirect(response):
    return response.status_code == 302 and response["Location"].split("?next=")[0] in {
        "/accounts/login/",
        "/admin/login/",
    }


def test_the_public_allowlist_is_exactly_the_public_pages(client, objects):
    answered = {
        route.path
        for route in walk(objects, objects=True)
        if not is_login_redirect(client.get(route.path))
    }

    assert answered == public_paths()


def test_with_real_objects_anonymous_visitors_go_to_login_and_non_staff_get_403(
    client, objects, non_staff_user
):
    routes = [route for route in walk(objects, objects=True) if route.path not in public_paths()]
    assert any(route.path == f"/c/{objects['pk']}/reply/" for route in routes)

    for route in routes:
        assert is_login_redirect(client.get(route.path)), route
    client.force_login(non_staff_user)
    for route in routes:
        if route.path not in ANY_USER_PATHS:
            assert client.get(route.path).status_code == 403, route
            assert client.post(route.path).status_code == 403, route


def test_every_post_without_a_csrf_token_is_refused(staff_user, objects):
    staff_user.is_superuser = True
    staff_user.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    routes = list(walk(objects, objects=True))
    for route in routes:
        # The webhook's 403 is its signature check: Meta proves itself that way instead.
        assert client.post(route.path, {"text": "hello"}).status_code == 403, route

    # Views that opt out of the middleware's check: the webhook, and the attachment upload,
    # which checks the token itself once it knows the body is not too large to read.
    exempt = {route.name for route in routes if getattr(route.callback, "csrf_exempt", False)}
    assert exempt == {"whatsapp-webhook", "inbox:attach"}


@pytest.mark.parametrize("path", sorted(set(concrete_paths()) - public_paths()))
def test_anonymous_requests_are_sent_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302, path
    # The admin sends people to its own login page, which is fine: it is a login page too.
    assert response["Location"].split("?next=")[0] in {"/accounts/login/", "/admin/login/"}, path


@pytest.mark.parametrize("path", sorted(set(concrete_paths()) - public_paths() - ANY_USER_PATHS))
def test_non_staff_users_are_refused(client, non_staff_user, path):
    client.force_login(non_staff_user)

    assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("path", sorted(public_paths()))
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
