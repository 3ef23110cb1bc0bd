"""Right of access: an admin action exports everything held about a contact as JSON."""

import json

import pytest

from automation.models import ConversationPriority, Note, WaitAlert
from messaging.models import BusinessNumber, Contact, Conversation, Message
from privacy.export import export_data
from privacy.models import AuditEvent, DeletionRequest
from tests.erasure_support import (
    OMAR_NAME,
    OMAR_NOTE,
    OMAR_PHONE,
    OMAR_TEXT,
    ZAINAB_BSUID,
    ZAINAB_NAME,
    ZAINAB_PHONE,
    ZAINAB_TEXTS,
)
from tests.number_scope_support import NUMBER_2_NEEDLES, SAMI_TEXT_1, SAMI_TEXT_2, found
from tests.staff_support import grant

pytestmark = pytest.mark.django_db

CONTACTS = "/admin/messaging/contact/"
REQUESTS = "/admin/privacy/deletionrequest/"


@pytest.fixture
def exporter(django_user_model):
    user = django_user_model.objects.create_user(username="exporter", password=None, is_staff=True)
    return grant(user, "view_contact", "view_deletionrequest", "export_contact")


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user(username="viewer", password=None, is_staff=True)
    return grant(user, "view_contact", "view_deletionrequest")


def zainab():
    return Contact.objects.get(wa_id=ZAINAB_PHONE)


def download(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert ZAINAB_PHONE not in response["Content-Disposition"]
    return json.loads(response.content)


def test_the_export_contains_every_message_of_the_contact(world, superuser):
    data = export_data([zainab()], viewer=superuser)

    exported = [m for c in data["conversations"] for m in c["messages"]]
    stored = Message.objects.filter(conversation__contact=zainab())
    assert sorted(m["wamid"] or "" for m in exported) == sorted(m.wamid or "" for m in stored)
    texts = {m["text"] for m in exported}
    assert set(ZAINAB_TEXTS) - {ZAINAB_TEXTS[0]} <= texts  # the first was edited away
    first = next(m for m in exported if m["wamid"] == "wamid.Z1")
    assert first["text"] == ZAINAB_TEXTS[2]
    assert first["edited_at"] is not None
    reply = next(m for m in exported if m["wamid"] == "wamid.OUTZ")
    assert reply["reactions"] == {"contact": "🙏"}
    assert [e["status"] for e in reply["status_events"]] == ["delivered"]
    assert all("upload" not in m["data"] for m in exported)  # a private storage path


def test_the_export_holds_the_contact_statuses_bodies_and_requests(world, superuser):
    DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")

    data = export_data([zainab()], viewer=superuser)

    assert data["contacts"][0]["wa_id"] == ZAINAB_PHONE
    assert data["contacts"][0]["user_id"] == ZAINAB_BSUID
    assert data["contacts"][0]["profile_name"] == ZAINAB_NAME
    assert {e["wamid"] for e in data["unlinked_status_events"]} == {"wamid.LOST", "wamid.Z1"}
    assert len(data["webhook_bodies"]) == 5
    bodies = json.dumps(data["webhook_bodies"], ensure_ascii=False, default=str)
    assert ZAINAB_TEXTS[0] in bodies  # decoded: no \\u escapes left to search through
    assert [r["phone"] for r in data["deletion_requests"]] == [ZAINAB_PHONE]


def test_the_export_holds_what_staff_and_automation_keep_about_her(world, superuser):
    (conversation,) = export_data([zainab()], viewer=superuser)["conversations"]

    assert conversation["assignee"] == "amina"
    assert conversation["priority"] == "High"
    assert [(label["name"], label["added_by"]) for label in conversation["labels"]] == [
        ("Passport", "amina")
    ]
    notes = conversation["notes"]
    assert [(n["kind"], n["author"]) for n in notes] == [("note", "amina"), ("system", None)]
    assert ZAINAB_NAME in notes[0]["text"]
    assert notes[1]["event"] == "assigned"
    assert notes[1]["text"] == "Routed to amina by rule “Passports”."
    assert [r["kind"] for r in conversation["automatic_replies"]] == ["greeting"]
    assert [r["message"] for r in conversation["automation_runs"]] == ["wamid.Z1"]
    assert [n["kind"] for n in conversation["staff_notifications"]] == ["assigned"]
    assert len(conversation["waiting_alerts"]) == 1


def test_the_export_takes_as_many_queries_however_many_conversations(
    world, staff_user, superuser, django_assert_max_num_queries
):
    other_number = BusinessNumber.objects.create(phone_number_id="222", display_phone_number="2")
    second = Conversation.objects.create(business_number=other_number, contact=zainab())
    Note.objects.create(conversation=second, author=staff_user, text="Second conversation")
    ConversationPriority.objects.create(conversation=second, level=-1)
    WaitAlert.objects.create(conversation=second, waiting_since=second.created_at)

    # Two of them narrow to what the viewer may see: contacts, and the numbers covered.
    with django_assert_max_num_queries(16):
        data = export_data([zainab()], viewer=superuser)

    assert [c["priority"] for c in data["conversations"]] == ["High", "Low"]


def test_the_export_holds_nobody_elses_data(world, superuser):
    data = json.dumps(export_data([zainab()], viewer=superuser), ensure_ascii=False, default=str)

    assert OMAR_PHONE not in data
    assert OMAR_NAME not in data
    assert OMAR_TEXT not in data
    assert OMAR_NOTE not in data


def test_the_contact_admin_action_downloads_the_export_and_logs_it(client, exporter, world):
    client.force_login(exporter)

    response = client.post(CONTACTS, {"action": "export_data", "_selected_action": [zainab().pk]})

    data = download(response)
    assert len([m for c in data["conversations"] for m in c["messages"]]) == 6
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == exporter
    assert event.object_id == str(zainab().pk)
    assert event.details["messages"] == 6
    assert ZAINAB_PHONE not in json.dumps(event.details)


def test_the_deletion_request_action_exports_the_requester(client, exporter, world):
    request = DeletionRequest.objects.create(user_id=ZAINAB_BSUID, channel="phone")
    client.force_login(exporter)

    response = client.post(REQUESTS, {"action": "export_data", "_selected_action": [request.pk]})

    data = download(response)
    assert [c["wa_id"] for c in data["contacts"]] == [ZAINAB_PHONE]
    assert AuditEvent.objects.filter(action="export", object_id=str(request.pk)).exists()


def test_staff_without_the_export_permission_cannot_export(client, viewer, world):
    request = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")
    client.force_login(viewer)

    assert 'value="export_data"' not in client.get(CONTACTS).content.decode()
    assert 'value="export_data"' not in client.get(REQUESTS).content.decode()
    for path, pk in ((CONTACTS, zainab().pk), (REQUESTS, request.pk)):
        response = client.post(path, {"action": "export_data", "_selected_action": [pk]})
        assert not response.get("Content-Disposition")
    assert not AuditEvent.objects.filter(action="export").exists()


def test_superusers_may_export(client, django_user_model, world):
    root = django_user_model.objects.create_superuser("root", "root@example.org", None)
    client.force_login(root)

    response = client.post(CONTACTS, {"action": "export_data", "_selected_action": [zainab().pk]})

    assert download(response)["contacts"][0]["profile_name"] == ZAINAB_NAME


# Number scope: an officer limited to some numbers exports what those numbers hold.


def everything_in(data):
    return json.dumps(data, ensure_ascii=False, default=str)


def texts_in(data):
    return {m["text"] for c in data["conversations"] for m in c["messages"]}


def test_an_export_by_a_limited_officer_holds_only_their_numbers_and_says_so(
    limited_officer, numbers
):
    data = export_data([numbers.sami], viewer=limited_officer)

    assert texts_in(data) == {SAMI_TEXT_1}
    assert [c["business_number"] for c in data["conversations"]] == ["15550000111"]
    assert data["scope"]["complete"] is False
    assert data["scope"]["business_numbers"] == ["15550000111"]
    assert "Partial" in data["scope"]["note"]
    assert data["webhook_bodies"] == []  # a batch may hold any number's messages
    assert found(NUMBER_2_NEEDLES, everything_in(data)) == []


def test_an_export_by_an_officer_with_every_number_is_complete(everywhere_officer, numbers):
    data = export_data([numbers.sami], viewer=everywhere_officer)

    assert texts_in(data) == {SAMI_TEXT_1, SAMI_TEXT_2}
    assert data["scope"] == {"complete": True, "business_numbers": ["15550000111", "15550000222"]}
    assert len(data["webhook_bodies"]) == 2


def test_a_limited_officer_exports_nothing_of_someone_of_another_number(limited_officer, numbers):
    data = export_data([numbers.layla], viewer=limited_officer)

    assert data["contacts"] == data["conversations"] == []
    assert found(NUMBER_2_NEEDLES, everything_in(data)) == []


@pytest.mark.parametrize("path", [CONTACTS, REQUESTS])
def test_the_admin_exports_of_a_limited_officer_hold_only_their_numbers(
    client, limited_officer, numbers, path
):
    request = DeletionRequest.objects.create(contact=numbers.sami, channel="phone")
    layla_request = DeletionRequest.objects.create(contact=numbers.layla, channel="phone")
    mine, theirs = {CONTACTS: (numbers.sami, numbers.layla), REQUESTS: (request, layla_request)}[
        path
    ]
    client.force_login(limited_officer)

    data = json.loads(
        client.post(path, {"action": "export_data", "_selected_action": [mine.pk]}).content
    )
    refused = client.post(path, {"action": "export_data", "_selected_action": [theirs.pk]})

    assert texts_in(data) == {SAMI_TEXT_1}
    assert found(NUMBER_2_NEEDLES, everything_in(data)) == []
    assert not refused.get("Content-Disposition")
    assert AuditEvent.objects.get(action="export").details["complete"] is False
