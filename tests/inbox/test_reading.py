"""Reading a conversation: opening its page (a GET) only shows it and audits the viewing; the
page itself then posts to inbox:read, which marks it read for the team and sends the customer
one read receipt. A link followed from another site (SameSite=Lax sends the session cookie with
a top-level GET) therefore changes nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Conversation, InboxChange, Message
from privacy.models import AuditEvent
from staff.models import StaffProfile

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
RECEIPT_TASK = "messaging.tasks.send_read_receipt"


def deliver(text, *, minutes_ago=1, sender=p.USER_WA_ID, **options):
    """A customer's text message through the real ingestion; its conversation."""
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=sender, name="Amina")],
                    messages=[p.text_message(text, sender=sender, timestamp=moment)],
                    **options,
                )
            )
        )
    )
    return Conversation.objects.get(contact__wa_id=sender)


def receipts():
    """The message ids of the read receipts queued so far."""
    tasks = DBTaskResult.objects.filter(task_path=RECEIPT_TASK).order_by("pk")
    return [task.args_kwargs["args"] for task in tasks]


def read(client, conversation, **kwargs):
    return client.post(reverse("inbox:read", args=[conversation.pk]), **kwargs)


def test_opening_a_conversation_audits_the_viewing_but_neither_reads_it_nor_sends_a_receipt(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    conversation = deliver("Is my order on its way?")
    changes = InboxChange.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.get(reverse("inbox:conversation", args=[conversation.pk]))

    assert response.status_code == 200
    viewed = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_CONVERSATION)
    assert (viewed.actor, viewed.object_id) == (staff_user, str(conversation.pk))
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert InboxChange.objects.count() == changes
    assert receipts() == []


def test_the_page_of_an_unread_conversation_can_post_that_it_was_read(staff_client):
    conversation = deliver("Is my order on its way?")

    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    page = html.decode()

    # inbox.js triggers the reader when the header shows unread messages to someone looking.
    reader = f'<div id="reader" hidden hx-post="{reverse("inbox:read", args=[conversation.pk])}"'
    assert reader in page
    assert 'data-unread="1"' in page.split('id="conversation-header"')[1].split(">")[0]


def test_reading_marks_it_read_for_the_team_and_sends_one_receipt_for_the_newest_message(
    staff_client, django_capture_on_commit_callbacks
):
    conversation = deliver("one", minutes_ago=3)
    deliver("two", minutes_ago=2)
    newest = Message.objects.get(text="two")
    changes = InboxChange.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = read(staff_client, conversation, headers=HTMX)

    # Nothing to swap: the poll it asks for brings the row, the header and the total.
    assert response.status_code == 204
    assert response["HX-Trigger"] == "inbox:poll"
    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert InboxChange.objects.count() == changes + 1
    assert receipts() == [[newest.pk]]


def test_reading_again_sends_no_second_receipt_and_asks_for_nothing(
    staff_client, django_capture_on_commit_callbacks
):
    conversation = deliver("Hello?")

    with django_capture_on_commit_callbacks(execute=True):
        read(staff_client, conversation, headers=HTMX)
        again = read(staff_client, conversation, headers=HTMX)

    assert again.status_code == 204
    assert "HX-Trigger" not in again
    assert len(receipts()) == 1
    assert InboxChange.objects.filter(conversation=conversation).count() == 2  # arrival, read


def test_read_receipts_can_be_switched_off(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.WHATSAPP_READ_RECEIPTS = False
    conversation = deliver("Hello?")

    with django_capture_on_commit_callbacks(execute=True):
        read(staff_client, conversation, headers=HTMX)

    conversation.refresh_from_db()
    assert conversation.unread_count == 0
    assert receipts() == []


def test_it_refuses_a_read_without_a_csrf_token(staff_user, django_capture_on_commit_callbacks):
    conversation = deliver("Hello?")
    # What a form on another site can send: the session cookie, no token.
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = read(client, conversation)

    assert response.status_code == 403
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert receipts() == []


def test_it_refuses_a_read_by_get(staff_client):
    conversation = deliver("Hello?")

    response = staff_client.get(reverse("inbox:read", args=[conversation.pk]))

    assert response.status_code == 405
    conversation.refresh_from_db()
    assert conversation.unread_count == 1


def test_a_limited_agent_cannot_read_another_numbers_conversation(
    client, staff_user, django_capture_on_commit_callbacks
):
    theirs = deliver("sales question", sender="966500000001", phone_number_id="111")
    other = deliver("support question", sender="966500000002", phone_number_id="222")
    profile, _ = StaffProfile.objects.get_or_create(user=staff_user)
    profile.numbers.add(theirs.business_number)
    client.force_login(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = read(client, other, headers=HTMX)

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.unread_count == 1
    assert receipts() == []
    assert read(client, theirs, headers=HTMX).status_code == 204


def test_staff_who_may_not_read_conversations_cannot_mark_them_read(client, django_user_model):
    conversation = deliver("Hello?")
    client.force_login(django_user_model.objects.create_user("x", is_staff=True))

    assert read(client, conversation).status_code == 403
    conversation.refresh_from_db()
    assert conversation.unread_count == 1


def test_without_javascript_marking_read_goes_back_to_the_conversation(staff_client):
    conversation = deliver("Hello?")
    page = staff_client.get(reverse("inbox:conversation", args=[conversation.pk]))
    assert "Mark read" in page.content.decode()  # a no-JS button (hidden by inbox.js' class)

    response = read(staff_client, conversation, query_params={"state": "all"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("inbox:conversation", args=[conversation.pk]))
    assert "state=all" in response["Location"]
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_after_reading_the_poll_shows_the_row_the_header_and_the_total_read(staff_client):
    conversation = deliver("Hello?")
    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content
    since = int(html.decode().split("since=")[1].split("&")[0])

    read(staff_client, conversation, headers=HTMX)
    poll = staff_client.get(
        reverse("inbox:poll"), {"since": since, "open": conversation.pk}, headers=HTMX
    ).content.decode()

    row = poll.split(f'<li id="row-{conversation.pk}"')[1].split("</li>")[0]
    assert "is-unread" not in row.split(">")[0]
    assert 'class="badge"' not in row
    assert 'data-unread="0"' in poll.split('id="conversation-header"')[1]
    assert 'id="unread-total" hidden data-count="0"' in poll


# What pages polled with before reading moved to inbox:read, too.
@pytest.mark.parametrize("params", [{}, {"visible": "1"}, {"visible": "1", "read": "1"}])
def test_a_poll_never_reads_the_open_conversation(
    staff_client, params, django_capture_on_commit_callbacks
):
    conversation = deliver("first")
    since = InboxChange.objects.latest("pk").pk
    deliver("second")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.get(
            reverse("inbox:poll"), {"since": since, "open": conversation.pk, **params}
        )

    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.unread_count == 2
    assert receipts() == []
