"""Who reaches which URL. Every URL pattern of the project (the admin's included) is walked
with real objects behind its ids, as an anonymous visitor, a signed-in non-staff user, a member
of staff without permissions, and each role; the answers must be exactly the tables below."""

from pprint import pformat

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import Group
from django.http import HttpResponseForbidden
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    BusinessHours,
    Label,
    QuickReply,
    RoutingRule,
    StaffNotification,
    StaffPreferences,
)
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Message, MessageTemplate, StatusEvent
from messaging.sending import queue_text_reply
from privacy.models import DeletionRequest
from tests.url_walk import reaches_its_own_view, walk

pytestmark = pytest.mark.django_db

# The product brief's public URLs ("Every other URL requires a logged-in staff user"), and why.
PUBLIC_PATHS = {
    "/webhooks/whatsapp/": "Meta verifies the subscription and posts events: signed, not signed in",
    "/accounts/login/": "signing in",
    "/accounts/logout/": "signing out, also once the session has expired",
    "/privacy/": "the public privacy policy, linked from Meta's app settings",
    "/healthz": "the load balancer's health check",
    "/metrics": "Prometheus scrapes: its own network and token rule instead (test_metrics.py)",
    "/admin/login/": "the admin's own sign-in page (Django's), where /admin/ sends visitors",
}
# Not URL patterns, so not walked: WhiteNoise answers /static/…, /favicon.ico and /robots.txt
# before any view runs (tests below). There are no i18n URLs: choosing a language is a signed-in
# POST (inbox:language).


@pytest.fixture
def non_staff_user(django_user_model):
    """Signed in with force_login only: no password, so no slow hashing per parametrized case."""
    return django_user_model.objects.create_user(username="visitor", password=None)


def concrete_paths():
    """Every URL pattern as a path, arguments included (ids 999999: pages that 404)."""
    return [route.path for route in walk()]


def test_the_url_walk_finds_the_known_pages():
    paths = set(concrete_paths())

    assert {"/", "/healthz", "/accounts/login/", "/accounts/logout/", "/admin/"} <= paths
    assert set(PUBLIC_PATHS) <= paths
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
def objects(staff_user, django_capture_on_commit_callbacks):
    """One real row behind every URL that takes an id (admin pages pick the first row of their
    model): a conversation with an inbound message and a reply, and one of everything else."""
    with django_capture_on_commit_callbacks(execute=True):  # the tasks they queue: task rows
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
    conversation = inbound.conversation
    now = timezone.now()
    StatusEvent.objects.create(wamid="wamid.sent", message=reply, status="sent", timestamp=now)
    MessageTemplate.objects.create(waba_id="1", template_id="2", name="hello", language="en")
    receive(p.encode(p.envelope(p.change({"event": "ACCOUNT_VIOLATION"}, "account_update"))))
    DeletionRequest.objects.create(
        phone=p.USER_WA_ID, channel="email", contact=conversation.contact
    )
    label = Label.objects.create(name="Billing")
    QuickReply.objects.create(shortcut="hours", title="Opening hours")
    BusinessHours.objects.create(business_number=conversation.business_number)
    AutoReply.objects.create(kind="greeting", language="en", text="Welcome")
    RoutingRule.objects.create(name="Billing", action="label", label=label)
    StaffPreferences.objects.create(user=staff_user)
    StaffNotification.objects.create(user=staff_user, kind="assigned", conversation=conversation)
    AutomationRun.objects.create(message=inbound)
    AutoReplyClaim.objects.create(conversation=conversation, kind="greeting", message=inbound)
    attempt = {"username": "someone", "ip_address": "192.0.2.1", "user_agent": "x"}
    AccessAttempt.objects.create(**attempt, failures_since_start=1)
    AccessFailureLog.objects.create(**attempt)
    TOTPDevice.objects.create(user=staff_user, name="phone")
    return {
        "pk": conversation.pk,
        "message_pk": reply.pk,
        "label_pk": label.pk,
        "quick_reply_pk": QuickReply.objects.get().pk,
    }


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

    assert answered == set(PUBLIC_PATHS)


def test_with_real_objects_anonymous_visitors_go_to_login_and_non_staff_get_403(
    client, objects, non_staff_user
):
    routes = [route for route in walk(objects, objects=True) if route.path not in PUBLIC_PATHS]
    assert any(route.path == f"/c/{objects['pk']}/reply/" for route in routes)

    for route in routes:
        assert is_login_redirect(client.get(route.path)), route
    client.force_login(non_staff_user)
    for route in routes:
        assert client.get(route.path).status_code == 403, route
        assert client.post(route.path).status_code == 403, route


# Members of staff. GET answers that do not depend on permissions: every member of staff gets
# these, with or without a role.
EVERY_STAFF_MEMBER = {
    "login": 302,  # already signed in: on to the inbox
    "logout": 405,  # signing out is a POST
    "two_factor": 200,  # setting up one's own authenticator app
    "healthz": 200,
    "metrics": 404,  # off unless METRICS_ALLOWED_NETWORKS or METRICS_TOKEN is set
    "privacy": 200,
    "whatsapp-webhook": 403,  # the webhook's own answer to a GET without Meta's verify token
    "inbox:language": 405,  # a POST
    "inbox:notification_settings": 302,  # now part of one's preferences: there
    "inbox:preferences": 200,  # one's own language, theme and e-mails
    "admin:index": 200,  # lists what they may use (for some: nothing)
    "admin:login": 302,  # already signed in: on to the admin index
    "admin:logout": 405,  # a POST
    "admin:password_change": 200,  # one's own password
    "admin:password_change_done": 200,
    "admin:jsi18n": 200,  # the admin scripts' translations
    "admin:view_on_site": 404,  # /admin/r/999999/999999/: no such object
    "admin:autocomplete": 403,  # no model named: refused
    "admin:messaging_messagetemplate_sync": 405,  # a POST
    "admin:catch-all": 404,
    "admin:object": 302,  # /admin/<app>/<model>/<id>/: Django redirects to the change page
}
# Pages of the inbox, for those who may read conversations (Agent, Supervisor).
INBOX = {
    "inbox:index": 200,
    "inbox:conversation": 200,
    "inbox:older": 200,
    "inbox:find": 200,
    "inbox:template": 200,
    "inbox:poll": 400,  # a bad request (no `since`), once permission is checked
    "inbox:media": 404,  # the walked message is a text: no media, once permission is checked
    # Actions: POST only, so a GET that passes the permission check is 405.
    **dict.fromkeys(
        [
            "inbox:reply", "inbox:assign", "inbox:state", "inbox:read", "inbox:unread",
            "inbox:retry",
            "inbox:react", "inbox:template_preview", "inbox:template_send", "inbox:attach",
            "inbox:deletion_request", "inbox:label", "inbox:note",
        ],
        405,
    ),
}  # fmt: skip
VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
MANAGE = {VIEW, ADD, CHANGE, DELETE}
# The team's labels and quick replies, on the inbox's settings pages: for those whom the
# admin lets manage them (Supervisor), by the same rules.
SETTINGS = dict.fromkeys(
    [
        "inbox:labels", "inbox:label_add", "inbox:label_edit", "inbox:label_delete",
        "inbox:quick_replies", "inbox:quick_reply_add", "inbox:quick_reply_edit",
        "inbox:quick_reply_delete",
    ],
    200,
)  # fmt: skip
# Where the inbox's address sends staff who may not read conversations: a privacy officer
# to the deletion requests (signing in lands there), staff without permissions nowhere.
INDEX = {"Privacy officer": 302, "staff without permissions": 403}
# What each role may do with each admin model (anything not listed: nothing, a 403).
ADMIN = {
    "staff without permissions": {},
    "Agent": {
        "messaging.contact": {VIEW},
        "messaging.conversation": {VIEW},
    },
    "Supervisor": {
        "messaging.contact": {VIEW},
        "messaging.conversation": {VIEW},
        "messaging.businessnumber": {VIEW},
        "messaging.messagetemplate": {VIEW},  # read-only rows: Meta writes them; staff sync
        "messaging.accountevent": {VIEW},  # read-only rows: the account's standing
        "automation.label": MANAGE,
        "automation.quickreply": MANAGE,
        "automation.businesshours": MANAGE,
        "automation.autoreply": MANAGE,
        "automation.routingrule": MANAGE,
    },
    "Privacy officer": {
        "messaging.contact": {VIEW},  # finding the person a request is about
        "privacy.deletionrequest": {VIEW, ADD, CHANGE},  # never deleted: the record is kept
        "privacy.auditevent": {VIEW},
    },
}
# Admin pages of their own, beyond a model's list, add, change, history and delete pages.
ADMIN_EXTRAS = {
    "Privacy officer": {
        "admin:privacy_deletionrequest_erase": 200,  # the confirmation page
        "admin:privacy_deletionrequest_reject": 200,
    },
}
# /admin/messaging/, the app page: 404 for those who may see nothing of it.
APP_LIST = {"Agent": 200, "Supervisor": 200, "Privacy officer": 200}


def route_key(route):
    """The route's name, or what its pattern is for the admin's unnamed ones."""
    if route.name:
        return route.name
    if route.route == "admin/(?P<url>.*)$":
        return "admin:catch-all"
    if route.route.startswith("admin/") and route.route.endswith("<path:object_id>/"):
        return "admin:object"
    raise AssertionError(f"an unnamed route not in the tables: {route.route}")


ADMIN_PAGES = {"changelist": VIEW, "history": VIEW, "change": VIEW, "add": ADD, "delete": DELETE}


def expected_get(kind, route):
    key = route_key(route)
    if key in EVERY_STAFF_MEMBER:
        return EVERY_STAFF_MEMBER[key]
    if key == "admin:app_list":
        assert route.path == "/admin/messaging/"
        return APP_LIST.get(kind, 404)
    if key in SETTINGS:
        return SETTINGS[key] if kind == "Supervisor" else 403
    if key == "inbox:index" and kind in INDEX:
        return INDEX[kind]
    if key.startswith("inbox:"):
        return INBOX[key] if kind in {"Agent", "Supervisor"} else 403
    if key in ADMIN_EXTRAS.get(kind, {}):
        return ADMIN_EXTRAS[kind][key]
    if key.startswith("admin:"):
        app_model, _, page = key.removeprefix("admin:").rpartition("_")
        for label, allowed in ADMIN[kind].items():
            if app_model == label.replace(".", "_") and page in ADMIN_PAGES:
                return 200 if ADMIN_PAGES[page] in allowed else 403
        return 403
    raise AssertionError(f"no expectation for {key}")


def staff_member(django_user_model, kind):
    user = django_user_model.objects.create_user(kind, is_staff=True)
    if kind != "staff without permissions":
        user.groups.add(Group.objects.get(name=kind))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("kind", list(ADMIN))
def test_staff_reach_exactly_the_pages_of_their_role(objects, django_user_model, kind):
    client = staff_member(django_user_model, kind)

    wrong = {}
    for route in walk(objects, objects=True):
        answer, expected = client.get(route.path).status_code, expected_get(kind, route)
        if answer != expected:
            wrong[route.path] = f"{answer}, expected {expected}"

    assert not wrong, pformat(wrong)


# POST answers that do not depend on permissions (everything else: 403 for staff who may not
# read conversations, however the request looks).
EVERY_STAFF_MEMBER_POST = {
    "login": 302,  # already signed in: on to the inbox
    "logout": 302,  # signed out (the walk signs in again)
    "two_factor": 302,  # no action chosen: back to the page
    "healthz": 405,  # GET and HEAD only
    "metrics": 405,
    "privacy": 405,
    "whatsapp-webhook": 403,  # no signature
    "inbox:language": 400,  # no language chosen
    "inbox:poll": 405,  # GET only, refused before anything else
    "inbox:notification_settings": 302,  # to the preferences
    "inbox:preferences": 200,  # nothing sent, nothing saved: the form again
    "admin:index": 200,
    "admin:login": 200,  # the form again: signing in as someone else needs credentials
    "admin:logout": 302,  # signed out (the walk signs in again)
    "admin:password_change": 200,  # the form again, with what is missing
    "admin:password_change_done": 405,  # GET only
    "admin:jsi18n": 405,
    "admin:autocomplete": 405,
    "admin:view_on_site": 404,
    "admin:catch-all": 404,
    "admin:object": 302,
}


@pytest.mark.parametrize("kind", ["staff without permissions", "Privacy officer"])
def test_staff_who_may_not_read_conversations_cannot_post_to_them_or_the_admin(
    objects, django_user_model, kind
):
    client = staff_member(django_user_model, kind)
    user = django_user_model.objects.get(username=kind)
    extras = ADMIN_EXTRAS.get(kind, {})

    wrong = {}
    for route in walk(objects, objects=True):
        key = route_key(route)
        if key in extras or any(
            key.startswith(f"admin:{m.replace('.', '_')}_") for m in ADMIN[kind]
        ):
            # Their own admin pages: forms that work (tests/privacy/test_deletion_admin.py).
            continue
        if key == "admin:app_list":
            expected = APP_LIST.get(kind, 404)
        else:
            expected = EVERY_STAFF_MEMBER_POST.get(key, 403)
        answer = client.post(route.path).status_code
        if answer != expected:
            wrong[route.path] = f"{answer}, expected {expected}"
        if key in {"logout", "admin:logout"}:
            client.force_login(user)

    assert not wrong, pformat(wrong)


# CSRF: the check itself, told apart from every other 403 by a failure view of our own.


def csrf_failure(request, reason=""):
    response = HttpResponseForbidden()
    response["X-CSRF-Failure"] = reason
    return response


@pytest.fixture
def superuser_client(django_user_model, settings):
    settings.CSRF_FAILURE_VIEW = "tests.config.test_url_access.csrf_failure"
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("root", password=None))
    return client


def test_every_post_without_a_csrf_token_fails_the_csrf_check(superuser_client, objects):
    routes = list(walk(objects, objects=True))
    refused = {}
    for route in routes:
        response = superuser_client.post(route.path, {"text": "hello"})
        refused[route.name] = response.status_code == 403 and "X-CSRF-Failure" in response

    # The webhook alone has no CSRF check: Meta proves itself by signing (a 403 of its own).
    assert {name for name, csrf in refused.items() if not csrf} == {"whatsapp-webhook"}
    assert superuser_client.post("/webhooks/whatsapp/").status_code == 403
    # Views that opt out of the middleware's check: the webhook, and the attachment upload,
    # which checks the token itself once it knows the body is not too large to read.
    exempt = {route.name for route in routes if getattr(route.callback, "csrf_exempt", False)}
    assert exempt == {"whatsapp-webhook", "inbox:attach"}


def test_the_same_post_with_a_token_passes_the_csrf_check(superuser_client, objects):
    token = "A" * 32
    superuser_client.cookies["csrftoken"] = token
    path = f"/c/{objects['pk']}/reply/"

    response = superuser_client.post(path, {"text": "hello"}, headers={"X-CSRFToken": token})

    assert response.status_code == 302
    assert "X-CSRF-Failure" not in response


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_public_pages_answer_anonymous_visitors_themselves(client, settings, path):
    settings.METRICS_TOKEN = "a-token-so-that-metrics-exist"  # off (404) without one
    response = client.get(path)

    # The webhook answers a bare GET with 403 (no verify token), /metrics too (no token), and
    # signing out with 405 (a POST): their own answers, not a login.
    assert response.status_code in {200, 403, 405}
    assert "Location" not in response


def test_robots_are_told_to_stay_out(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert b"Disallow: /" in b"".join(response.streaming_content)


def test_the_favicon_is_served_without_a_login(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
