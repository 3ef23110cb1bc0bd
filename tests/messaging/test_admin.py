import pytest
from django.contrib.auth.models import Group
from django.test import Client

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import AccountEvent, Conversation, Message, StatusEvent, WebhookEvent
from privacy.models import AuditEvent
from staff.models import StaffProfile
from tests.account_health_support import NOW, ban, quality
from tests.staff_support import grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered():
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
            messages=[p.text_message("confidential text", wamid="wamid.1")],
        )
    )
    return receive(p.encode(body))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/messaging/webhookevent/",
        "/admin/messaging/message/",
        "/admin/messaging/statusevent/",
        "/admin/messaging/contact/",
        "/admin/messaging/conversation/",
        "/admin/messaging/businessnumber/",
    ],
)
def test_lists_render_and_never_show_message_bodies(admin_client, delivered, path):
    response = admin_client.get(path)

    assert response.status_code == 200
    assert b"confidential text" not in response.content


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/messaging/message/", {"timestamp__year": "9" * 26}),
        ("/admin/messaging/webhookevent/", {"received_at__month": "-" + "9" * 26}),
        ("/admin/messaging/contact/", {"created_at__day": "9" * 5000}),
        ("/admin/messaging/message/", {"status__exact": "read\x00"}),
        ("/admin/messaging/conversation/", {"state__exact": "open\x00"}),
        ("/admin/messaging/messagetemplate/", {"status__exact": "\x00"}),
    ],
    ids=str,
)
def test_it_refuses_a_list_filter_it_cannot_apply_as_an_invalid_filter(
    admin_client, delivered, path, query
):
    response = admin_client.get(path, query)

    assert response.status_code == 302
    assert response["Location"] == f"{path}?e=1"


def test_webhook_events_are_read_only(admin_client, delivered):
    response = admin_client.get(f"/admin/messaging/webhookevent/{delivered.pk}/change/")

    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert admin_client.get("/admin/messaging/webhookevent/add/").status_code == 403


def test_the_reapply_action_reapplies_selected_events(admin_client, delivered):
    Message.objects.all().delete()
    WebhookEvent.objects.update(state=WebhookEvent.State.FAILED)

    response = admin_client.post(
        "/admin/messaging/webhookevent/",
        {"action": "reapply", "_selected_action": [delivered.pk]},
        follow=True,
    )

    assert b"Re-applied 1 event (0 still failing)." in response.content
    assert Message.objects.count() == 1
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


# Number scope: an agent limited to some numbers sees no more in the admin than in the inbox.


def deliver(text, *, sender, name, phone_number_id):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id=phone_number_id,
                    display_phone_number=f"1555000{phone_number_id}",
                    contacts=[p.contact(wa_id=sender, name=name)],
                    messages=[p.text_message(text, sender=sender)],
                )
            )
        )
    )
    conversation = Conversation.objects.get(contact__wa_id=sender)
    message = conversation.messages.get()
    StatusEvent.objects.create(
        wamid=message.wamid, message=message, status="read", timestamp=message.timestamp
    )
    return conversation


@pytest.fixture
def sales():
    return deliver("sales question", sender="966500000001", name="Sales Customer",
                   phone_number_id="111")  # fmt: skip


@pytest.fixture
def support():
    return deliver("support question", sender="966500000002", name="Support Customer",
                   phone_number_id="222")  # fmt: skip


@pytest.fixture
def sales_agent(client, django_user_model, sales, support):
    """An agent who may see only the sales number, and may open every messaging admin page
    (so that only the number scope stands between them and the support number's data)."""
    user = django_user_model.objects.create_user("sales-agent", is_staff=True)
    user.groups.add(Group.objects.get(name="Agent"))
    user = grant(user, "view_message", "view_statusevent", "view_webhookevent",
                 "view_businessnumber")  # fmt: skip
    StaffProfile.objects.create(user=user).numbers.add(sales.business_number)
    client.force_login(user)
    return client


def does_not_exist(response):
    """The admin's answer for an id nobody has: back to the admin index, with a message."""
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_other_numbers_objects_do_not_exist_in_the_admin(sales_agent, sales, support):
    def change_page(model, obj):
        return sales_agent.get(f"/admin/messaging/{model}/{obj.pk}/change/")

    theirs = {
        "conversation": support,
        "contact": support.contact,
        "message": support.messages.get(),
        "statusevent": StatusEvent.objects.get(message__conversation=support),
        "businessnumber": support.business_number,
    }
    ours = {
        "conversation": sales,
        "contact": sales.contact,
        "message": sales.messages.get(),
        "statusevent": StatusEvent.objects.get(message__conversation=sales),
        "businessnumber": sales.business_number,
    }

    for model, obj in theirs.items():
        assert does_not_exist(change_page(model, obj)), model
    for model, obj in ours.items():
        assert change_page(model, obj).status_code == 200, model


@pytest.mark.parametrize("model", ["conversation", "contact", "message", "statusevent"])
def test_other_numbers_rows_are_missing_from_admin_lists(sales_agent, sales, support, model):
    html = sales_agent.get(f"/admin/messaging/{model}/").content.decode()

    assert f"/admin/messaging/{model}/{pk_of(model, sales)}/change/" in html
    assert f"/admin/messaging/{model}/{pk_of(model, support)}/change/" not in html


def pk_of(model, conversation):
    return {
        "conversation": conversation.pk,
        "contact": conversation.contact_id,
        "message": conversation.messages.get().pk,
        "statusevent": StatusEvent.objects.get(message__conversation=conversation).pk,
    }[model]


def test_a_contact_search_finds_nobody_on_other_numbers(sales_agent):
    theirs = sales_agent.get("/admin/messaging/contact/", {"q": "966500000002"})
    ours = sales_agent.get("/admin/messaging/contact/", {"q": "966500000001"})

    assert "966500000002" not in theirs.content.decode().replace('value="966500000002"', "")
    assert "Support Customer" not in theirs.content.decode()
    assert "Sales Customer" in ours.content.decode()


def test_the_number_filter_offers_only_visible_numbers(sales_agent, django_user_model, support):
    support_filter = f"?business_number__id__exact={support.business_number_id}"
    superuser = Client()
    superuser.force_login(django_user_model.objects.create_superuser("root"))

    assert support_filter in superuser.get("/admin/messaging/conversation/").content.decode()
    # One visible number left: no filter at all, as in the inbox.
    assert "business_number__id__exact" not in (
        sales_agent.get("/admin/messaging/conversation/").content.decode()
    )


def test_raw_webhook_bodies_are_only_for_staff_who_see_every_number(
    sales_agent, client, django_user_model
):
    event = WebhookEvent.objects.first()
    assert does_not_exist(sales_agent.get(f"/admin/messaging/webhookevent/{event.pk}/change/"))
    assert "0 webhook events" in sales_agent.get("/admin/messaging/webhookevent/").content.decode()

    everyone = grant(
        django_user_model.objects.create_user("ops", is_staff=True), "view_webhookevent"
    )
    client.force_login(everyone)
    assert client.get(f"/admin/messaging/webhookevent/{event.pk}/change/").status_code == 200


# The audit log: every opening of personal data in the admin, and every search.


@pytest.fixture
def conversation(sales):
    return sales


def opened(model, conversation):
    return {
        "conversation": conversation,
        "contact": conversation.contact,
        "message": conversation.messages.get(),
        "statusevent": StatusEvent.objects.get(message__conversation=conversation),
        "webhookevent": WebhookEvent.objects.first(),
    }[model]


@pytest.mark.parametrize(
    "model", ["conversation", "contact", "message", "statusevent", "webhookevent"]
)
def test_opening_personal_data_in_the_admin_is_audited(admin_client, conversation, model):
    obj = opened(model, conversation)

    response = admin_client.get(f"/admin/messaging/{model}/{obj.pk}/change/")

    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_CONVERSATION)
    assert (event.actor.username, event.object_type, event.object_id) == (
        "root",
        f"messaging.{model}",
        str(obj.pk),
    )
    assert event.details == {"via": "admin"}


def test_a_search_is_audited_without_what_was_searched(admin_client, conversation):
    admin_client.get("/admin/messaging/contact/", {"q": "966500000001"})
    admin_client.get("/admin/messaging/message/", {"q": conversation.messages.get().wamid})

    events = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_CONVERSATION)
    assert sorted(events.values_list("object_type", "object_id", "details")) == [
        ("messaging.contact", "", {"via": "admin search"}),
        ("messaging.message", "", {"via": "admin search"}),
    ]
    assert "966500000001" not in str(list(events.values()))


def test_browsing_lists_and_pages_not_shown_are_not_audited(sales_agent, support):
    sales_agent.get("/admin/messaging/contact/")
    sales_agent.get(f"/admin/messaging/conversation/{support.pk}/change/")
    sales_agent.get("/admin/messaging/conversation/999999/change/")

    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_CONVERSATION).exists()


# Account and quality events: the business number's history.


def test_a_business_numbers_page_shows_its_and_its_accounts_events_newest_first(
    admin_client, sales, support
):
    receive(p.encode(quality("FLAGGED", at=NOW - 120, display="1555000111")))
    receive(p.encode(ban("DISABLE", at=NOW - 60)))
    receive(p.encode(ban("REINSTATE", at=NOW)))
    receive(p.encode(quality("DOWNGRADE", at=NOW, display="1555000222")))

    html = admin_client.get(
        f"/admin/messaging/businessnumber/{sales.business_number_id}/change/"
    ).content.decode()

    history = html.split("Account and quality events", 1)[1]
    shown = [e.event for e in AccountEvent.objects.all() if f"{e.pk}/change/" in history]
    assert shown == ["DISABLED_UPDATE", "DISABLED_UPDATE", "FLAGGED"]  # newest first
    assert history.index("reinstated") < history.index("disabled the business account")
    assert history.index("disabled the business account") < history.index("flagged")
    assert "In force" in history  # the flag: nothing lifted it


def test_account_events_of_other_numbers_do_not_exist_for_limited_staff(
    client, django_user_model, sales, support
):
    receive(p.encode(quality("FLAGGED", display="1555000111")))
    receive(p.encode(quality("DOWNGRADE", display="1555000222")))
    ours, theirs = (AccountEvent.objects.get(event=e) for e in ("FLAGGED", "DOWNGRADE"))
    user = django_user_model.objects.create_user("boss", is_staff=True)
    user.groups.add(Group.objects.get(name="Supervisor"))
    StaffProfile.objects.create(user=user).numbers.add(sales.business_number)
    client.force_login(user)

    listed = client.get("/admin/messaging/accountevent/").content.decode()

    assert f"/admin/messaging/accountevent/{ours.pk}/change/" in listed
    assert f"/admin/messaging/accountevent/{theirs.pk}/change/" not in listed
    assert does_not_exist(client.get(f"/admin/messaging/accountevent/{theirs.pk}/change/"))
    assert client.get(f"/admin/messaging/accountevent/{ours.pk}/change/").status_code == 200


def test_staff_who_may_not_see_account_events_get_no_history(sales_agent, sales):
    receive(p.encode(quality("FLAGGED", display="1555000111")))

    page = sales_agent.get(f"/admin/messaging/businessnumber/{sales.business_number_id}/change/")

    assert page.status_code == 200
    assert "Account and quality events" not in page.content.decode()
    assert sales_agent.get("/admin/messaging/accountevent/").status_code == 403
