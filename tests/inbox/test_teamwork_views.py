"""Teamwork in the inbox: labels, internal notes, quick replies and notification settings."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automation.engine import run_for_message
from automation.models import (
    AutoReply,
    ConversationLabel,
    ConversationPriority,
    Label,
    Note,
    QuickReply,
    QuickReplyText,
    RoutingRule,
    StaffNotification,
    StaffPreferences,
)
from messaging.backends import locmem
from messaging.models import Conversation, InboxChange, Message
from messaging.sending import queue_text_reply
from staff.models import StaffProfile
from tests.staff_support import grant
from tests.teamwork_support import AMINA, NOTIFICATION_TASK, deliver, queued, run_queued

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(staff_user):
    """An agent who may also label conversations and write notes."""
    return grant(staff_user, "apply_label", "add_note")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def billing():
    return Label.objects.create(name="Billing", colour="blue")


def page(client, conversation=None, **params):
    url = reverse("inbox:conversation", args=[conversation.pk]) if conversation else "/"
    return client.get(url, params).content.decode()


def label_action(client, conversation, label, action="add", headers=None):
    return client.post(
        reverse("inbox:label", args=[conversation.pk]),
        {"label": label.pk, "action": action},
        headers=headers or {},
    )


def add_note(client, conversation, text, headers=None):
    return client.post(
        reverse("inbox:note", args=[conversation.pk]), {"text": text}, headers=headers or {}
    )


# Labels


def test_an_agent_adds_and_removes_a_label_in_the_conversation_header(agent_client, billing):
    conversation = deliver().conversation

    response = label_action(agent_client, conversation, billing, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'class="chip label-chip label-blue">Billing' in response.content.decode()
    assert response["HX-Trigger"] == "inbox:poll"
    assert list(conversation.labels.all()) == [billing]
    assert label_action(agent_client, conversation, billing).status_code == 302  # again: no-op
    assert ConversationLabel.objects.count() == 1

    label_action(agent_client, conversation, billing, "remove")
    assert list(conversation.labels.all()) == []


def test_labels_show_as_coloured_chips_in_list_rows(agent_client, billing):
    conversation = deliver().conversation
    ConversationLabel.objects.create(conversation=conversation, label=billing)
    ConversationPriority.objects.create(conversation=conversation, level=2)

    row = page(agent_client).split('data-conversation="')[1]

    assert '<span class="chip label-chip label-blue">Billing</span>' in row
    assert '<span class="chip priority-urgent">Urgent</span>' in row


def test_the_label_filter_and_a_search_for_the_label_name_narrow_the_list(agent_client, billing):
    labelled = deliver(sender=AMINA, name="Labelled Person").conversation
    deliver(sender="447700900123", name="Other Person")
    ConversationLabel.objects.create(conversation=labelled, label=billing)

    everyone = page(agent_client)
    filtered = page(agent_client, label=billing.pk)
    searched = page(agent_client, q="billing")

    assert ("Labelled Person" in everyone, "Other Person" in everyone) == (True, True)
    assert ("Labelled Person" in filtered, "Other Person" in filtered) == (True, False)
    assert ("Labelled Person" in searched, "Other Person" in searched) == (True, False)
    assert f'<option value="{billing.pk}" selected>Billing</option>' in filtered
    # Links from the filtered list keep the filter.
    assert f"label={billing.pk}" in filtered.split('class="conversation-row')[1]


def test_the_list_keeps_a_fixed_number_of_queries_with_labels_on_every_row(
    agent_client, billing, django_assert_num_queries
):
    vip = Label.objects.create(name="VIP", colour="yellow")
    first = deliver(sender="966500000001").conversation
    ConversationLabel.objects.create(conversation=first, label=billing)
    agent_client.get("/")  # warm the session
    with CaptureQueriesContext(connection) as few:
        agent_client.get("/")
    for i in range(25):
        conversation = deliver(sender=f"96650001{i:04d}", name=f"P{i}").conversation
        ConversationLabel.objects.create(conversation=conversation, label=billing)
        ConversationLabel.objects.create(conversation=conversation, label=vip)
        ConversationPriority.objects.create(conversation=conversation, level=1)

    with django_assert_num_queries(len(few)):
        html = agent_client.get("/").content.decode()
    assert html.count('<span class="chip label-chip label-yellow">VIP</span>') == 25
    assert html.count('<span class="chip priority-high">High</span>') == 25


def test_labelling_needs_the_permission(staff_client, billing):
    conversation = deliver().conversation

    assert label_action(staff_client, conversation, billing).status_code == 403
    assert "Add label" not in page(staff_client, conversation)
    assert not ConversationLabel.objects.exists()


def test_a_bad_label_request_is_refused(agent_client, billing):
    conversation = deliver().conversation
    url = reverse("inbox:label", args=[conversation.pk])

    assert agent_client.post(url, {"label": "x", "action": "add"}).status_code == 400
    assert agent_client.post(url, {"label": billing.pk, "action": "paint"}).status_code == 400
    assert agent_client.post(url, {"label": 999999, "action": "add"}).status_code == 404


# Internal notes


def test_a_note_appears_in_the_timeline_visibly_different_and_is_never_sent(
    agent_client, django_capture_on_commit_callbacks
):
    conversation = deliver("Where is my order?").conversation

    with django_capture_on_commit_callbacks(execute=True):
        response = add_note(agent_client, conversation, "Checked: it ships <b>Monday</b>.")

    assert response.status_code == 302
    note = Note.objects.get()
    assert (note.kind, note.author.username) == ("note", "amina")
    assert not Message.objects.filter(direction="out").exists()
    assert not queued("messaging.tasks.send_message").exists()
    assert locmem.outbox == []
    html = page(agent_client, conversation)
    assert f'id="n-{note.pk}" class="msg msg-note"' in html
    assert "Internal note, not sent to the customer" in html
    assert "Checked: it ships &lt;b&gt;Monday&lt;/b&gt;." in html
    assert html.index("Where is my order?") < html.index("Checked: it ships")


def test_notes_take_their_place_among_messages_by_time(agent_client, agent):
    conversation = deliver("first message", minutes_ago=10).conversation
    Note.objects.create(
        conversation=conversation,
        author=agent,
        text="a note in between",
        created_at=timezone.now() - timedelta(minutes=5),
    )
    deliver("second message", minutes_ago=1)

    html = page(agent_client, conversation).split('id="timeline"')[1]

    assert html.index("first message") < html.index("a note in between")
    assert html.index("a note in between") < html.index("second message")


def test_an_htmx_note_comes_back_at_once_and_other_open_pages_get_it_by_polling(
    agent_client, supervisor
):
    conversation = deliver().conversation
    client = Client()
    client.force_login(supervisor)
    cursor = InboxChange.objects.latest("pk").pk

    response = add_note(
        agent_client, conversation, "Call back at 4", headers={"HX-Request": "true"}
    )
    poll = client.get(reverse("inbox:poll"), {"since": cursor, "open": conversation.pk})

    assert response.status_code == 200
    assert '<div id="incoming" hx-swap-oob="innerHTML">' in response.content.decode()
    assert "Call back at 4" in response.content.decode()
    assert "Call back at 4" in poll.content.decode().split('id="incoming"')[1]


def test_an_empty_note_is_refused_with_a_reason(agent_client):
    conversation = deliver().conversation

    response = add_note(agent_client, conversation, "   ", headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "Write a note first." in response.content.decode()
    assert not Note.objects.exists()


def test_the_composer_offers_a_note_mode_posting_to_the_note_view_and_keeps_the_plain_note_form(
    agent_client,
):
    conversation = deliver().conversation

    html = page(agent_client, conversation)

    composer = html.split('id="composer"')[1].split("</form>")[0]
    assert f'data-note-url="{reverse("inbox:note", args=[conversation.pk])}?' in composer
    assert f'action="{reverse("inbox:reply", args=[conversation.pk])}?' in composer
    assert 'data-mode="note"' in composer
    assert 'id="note-mentions"' in composer  # the @mention picker sits in the composer
    # Without JavaScript the note form of its own adds notes.
    notes = html.split('id="note-composer"')[1].split("</details>")[0]
    assert f'action="{reverse("inbox:note", args=[conversation.pk])}?' in notes


def test_notes_need_the_permission(staff_client):
    conversation = deliver().conversation

    assert add_note(staff_client, conversation, "hello").status_code == 403
    html = page(staff_client, conversation)
    assert 'id="note-composer"' not in html
    assert "data-note-url" not in html
    assert 'id="note-mentions"' not in html


def test_mentioning_a_colleague_emails_them_after_the_commit_only(
    agent_client, supervisor, django_capture_on_commit_callbacks
):
    supervisor.email = "salma@example.org"
    supervisor.save()
    conversation = deliver("My card was charged twice").conversation

    with django_capture_on_commit_callbacks() as callbacks:
        add_note(agent_client, conversation, "@salma can you check the refund? cc @nobody")
        assert mail.outbox == []
        assert not queued(NOTIFICATION_TASK).exists()
    for callback in callbacks:
        callback()
    run_queued(NOTIFICATION_TASK)

    assert list(Note.objects.get().mentions.all()) == [supervisor]
    (email,) = mail.outbox
    assert email.to == ["salma@example.org"]
    assert email.subject == "[WABA Al Qalam] You were mentioned in an internal note"
    assert "Amina mentioned you" in email.body
    assert f"/c/{conversation.pk}/" in email.body
    # Minimal: nothing the customer wrote, nothing of the note, no phone number.
    for private in ("charged twice", "refund", AMINA, "Amina Khalid"):
        assert private not in email.body
    html = page(agent_client, conversation)
    assert '<span class="mention">@salma</span>' in html


def test_the_mention_picker_offers_only_colleagues_who_can_open_the_conversation(
    agent_client, supervisor, django_user_model
):
    conversation = deliver().conversation
    other_number = conversation.business_number.__class__.objects.create(
        phone_number_id="222", display_phone_number="2"
    )
    officer = django_user_model.objects.create_user(username="omar", is_staff=True)
    elsewhere = grant(
        django_user_model.objects.create_user(username="hadi", is_staff=True),
        "view_conversation",
    )
    StaffProfile.objects.create(user=elsewhere).numbers.add(other_number)

    html = page(agent_client, conversation)

    picker = html.split('id="note-mentions"')[1].split("</ul>")[0]
    assert f'id="mention-{supervisor.pk}"' in picker
    assert f'id="mention-{officer.pk}"' not in picker
    assert f'id="mention-{elsewhere.pk}"' not in picker


def test_opening_a_conversation_with_notes_costs_the_same_queries_for_1_or_60_notes(
    agent_client, agent, django_assert_num_queries
):
    small = deliver(sender="966500000001").conversation
    large = deliver(sender="966500000002").conversation
    for conversation, count in ((small, 1), (large, 60)):
        Note.objects.bulk_create(
            Note(conversation=conversation, author=agent, text=f"note {i}") for i in range(count)
        )
    agent_client.get(reverse("inbox:conversation", args=[small.pk]))
    agent_client.get(reverse("inbox:conversation", args=[large.pk]))

    with CaptureQueriesContext(connection) as small_queries:
        agent_client.get(reverse("inbox:conversation", args=[small.pk]))
    with django_assert_num_queries(len(small_queries)):
        html = agent_client.get(reverse("inbox:conversation", args=[large.pk])).content.decode()
    assert html.count('class="msg msg-note"') == 60


def test_the_timeline_shows_automatic_replies_and_what_rules_did_as_automation(client, supervisor):
    RoutingRule.objects.create(name="Billing", match="any", action="assign", assignee=supervisor)
    AutoReply.objects.create(kind="greeting", language="en", text="Welcome!")
    message = deliver("Hello")
    run_for_message(message.pk)
    queue_text_reply(message.conversation, supervisor, "Salma here.")
    client.force_login(supervisor)

    timeline = page(client, message.conversation).split('id="timeline"')[1]

    greeting = timeline.split("Welcome!")[-1].split("</article>")[0]
    assert '<span class="msg-sender">Automation</span>' in greeting
    staff_reply = timeline.split("Salma here.")[-1].split("</article>")[0]
    assert '<span class="msg-sender">Salma</span>' in staff_reply
    record = timeline.split('class="msg msg-note msg-note-system"')[1].split("</article>")[0]
    assert "Automation:" in record
    assert "Routed to Salma by rule “Billing”." in record


# Quick replies


@pytest.fixture
def quick_replies():
    hours = QuickReply.objects.create(shortcut="hours", title="Opening hours")
    QuickReplyText.objects.create(
        quick_reply=hours, language="en", text="Hi {first_name}, {agent} here: we open at 9."
    )
    QuickReplyText.objects.create(quick_reply=hours, language="ar", text="أهلاً {name}")
    QuickReply.objects.create(shortcut="old", title="Retired", is_active=False)
    return hours


def test_the_composer_offers_quick_replies_filled_in_for_the_contact_and_the_agent(
    staff_client, quick_replies
):
    conversation = deliver("Hello, when do you open?").conversation

    html = page(staff_client, conversation)

    assert 'id="quick-reply-list" class="picker picker-above" role="listbox"' in html
    assert 'data-insert="Hi Amina, Amina here: we open at 9."' in html
    assert "/old" not in html


def test_a_customer_writing_arabic_is_offered_the_arabic_variant(staff_client, quick_replies):
    conversation = deliver("متى تفتحون؟", name="أمينة خالد").conversation

    html = page(staff_client, conversation)

    assert 'data-insert="أهلاً أمينة خالد"' in html
    assert 'lang="ar"' in html


def test_no_quick_replies_are_offered_when_the_window_is_closed(staff_client, quick_replies):
    conversation = deliver(minutes_ago=25 * 60).conversation

    assert 'id="quick-reply-list"' not in page(staff_client, conversation)


# Assignment e-mails and notification settings


def test_assigning_a_conversation_to_a_colleague_emails_them_from_a_task(
    client, supervisor, staff_user, django_capture_on_commit_callbacks
):
    staff_user.email = "amina@example.org"
    staff_user.save()
    StaffProfile.objects.create(user=staff_user, language="ar")
    client.force_login(supervisor)
    conversation = deliver().conversation

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": staff_user.pk})
    assert mail.outbox == []  # not inside the request: the worker sends it
    run_queued(NOTIFICATION_TASK)

    (email,) = mail.outbox
    assert email.to == ["amina@example.org"]
    assert f"/c/{conversation.pk}/" in email.body
    assert "Salma" in email.body
    assert StaffNotification.objects.get().status == "sent"


def test_taking_a_conversation_yourself_sends_no_email(staff_client, staff_user):
    staff_user.email = "amina@example.org"
    staff_user.save()
    conversation = deliver().conversation

    staff_client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": "me"})

    assert Conversation.objects.get().assignee == staff_user
    assert not StaffNotification.objects.exists()


def test_people_switch_off_each_kind_of_email_on_their_settings_page(
    client, supervisor, staff_user, staff_client
):
    response = staff_client.post(
        reverse("inbox:preferences"),
        {
            "profile-language": "en",
            "profile-theme": "system",
            "notify-notify_mentioned": "on",
            "notify-notify_waiting": "on",
            "notify-available": "on",
        },
    )
    assert response.status_code == 302
    preferences = StaffPreferences.objects.get(user=staff_user)
    assert (preferences.notify_assigned, preferences.notify_mentioned) == (False, True)
    assert (
        'name="notify-notify_assigned"'
        in staff_client.get(reverse("inbox:preferences")).content.decode()
    )

    client.force_login(supervisor)
    conversation = deliver().conversation
    client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": staff_user.pk})

    assert Conversation.objects.get().assignee == staff_user
    assert not StaffNotification.objects.exists()


def test_each_note_appears_on_exactly_one_page_of_a_long_timeline(agent_client, agent):
    conversation = deliver("first", minutes_ago=500).conversation
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            direction="in",
            type="text",
            text=f"number {i}",
            wamid=f"wamid.bulk{i}",
            timestamp=now - timedelta(minutes=400 - 3 * i),
            status="received",
        )
        for i in range(120)
    )
    Note.objects.bulk_create(
        Note(
            conversation=conversation,
            author=agent,
            text=f"note at {minutes}",
            created_at=now - timedelta(minutes=minutes),
        )
        for minutes in (450, 300, 200, 100, 30, 0)
    )

    pages = [page(agent_client, conversation)]
    while 'class="load-older"' in pages[-1]:
        older = pages[-1].split('class="load-older" hx-get="')[1].split('"')[0]
        pages.append(agent_client.get(older.replace("&amp;", "&")).content.decode())

    assert len(pages) == 3
    # The timelines only: the contact panel lists the latest notes on every page.
    pages = [html.split('id="contact-panel"')[0] for html in pages]
    for minutes in (450, 300, 200, 100, 30, 0):
        assert sum(f"note at {minutes}<" in html for html in pages) == 1, minutes
    assert "note at 0<" in pages[0]
    assert "note at 450<" in pages[2]
