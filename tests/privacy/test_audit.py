"""The audit log (privacy.audit): who touched personal data and when, never what it said;
append-only, and read-only in the admin for whoever holds privacy.view_auditevent."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.media import queue_media_message
from messaging.message_templates.outbox import queue_template_message
from messaging.models import Conversation
from messaging.sending import queue_reaction, queue_text_reply
from privacy.audit import Action, record
from privacy.models import AuditEvent
from tests import media_files
from tests.staff_support import grant
from tests.template_helpers import HELLO_WORLD, deliver_text, make_template

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# The record function.


def test_record_stores_who_what_which_object_and_when(staff_user):
    conversation = deliver_text()

    event = record(Action.VIEW_CONVERSATION, actor=staff_user, obj=conversation, details={"a": 1})

    event.refresh_from_db()
    assert event.actor == staff_user
    assert event.actor_name == "amina"
    assert (event.action, event.object_type, event.object_id) == (
        "view",
        "messaging.conversation",
        str(conversation.pk),
    )
    assert event.details == {"a": 1}
    assert event.at is not None


def test_record_takes_a_type_and_id_pair_and_no_actor():
    event = record("retention", obj=("deletion request", 7))

    assert (event.object_type, event.object_id, event.actor, event.actor_name) == (
        "deletion request",
        "7",
        None,
        "",
    )


def test_record_refuses_unknown_actions():
    with pytest.raises(ValueError, match="unknown audit action"):
        record("peek")


# Hooks.


def test_opening_a_conversation_is_recorded_with_one_insert(staff_client, staff_user):
    conversation = deliver_text("Private words")

    with CaptureQueriesContext(connection) as queries:
        staff_client.get(reverse("inbox:conversation", args=[conversation.pk]))

    (event,) = events("view")
    assert event.actor == staff_user
    assert event.object_id == str(conversation.pk)
    audit_writes = [q["sql"] for q in queries if "privacy_auditevent" in q["sql"]]
    assert len(audit_writes) == 1
    assert audit_writes[0].startswith("INSERT")
    assert "Private words" not in str(event.details)


def test_every_kind_of_reply_is_recorded_without_its_content(staff_user):
    conversation = deliver_text("Hello there")
    inbound = conversation.messages.get()

    text = queue_text_reply(conversation, staff_user, "The secret answer")
    template = queue_template_message(
        conversation, staff_user, make_template("hello_world", HELLO_WORLD), {}
    )
    upload = SimpleUploadedFile("receipt.jpg", media_files.JPEG, content_type="image/jpeg")
    media = queue_media_message(conversation, staff_user, upload, caption="Your receipt")
    reaction = queue_reaction(conversation, staff_user, inbound, "👍")

    replies = events("reply")
    assert [(e.details["message"], e.details["type"]) for e in replies] == [
        (text.pk, "text"),
        (template.pk, "template"),
        (media.pk, "image"),
        (reaction.pk, "reaction"),
    ]
    assert all(e.actor == staff_user and e.object_id == str(conversation.pk) for e in replies)
    assert "secret" not in str([e.details for e in replies])
    assert "receipt" not in str([e.details for e in replies])


def test_a_double_submit_is_recorded_once(staff_user):
    conversation = deliver_text()
    token = "7d1d5d7e-1b1e-4c4e-9f0e-3f1f0f3c2a11"

    queue_text_reply(conversation, staff_user, "Once", client_token=token)
    queue_text_reply(conversation, staff_user, "Once", client_token=token)

    assert len(events("reply")) == 1


def test_the_reply_view_records_the_reply(staff_client, staff_user):
    conversation = deliver_text()

    staff_client.post(reverse("inbox:reply", args=[conversation.pk]), {"text": "On its way"})

    assert [e.actor for e in events("reply")] == [staff_user]


def test_sign_in_failed_sign_in_and_sign_out_are_recorded(client, staff_user, password):
    client.post(reverse("login"), {"username": "amina", "password": "not-the-password"})
    client.post(reverse("login"), {"username": "amina", "password": password})
    client.post(reverse("logout"))

    (failed,) = events("login_failed")
    assert failed.actor is None
    assert failed.actor_name == "amina"
    assert "not-the-password" not in str(AuditEvent.objects.values_list())
    assert [e.actor for e in events("login")] == [staff_user]
    assert [e.actor for e in events("logout")] == [staff_user]


def test_a_failed_sign_in_keeps_the_username_as_typed(client):
    client.post(reverse("login"), {"username": "nobody-here", "password": "whatever-it-is"})

    assert [e.actor_name for e in events("login_failed")] == ["nobody-here"]


# Admin.


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org"))
    return client


def test_superusers_read_the_log_in_the_admin(superuser_client, staff_user):
    event = record(Action.VIEW_CONVERSATION, actor=staff_user, obj=("messaging.conversation", 4))

    listing = superuser_client.get(reverse("admin:privacy_auditevent_changelist"))
    detail = superuser_client.get(reverse("admin:privacy_auditevent_change", args=[event.pk]))

    assert listing.status_code == 200
    assert "amina" in listing.content.decode()
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html
    assert "deletelink" not in html


def test_nobody_adds_changes_or_deletes_audit_events(superuser_client, staff_user):
    event = record(Action.LOGIN, actor=staff_user)

    add = superuser_client.get(reverse("admin:privacy_auditevent_add"))
    change = superuser_client.post(
        reverse("admin:privacy_auditevent_change", args=[event.pk]), {"actor_name": "someone"}
    )
    delete = superuser_client.post(
        reverse("admin:privacy_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    bulk = superuser_client.post(
        reverse("admin:privacy_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    # The list has no actions at all: a forged bulk delete just shows the list again.
    assert bulk.status_code == 200
    assert bulk.context["title"] == "Select audit event to view"
    assert 'name="action"' not in bulk.content.decode()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    event.refresh_from_db()
    assert event.actor_name == "amina"


@pytest.fixture
def officer(django_user_model):
    """A privacy officer as the role grants it: the audit log's view permission, no more."""
    officer = django_user_model.objects.create_user("officer", is_staff=True)
    return grant(officer, "view_auditevent", "view_deletionrequest")


def test_privacy_officers_read_the_log_but_cannot_change_it(client, officer, staff_user):
    event = record(Action.VIEW_CONVERSATION, actor=staff_user, obj=("messaging.conversation", 4))
    client.force_login(officer)

    index = client.get(reverse("admin:index")).content.decode()
    listing = client.get(reverse("admin:privacy_auditevent_changelist"))
    detail = client.get(reverse("admin:privacy_auditevent_change", args=[event.pk]))
    change = client.post(
        reverse("admin:privacy_auditevent_change", args=[event.pk]), {"actor_name": "someone"}
    )
    delete = client.post(
        reverse("admin:privacy_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert reverse("admin:privacy_auditevent_changelist") in index
    assert listing.status_code == 200
    assert "amina" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert (change.status_code, delete.status_code) == (403, 403)
    event.refresh_from_db()
    assert event.actor_name == "amina"


def test_staff_without_the_view_permission_do_not_see_the_log(client, django_user_model):
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="privacy").exclude(
            codename="view_auditevent"
        )
    )
    client.force_login(clerk)
    record(Action.LOGIN, actor=clerk)

    assert client.get(reverse("admin:privacy_auditevent_changelist")).status_code == 403
    assert "auditevent" not in client.get(reverse("admin:index")).content.decode()


def test_an_officer_limited_to_some_numbers_reads_only_the_entries_about_them(
    client, limited_officer, everywhere_officer, numbers
):
    sami_1, sami_2 = Conversation.objects.filter(contact=numbers.sami).order_by("business_number")
    ours = [
        record(Action.VIEW_CONVERSATION, actor=everywhere_officer, obj=sami_1),
        record(Action.EXPORT, actor=everywhere_officer, obj=numbers.nadia),
        record(Action.LOGIN, actor=everywhere_officer),
        record(Action.VIEW_CONVERSATION, actor=everywhere_officer, obj=("messaging.contact", None)),
    ]
    theirs = [
        record(Action.VIEW_CONVERSATION, actor=everywhere_officer, obj=sami_2),
        record(Action.EXPORT, actor=everywhere_officer, obj=numbers.layla),
        record(Action.VIEW_CONVERSATION, actor=everywhere_officer, obj=("messaging.contact", "99")),
    ]

    client.force_login(limited_officer)
    html = client.get("/admin/privacy/auditevent/").content.decode()

    assert all(f"/admin/privacy/auditevent/{event.pk}/change/" in html for event in ours)
    assert not any(f"/admin/privacy/auditevent/{event.pk}/change/" in html for event in theirs)
    hidden = client.get(f"/admin/privacy/auditevent/{theirs[0].pk}/change/")
    assert (hidden.status_code, hidden["Location"]) == (302, "/admin/")
    assert set(AuditEvent.objects.visible_to(everywhere_officer)) >= {*ours, *theirs}
