"""The role walk, for a privacy officer limited to number 1: every URL of the project (every
admin page, the erase and reject pages included), every action of their admin pages, their
search boxes and contact lookups, each given the ids of number 2's objects, GET and POST.
Nothing of number 2 comes back (no name, number or message text: NUMBER_2_NEEDLES), and a
number-2 object named by id does not exist for them. The same walk by an officer with every
number finds number 2's data, so the walk does look where it could be.
(tests/config/test_url_access.py checks each role's answers; tests/privacy/
test_deletion_admin.py and test_export.py what the policy lets a limited officer do.)"""

import re
from pprint import pformat
from urllib.parse import quote, quote_plus

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from messaging.models import Contact, Conversation, StatusEvent, WebhookEvent
from privacy import audit
from privacy.models import AuditEvent, DeletionRequest
from tests.number_scope_support import LAYLA, NUMBER_2_NEEDLES, found
from tests.url_walk import MISSING, walk

pytestmark = pytest.mark.django_db

# An admin page about one object: "admin/<app>/<model>/<path:object_id>/…".
OBJECT_PAGE = re.compile(r"^admin/(\w+)/(\w+)/<path:object_id>/(\w*)/?$")


@pytest.fixture
def number_2_ids(numbers, everywhere_officer):
    """{model label: the pk of one of number 2's objects}: Layla's contact, conversation,
    message, its status, the raw body she came in, her deletion request, and the audit
    entry of its export by an officer who sees every number."""
    conversation = Conversation.objects.get(contact=numbers.layla)
    message = conversation.messages.get()
    status = StatusEvent.objects.create(
        wamid=message.wamid, message=message, status="read", timestamp=message.timestamp
    )
    request = DeletionRequest.objects.create(
        contact=numbers.layla,
        phone=numbers.layla.wa_id,
        channel="email",
        notes=f"{LAYLA['name']} called about her flat on Olive Street",
    )
    exported = audit.record(AuditEvent.Action.EXPORT, actor=everywhere_officer, obj=request)
    return {
        "messaging.businessnumber": numbers.number_2.pk,
        "messaging.contact": numbers.layla.pk,
        "messaging.conversation": conversation.pk,
        "messaging.message": message.pk,
        "messaging.statusevent": status.pk,
        "messaging.webhookevent": WebhookEvent.objects.get(contacts=numbers.layla).pk,
        "privacy.deletionrequest": request.pk,
        "privacy.auditevent": exported.pk,
    }


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def paths(ids):
    """(route, path) for every URL pattern: admin pages about one object get the id of
    number 2's object of that model (else the first row, else a missing id); the inbox's
    conversation and message ids are number 2's too."""
    values = {"pk": ids["messaging.conversation"], "message_pk": ids["messaging.message"]}
    for route in walk(values):
        match = OBJECT_PAGE.match(route.route)
        if match:
            label = f"{match[1]}.{match[2]}"
            yield route, route.path.replace(f"/{MISSING}/", f"/{object_id(label, ids)}/", 1)
        elif route.name == "admin:view_on_site":
            contact_type = ContentType.objects.get_for_model(Contact).pk
            yield route, f"/admin/r/{contact_type}/{ids['messaging.contact']}/"
        else:
            yield route, route.path


def object_id(label, ids):
    if label in ids:
        return ids[label]
    first = apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True).first()
    return MISSING if first is None else first


def text_of(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def walk_as(user, ids, *, posting=True):
    """{path: the number-2 needles found in the answer to a GET or an empty POST}, and
    {path: status} where a number-2 object named by id was answered as if it existed."""
    client = client_for(user)
    leaks, shown = {}, {}
    for route, path in paths(ids):
        for method in (client.get, client.post) if posting else (client.get,):
            response = method(path)
            if leaked := found(NUMBER_2_NEEDLES, text_of(response)):
                leaks[f"{method.__name__.upper()} {path}"] = leaked
            match = OBJECT_PAGE.match(route.route)
            if match and match[3] and not hides(response):
                shown[f"{method.__name__.upper()} {path}"] = response.status_code
        if route.name in {"logout", "admin:logout"}:
            client.force_login(user)
    return leaks, shown


def hides(response):
    """Whether the answer is one an id nobody has would get: refused, not found, or the
    admin's "does not exist" (back to its index)."""
    if response.status_code in {403, 404}:
        return True
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_a_limited_officer_walks_every_url_with_number_2_ids_and_finds_nothing_of_it(
    limited_officer, number_2_ids
):
    leaks, shown = walk_as(limited_officer, number_2_ids)

    assert leaks == {}, pformat(leaks)
    assert shown == {}, pformat(shown)


def test_the_same_walk_by_an_officer_with_every_number_finds_number_2(
    everywhere_officer, number_2_ids
):
    # GET only: an empty POST to the erase page is a confirmation, which they may give.
    leaks, _shown = walk_as(everywhere_officer, number_2_ids, posting=False)

    request = number_2_ids["privacy.deletionrequest"]
    assert LAYLA["name"] in leaks[f"GET /admin/privacy/deletionrequest/{request}/change/"]
    assert LAYLA["name"] in leaks[f"GET /admin/privacy/deletionrequest/{request}/erase/"]
    assert (
        LAYLA["name"]
        in leaks[f"GET /admin/messaging/contact/{number_2_ids['messaging.contact']}/change/"]
    )


@pytest.mark.parametrize(
    ("changelist", "label", "action"),
    [
        ("/admin/privacy/deletionrequest/", "privacy.deletionrequest", "export_data"),
        ("/admin/privacy/deletionrequest/", "privacy.deletionrequest", "erase_data"),
        ("/admin/privacy/deletionrequest/", "privacy.deletionrequest", "reject"),
        ("/admin/messaging/contact/", "messaging.contact", "export_data"),
    ],
)
def test_a_limited_officers_actions_on_number_2_ids_do_nothing_and_say_nothing(
    limited_officer, number_2_ids, numbers, changelist, label, action
):
    client = client_for(limited_officer)

    response = client.post(
        changelist, {"action": action, "_selected_action": [number_2_ids[label]]}, follow=True
    )

    assert not response.get("Content-Disposition")
    assert response.redirect_chain[-1][0].startswith(changelist)  # back to their own list
    assert found(NUMBER_2_NEEDLES, text_of(response)) == []
    assert DeletionRequest.objects.get().status == DeletionRequest.Status.RECEIVED
    assert Contact.objects.filter(pk=numbers.layla.pk).exists()
    assert not AuditEvent.objects.filter(action__in=["erase", "reject"]).exists()
    assert AuditEvent.objects.filter(action="export").count() == 1  # the fixture's only


def without_echo(html, term):
    """The page without the search term itself (the search box and the links that keep it,
    the add link's within its own query string)."""
    for echo in (quote(quote_plus(term), safe=""), quote_plus(term), quote(term), term):
        html = html.replace(echo, "")
    return html


def test_a_limited_officer_finds_nobody_of_number_2_by_search_lookup_or_raw_id(
    limited_officer, number_2_ids
):
    client = client_for(limited_officer)
    answers = {}
    for term in (LAYLA["name"], LAYLA["wa_id"], "Twonumber"):
        for changelist in ("/admin/messaging/contact/", "/admin/privacy/deletionrequest/"):
            html = text_of(client.get(changelist, {"q": term}))
            answers[f"{changelist}?q={term}"] = without_echo(html, term)
        lookup = {"app_label": "privacy", "model_name": "deletionrequest", "field_name": "contact"}
        answers[f"autocomplete {term}"] = text_of(
            client.get("/admin/autocomplete/", lookup | {"term": term})
        )
    added = client.post(
        "/admin/privacy/deletionrequest/add/",
        {"contact": number_2_ids["messaging.contact"], "channel": "email", "status": "received",
         "received_at_0": "2026-01-01", "received_at_1": "10:00:00"},
    )  # fmt: skip
    answers["add with her contact id"] = text_of(added)

    leaks = {
        where: leaked
        for where, text in answers.items()
        if (leaked := found(NUMBER_2_NEEDLES, text))
    }
    assert leaks == {}, pformat(leaks)
    assert added.status_code == 200  # the form again, with its error
    assert DeletionRequest.objects.count() == 1  # the fixture's only
