import pytest

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Message, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    client.force_login(user)
    return client


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
