"""Roles (groups from a data migration) and per-number visibility."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from inbox.models import StaffProfile
from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import BusinessNumber, Conversation, InboxChange, Message

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


def test_the_three_roles_exist_with_their_permissions():
    permissions = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }

    assert {"view_conversation", "reply_conversation"} <= permissions["Agent"]
    assert "assign_conversation" not in permissions["Agent"]
    assert {"assign_conversation", "close_any_conversation", "change_messagetemplate"} <= (
        permissions["Supervisor"]
    )
    assert {"erase_contact", "export_contact", "view_auditevent"} <= permissions["Privacy officer"]
    assert "reply_conversation" not in permissions["Privacy officer"]


def test_an_agent_reads_and_replies_but_cannot_hand_conversations_to_others(
    client, django_user_model, two_numbers
):
    agent = member(django_user_model, "agent", "Agent")
    supervisor = member(django_user_model, "boss", "Supervisor")
    client.force_login(agent)
    sales, _ = two_numbers

    assert client.get(reverse("inbox:conversation", args=[sales.pk])).status_code == 200
    response = client.post(reverse("inbox:assign", args=[sales.pk]), {"assignee": supervisor.pk})
    assert response.status_code == 403


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
        (reverse("inbox:reply", args=[support.pk]), "post"),
        (reverse("inbox:assign", args=[support.pk]), "post"),
        (reverse("inbox:state", args=[support.pk]), "post"),
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
