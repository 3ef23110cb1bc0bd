"""Crafted input never makes a server error. Every inbox view, every automation admin page and
the public privacy page is walked (tests/url_walk.py) with oversized, negative, non-numeric
and non-ASCII values in each query parameter and form field it reads, and in each id of its
path, by a member of staff who may use all of them: each answer is a page, a redirect, a
refusal (400, 403, 404, 405, 422) or a form error, never a 500."""

import re

import pytest
from django.test import Client
from django.utils.http import urlencode

from automation.models import QuickReply, StaffPreferences
from tests.scope_support import member
from tests.staff_support import grant
from tests.template_helpers import make_template
from tests.url_walk import walk

pytestmark = pytest.mark.django_db

CRAFTED = [
    "9" * 26,  # past a 64-bit integer
    "9" * 5000,  # past Python's limit for converting text to an integer
    "-1",
    "-" + "9" * 26,
    "0",
    "abc",
    "1.5",
    "١٢",  # Arabic-Indic digits: Python's int() reads them
    "é🙂",
    "\u202e12",  # right-to-left override
    "1\x00",  # PostgreSQL refuses NUL in text
    "x" * 5000,
]

# The list's filters: every page of a conversation reads them to link back to the list.
FILTERS = ["assigned", "state", "number", "q", "label", "after"]
TEMPLATE = ["template", "param-body-1", "param-header-1", "language"]
# What each inbox view reads: (query parameters, form fields). Every inbox URL must be here.
INBOX = {
    "inbox:index": (FILTERS, []),
    "inbox:poll": (["since", "gaps", "open", "visible", "read", *FILTERS], []),
    "inbox:language": ([], ["language", "next"]),
    "inbox:conversation": (["reply_to", *FILTERS], []),
    "inbox:older": (["before", *FILTERS], []),
    "inbox:find": (["q"], []),
    "inbox:reply": (FILTERS, ["text", "client_token", "reply_to"]),
    "inbox:assign": (FILTERS, ["assignee"]),
    "inbox:state": (FILTERS, ["state"]),
    "inbox:unread": (FILTERS, []),
    "inbox:retry": (FILTERS, []),
    "inbox:react": (FILTERS, ["emoji"]),
    "inbox:template": (["template", "language", "cancel", *FILTERS], []),
    "inbox:template_preview": (FILTERS, TEMPLATE),
    "inbox:template_send": (FILTERS, [*TEMPLATE, "client_token"]),
    "inbox:attach": (FILTERS, ["client_token", "reply_to", "caption"]),
    "inbox:deletion_request": (FILTERS, []),
    "inbox:media": ([], []),
    "inbox:label": (FILTERS, ["label", "action"]),
    "inbox:note": (FILTERS, ["text"]),
    "inbox:notification_settings": ([], []),
    "inbox:preferences": (
        [],
        [
            "profile-language", "profile-theme", "notify-notify_assigned",
            "notify-notify_mentioned", "notify-notify_waiting", "notify-available",
        ],
    ),
    **dict.fromkeys(["inbox:labels", "inbox:quick_replies"], ([], [])),
    **dict.fromkeys(
        ["inbox:label_add", "inbox:label_edit", "inbox:label_delete"],
        ([], ["name", "colour", "description"]),
    ),
    **dict.fromkeys(
        ["inbox:quick_reply_add", "inbox:quick_reply_edit", "inbox:quick_reply_delete"],
        ([], ["shortcut", "title", "is_active", "text_en", "text_ar"]),
    ),
}  # fmt: skip
PRIVACY_PAGE = {"privacy": (["lang"], [])}
AUTOMATION_ADMIN = re.compile(r"^admin:automation_\w+_(changelist|add|change|delete|history)$")
# The admin's own query parameters on a list (search, order, page, popup, errors).
ADMIN_LIST = ["q", "o", "p", "e", "_changelist_filters"]
FINE = {200, 204, 301, 302, 400, 403, 404, 405, 422}


@pytest.fixture
def staff(django_user_model, numbers):
    """A supervisor of every number, who may also read automation's own records."""
    user = member(django_user_model, "boss", "Supervisor")
    return grant(
        user,
        *("view_staffnotification", "view_automationrun", "view_autoreplyclaim"),
        *("view_staffpreferences", "add_staffpreferences", "change_staffpreferences"),
    )


@pytest.fixture
def ids(numbers, staff):
    """The path arguments of the walk (a real conversation and its reply) and a row of every
    automation model, for the admin's pages to open."""
    make_template("hello", [{"type": "BODY", "text": "Hello {{1}}"}])
    quick_reply = QuickReply.objects.create(shortcut="hours", title="Hours")
    quick_reply.texts.create(language="en", text="We open at nine.")
    StaffPreferences.objects.create(user=staff)
    reply = numbers.ours.conversation.messages.get(direction="out")
    return {
        "pk": numbers.ours.conversation.pk,
        "message_pk": reply.pk,
        "label_pk": numbers.ours.label.pk,
        "quick_reply_pk": quick_reply.pk,
    }


def routes(ids):
    for route in walk(ids, objects=True):
        if route.name in INBOX or route.name in PRIVACY_PAGE:
            yield route, *({**INBOX, **PRIVACY_PAGE}[route.name])
        elif route.name and AUTOMATION_ADMIN.match(route.name):
            yield route, None, None


def test_the_walk_knows_what_every_inbox_view_reads(ids):
    walked = {route.name for route, *_ in routes(ids)}

    assert {name for name in walked if name.startswith("inbox:")} == set(INBOX)
    assert "admin:automation_routingrule_add" in walked


def admin_reads(client, route):
    """What an admin page reads: on a list, the query parameters of its links (filters,
    dates, sorting) and the admin's own; on an add or change page, the fields of its form
    (inline forms included) and the values the page gives its inline forms' counts."""
    page = route.name.rpartition("_")[2]
    if page not in {"changelist", "add", "change"}:
        return [], [], {}  # a delete page's one field confirms: any value deletes, as it should
    response = client.get(route.path)
    if response.status_code == 403:  # records automation writes: nobody adds them
        return [], [], {}
    assert response.status_code == 200, route.path
    html = response.content.decode()
    if page == "changelist":
        links = re.findall(r'href="\?([^"]*)"', html)
        names = {name for query in links for name in re.findall(r"(?:^|;)([^=&;]+)=", query)}
        return sorted(names | set(ADMIN_LIST)), [], {}
    fields = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', html))
    counts = dict(
        re.findall(
            r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]* value="(\d+)"', html
        )
    )
    return ["_changelist_filters"], sorted(fields - {"csrfmiddlewaretoken"} - set(counts)), counts


def crafted_paths(route):
    """The route's path with each id argument replaced by an out-of-range number."""
    for name, value in route.kwargs:
        if name in {"pk", "message_pk", "object_id", "label_pk", "quick_reply_pk"}:
            for crafted in ["9" * 26, "9" * 5000]:
                yield route.path.replace(f"/{value}/", f"/{crafted}/", 1)


def crafted_requests(client, route, params, fields):
    """(method, path, data, htmx) of each crafted request to the route: each value in each
    query parameter and form field of an inbox view, with and without htmx (views answer
    each differently). An admin form cleans every field whatever the others hold, so each
    value goes into all its fields at once, and then into its inline forms' counts."""
    for path in crafted_paths(route):
        yield "get", path, {}, False
        yield "post", path, {}, False
    inbox = params is not None
    if not inbox:
        params, fields, counts = admin_reads(client, route)
    for value in CRAFTED:
        for name in params:
            yield "get", route.path, {name: value}, False
            if inbox:
                yield "get", route.path, {name: value}, True
        if inbox:
            for name in fields:
                yield "post", route.path, {name: value}, False
                yield "post", route.path, {name: value}, True
            if params:
                yield "post", f"{route.path}?{urlencode({params[0]: value})}", {}, False
        elif fields:
            yield "post", route.path, dict.fromkeys(fields, value) | counts, False
            if counts:
                yield "post", route.path, dict.fromkeys(counts, value), False


def test_crafted_values_in_every_parameter_and_field_never_make_a_server_error(staff, ids):
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    errors = {}

    for route, params, fields in list(routes(ids)):
        for method, path, data, htmx in crafted_requests(client, route, params, fields):
            headers = {"HX-Request": "true"} if htmx else {}
            response = getattr(client, method)(path, data, headers=headers)
            if response.status_code not in FINE:
                crafted = {name: f"{value:.30}" for name, value in data.items()}
                errors.setdefault(f"{method.upper()} {path:.90} {crafted}", response.status_code)

    assert not errors, "\n".join(f"{key}: {status}" for key, status in errors.items())
