"""simulate_inbound posts signed webhooks over real HTTP to a running server."""

import io

import pytest
from django.core.management import CommandError, call_command

from messaging.models import Contact, Message, StatusEvent
from tests.webhook_support import run_webhook_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulate(live_server):
    def run(*args):
        out = io.StringIO()
        call_command(
            "simulate_inbound", "--url", f"{live_server.url}/webhooks/whatsapp/", *args, stdout=out
        )
        run_webhook_tasks()  # what the server's db_worker does next
        return out.getvalue()

    return run


def test_it_delivers_a_text_message_through_the_real_endpoint(simulate):
    output = simulate("--text", "Is the shop open today?")

    assert "Sent 1 signed webhook(s)." in output
    message = Message.objects.get()
    assert (message.type, message.text) == ("text", "Is the shop open today?")


def test_it_sends_arabic_text_from_a_username_user_without_a_phone(simulate):
    simulate("--arabic", "--bsuid-only", "--bsuid", "SA.778899", "--username", "noor")

    contact = Contact.objects.get()
    assert (contact.wa_id, contact.user_id, contact.username) == (None, "SA.778899", "noor")
    assert any("\u0600" <= ch <= "\u06ff" for ch in Message.objects.get().text)


def test_it_sends_batches_over_several_posts(simulate):
    simulate("--batch", "5", "--posts", "2", "--type", "image")

    assert Message.objects.filter(type="image").count() == 10


def test_it_sends_a_status_for_a_wamid(simulate):
    simulate("--status", "wamid.ABC", "read")

    assert StatusEvent.objects.get().status == "read"


def test_a_wrong_secret_is_reported_not_ignored(simulate):
    with pytest.raises(CommandError, match="answered 403"):
        simulate("--secret", "not-the-server-secret")
