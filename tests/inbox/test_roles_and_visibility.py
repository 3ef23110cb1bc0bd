"""Roles (groups from a data migration) and per-number visibility."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from automation.models import ConversationLabel, Label, Note, QuickReply
from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, InboxChange, Message
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db


def member(django_user_model, username, role):
    user = django_user_model.objects.create_user(username, password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def deliver(text, *, sender, name, phone_number_id, display):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id=phone_number_id,
                    display_phone_number=display,
                    contacts=[p.contact(wa_id=sender, name=name)],
                    messages=[p.text_message(text, sender=sender)],
                )
            )
        )
    )
    return Conversation.objects.get(contact__wa_id=sender)


@pytest.fixture
def two_numbers():
    sales = deliver("sales question", sender="966500000001", name="Sales Customer",
                    phone_number_id="111", display="15550000111")  # fmt: skip
    support = deliver("support question", sender="966500000002", name="Support Customer",
                      phone_number_id="222", display="15550000222")  # fmt: skip
    return sales, support


def test_an_agent_replies_writes_notes_labels_and_takes_conversations_but_not_for_others(
    client, django_user_model, two_numbers
):
    agent = member(django_user_model, "agent", "Agent")
    supervisor = member(django_user_model, "boss", "Supervisor")
    billing = Label.objects.create(name="Billing")
    client.force_login(agent)
    sales, _ = two_numbers

    assert client.get(reverse("inbox:conversation", args=[sales.pk])).status_code == 200
    client.post(reverse("inbox:reply", args=[sales.pk]), {"text": "How can I help?"})
    client.post(reverse("inbox:note", args=[sales.pk]), {"text": "Asked about prices"})
    client.post(reverse("inbox:label", args=[sales.pk]), {"label": billing.pk, "action": "add"})
    client.post(reverse("inbox:assign", args=[sales.pk]), {"assignee": "me"})
    to_boss = client.post(reverse("inbox:assign", args=[sales.pk]), {"assignee": supervisor.pk})

    assert sales.messages.filter(direction="out", text="How can I help?").exists()
    assert Note.objects.filter(conversation=sales, author=agent).exists()
    assert ConversationLabel.objects.filter(conversation=sales, label=billing).exists()
    assert to_boss.status_code == 403
    sales.refresh_from_db()
    assert sales.assignee == agent


# The automation a supervisor manages in the admin (automation/admin.py).
AUTOMATION_SETTINGS = ["label", "quickreply", "businesshours", "autoreply", "routingrule"]


def test_an_agent_does_not_configure_automation(client, django_user_model):
    client.force_login(member(django_user_model, "agent", "Agent"))

    for model in AUTOMATION_SETTINGS:
        assert client.get(f"/admin/automation/{model}/").status_code == 403, model


def test_a_supervisor_manages_automation_in_the_admin(client, django_user_model):
    client.force_login(member(django_user_model, "boss", "Supervisor"))

    for model in AUTOMATION_SETTINGS:
        assert client.get(f"/admin/automation/{model}/").status_code == 200, model
        assert client.get(f"/admin/automation/{model}/add/").status_code == 200, model
    response = client.post(
        "/admin/automation/quickreply/add/",
        {
            "shortcut": "hours",
            "title": "Opening hours",
            "is_active": "on",
            "texts-TOTAL_FORMS": "1",
            "texts-INITIAL_FORMS": "0",
            "texts-0-language": "en",
            "texts-0-text": "We are open 9 to 5.",
        },
    )
    created = QuickReply.objects.get(shortcut="hours")
    edited = client.post(
        f"/admin/automation/quickreply/{created.pk}/change/",
        {
            "shortcut": "hours",
            "title": "Our hours",
            "texts-TOTAL_FORMS": "1",
            "texts-INITIAL_FORMS": "1",
            "texts-0-id": created.texts.get().pk,
            "texts-0-quick_reply": created.pk,
            "texts-0-language": "en",
            "texts-0-text": "We are open 9 to 6.",
        },
    )
    unused = Label.objects.create(name="Unused")
    deleted = client.post(f"/admin/automation/label/{unused.pk}/delete/", {"post": "yes"})

    assert response.status_code == edited.status_code == deleted.status_code == 302
    assert created.texts.get().text == "We are open 9 to 6."
    assert not Label.objects.exists()


def test_a_supervisor_hands_conversations_to_colleagues_and_closes_theirs(
    client, django_user_model, two_numbers
):
    agent = member(django_user_model, "agent", "Agent")
    client.force_login(member(django_user_model, "boss", "Supervisor"))
    sales, _ = two_numbers

    client.post(reverse("inbox:assign", args=[sales.pk]), {"assignee": agent.pk})
    client.post(reverse("inbox:state", args=[sales.pk]), {"state": "closed"})

    sales.refresh_from_db()
    assert (sales.assignee, sales.state) == (agent, "closed")


def test_a_privacy_officer_handles_requests_and_reads_the_audit_log_but_not_the_inbox(
    client, django_user_model, two_numbers
):
    client.force_login(member(django_user_model, "officer", "Privacy officer"))
    sales, _ = two_numbers

    assert client.get("/admin/privacy/deletionrequest/").status_code == 200
    assert client.get("/admin/privacy/deletionrequest/add/").status_code == 200
    assert client.get("/admin/messaging/contact/").status_code == 200  # finding the person
    # The inbox's address (where signing in lands) sends them to their requests instead.
    assert client.get("/")["Location"] == "/admin/privacy/deletionrequest/"
    assert client.get(reverse("inbox:conversation", args=[sales.pk])).status_code == 403
    assert client.get("/admin/messaging/conversation/").status_code == 403
    assert client.get(f"/admin/messaging/conversation/{sales.pk}/change/").status_code == 403
    assert client.get("/admin/privacy/auditevent/").status_code == 200


def test_a_privacy_officer_cannot_reply(client, django_user_model, two_numbers):
    officer = member(django_user_model, "officer", "Privacy officer")
    client.force_login(officer)
    sales, _ = two_numbers

    response = client.post(reverse("inbox:reply", args=[sales.pk]), {"text": "hi"})

    assert response.status_code == 403
    assert not Message.objects.filter(direction="out").exists()


def test_staff_without_the_view_permission_cannot_open_the_inbox(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("x", is_staff=True))

    assert client.get("/").status_code == 403


@pytest.fixture
def sales_only(client, django_user_model, two_numbers):
    """An agent who may see only the sales number."""
    agent = member(django_user_model, "sales-agent", "Agent")
    profile, _ = StaffProfile.objects.get_or_create(user=agent)
    profile.numbers.add(BusinessNumber.objects.get(phone_number_id="111"))
    client.force_login(agent)
    return client


def test_other_numbers_conversations_are_missing_from_the_list_and_search(sales_only):
    page = sales_only.get("/").content.decode()
    search = sales_only.get("/", {"q": "question"}).content.decode()

    assert "Sales Customer" in page
    assert "Support Customer" not in page
    assert "Support Customer" not in search
    assert 'id="number"' not in page  # one visible number: no number filter


def test_other_numbers_conversations_are_404_for_every_action(sales_only, two_numbers):
    _, support = two_numbers
    message = support.messages.get()

    for url, method in [
        (reverse("inbox:conversation", args=[support.pk]), "get"),
        (reverse("inbox:older", args=[support.pk]), "get"),
        (reverse("inbox:find", args=[support.pk]), "get"),
        (reverse("inbox:reply", args=[support.pk]), "post"),
        (reverse("inbox:assign", args=[support.pk]), "post"),
        (reverse("inbox:state", args=[support.pk]), "post"),
        (reverse("inbox:read", args=[support.pk]), "post"),
        (reverse("inbox:unread", args=[support.pk]), "post"),
        (reverse("inbox:react", args=[support.pk, message.pk]), "post"),
    ]:
        assert getattr(sales_only, method)(url).status_code == 404, url


def test_other_numbers_media_is_404(sales_only):
    locmem.media["998877"] = {
        "content": b"\xff\xd8\xff",
        "mime_type": "image/jpeg",
        "filename": "x",
    }
    receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id="222",
                    contacts=[p.contact(wa_id="966500000002")],
                    messages=[p.media_message("image", "998877", sender="966500000002")],
                )
            )
        )
    )
    image = Message.objects.get(type="image")

    assert sales_only.get(reverse("inbox:media", args=[image.pk])).status_code == 404
    locmem.reset()


def test_polls_do_not_reveal_other_numbers(sales_only, two_numbers):
    _, support = two_numbers
    cursor = InboxChange.objects.latest("pk").pk
    deliver("new support message", sender="966500000002", name="Support Customer",
            phone_number_id="222", display="15550000222")  # fmt: skip

    html = sales_only.get(
        reverse("inbox:poll"), {"since": cursor, "open": support.pk}
    ).content.decode()

    assert "new support message" not in html
    assert "Support Customer" not in html


def test_a_poll_answers_nothing_new_when_only_another_number_changed(sales_only, two_numbers):
    cursor = InboxChange.objects.latest("pk").pk
    deliver("new support message", sender="966500000002", name="Support Customer",
            phone_number_id="222", display="15550000222")  # fmt: skip

    response = sales_only.get(reverse("inbox:poll"), {"since": cursor})

    assert response.status_code == 204


def test_a_poll_reports_its_own_numbers_changes_and_nothing_of_another(sales_only, two_numbers):
    sales, support = two_numbers
    cursor = InboxChange.objects.latest("pk").pk
    deliver("new support message", sender="966500000002", name="Support Customer",
            phone_number_id="222", display="15550000222")  # fmt: skip
    deliver("new sales message", sender="966500000001", name="Sales Customer",
            phone_number_id="111", display="15550000111")  # fmt: skip

    html = sales_only.get(reverse("inbox:poll"), {"since": cursor}).content.decode()

    assert f'id="row-{sales.pk}"' in html
    assert f'id="row-{support.pk}"' not in html
    assert "new support message" not in html


def role_permissions():
    return {
        group.name: {
            f"{app_label}.{codename}"
            for app_label, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        for group in Group.objects.all()
    }


def test_the_role_migration_repairs_groups_from_before_it_keeps_local_changes_and_can_rerun():
    roles = importlib.import_module("inbox.migrations.0004_role_permissions")
    earlier = importlib.import_module("inbox.migrations.0003_roles").ROLES
    state = MigrationLoader(connection).project_state(("inbox", "0004_role_permissions")).apps
    # The groups as 0003 left them, plus a permission an administrator granted since.
    for name, granted in earlier.items():
        Group.objects.get(name=name).permissions.set(
            [permission.pk for permission in roles.permissions(state, granted)]
        )
    Group.objects.get(name="Agent").permissions.add(
        Permission.objects.get(codename="view_messagetemplate")
    )

    roles.update_roles(state, None)
    repaired = role_permissions()
    roles.update_roles(state, None)

    assert role_permissions() == repaired
    assert repaired["Agent"] == {*roles.AGENT, "messaging.view_messagetemplate"}
    assert repaired["Supervisor"] == set(roles.SUPERVISOR)
    assert repaired["Privacy officer"] == set(roles.PRIVACY_OFFICER)
    assert "messaging.view_conversation" not in repaired["Privacy officer"]

    roles.restore_roles(state, None)
    assert role_permissions()["Agent"] == {*earlier["Agent"], "messaging.view_messagetemplate"}
    assert role_permissions()["Privacy officer"] == set(earlier["Privacy officer"])
