"""Every inbox page costs a fixed number of queries, whatever the amount of data behind it.

Each test counts a page's queries over a little data, then adds much more of everything the
page shows (conversations past the first list page, a timeline longer than a page, labels,
priorities, notes, quoted replies, a second business number, changes to poll) and asserts
that the page stays within the same count.
"""

import itertools
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automation.models import ConversationLabel, ConversationPriority, Label, Note
from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import (
    AccountEvent,
    BusinessNumber,
    Contact,
    Conversation,
    InboxChange,
    Message,
)
from staff.models import StaffProfile
from tests.account_health_support import ban, quality, template_status
from tests.staff_support import grant
from tests.template_helpers import make_template

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
_serial = itertools.count(1)


@pytest.fixture
def supervisor_client(client, supervisor):
    """A supervisor who may also label, write notes and see every number."""
    client.force_login(grant(supervisor, "apply_label", "add_note"))
    return client


@pytest.fixture
def number():
    """The business number of a first inbound message (so that it has a real conversation)."""
    deliver("Hello, is my order on its way?")
    return BusinessNumber.objects.get(phone_number_id=p.PHONE_NUMBER_ID)


@pytest.fixture
def first(number, supervisor):
    """A conversation, with one of each thing the pages show: the counts that follow are
    what it costs to show any of them, and must not grow with how many there are."""
    conversation = Conversation.objects.get(contact__wa_id=p.USER_WA_ID)
    quoted = add_messages(conversation, 1)[0].wamid
    add_messages(conversation, 2, quoting=quoted)
    label = Label.objects.create(name="Billing", colour="red")
    ConversationLabel.objects.create(conversation=conversation, label=label)
    ConversationPriority.objects.create(conversation=conversation, level=1)
    Note.objects.create(conversation=conversation, text="Asked for a refund")
    add_conversations(number, 1, label=label, assignee=supervisor)
    add_conversations(number, 1, state="closed")
    return conversation


def deliver(text, *, sender=p.USER_WA_ID, minutes_ago=1):
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    message = p.text_message(text, sender=sender, timestamp=moment)
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=sender, name="Amina")], messages=[message])
            )
        )
    )


def add_messages(conversation, count, *, text="refund please الشحن", quoting=None):
    """`count` messages, alternating directions, some quoting another and some reactions."""
    now = timezone.now()
    rows = []
    for i in range(count):
        serial = next(_serial)
        inbound = i % 2 == 0
        rows.append(
            Message(
                conversation=conversation,
                direction="in" if inbound else "out",
                type="reaction" if i % 10 == 9 else "text",
                wamid=f"wamid.bulk{serial}",
                timestamp=now - timedelta(days=3, seconds=count - i),
                text=f"{text} {serial}",
                status="received" if inbound else "read",
                reply_to_wamid=quoting or "",
            )
        )
    Message.objects.bulk_create(rows)
    return rows


def add_conversations(number, count, *, label=None, assignee=None, state="open"):
    """`count` more conversations on `number`, each with messages, a label and a priority."""
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        Contact(wa_id=f"97150{next(_serial):07d}", profile_name=f"Customer {i}")
        for i in range(count)
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(
            business_number=number,
            contact=contact,
            state=state,
            assignee=assignee,
            last_message_at=now - timedelta(hours=2, minutes=i),
            last_inbound_at=now - timedelta(hours=2, minutes=i),
        )
        for i, contact in enumerate(contacts)
    )
    for conversation in conversations:
        conversation.last_message = add_messages(conversation, 3)[-1]
        if label:
            ConversationLabel.objects.create(conversation=conversation, label=label)
        ConversationPriority.objects.create(conversation=conversation, level=1)
        Note.objects.create(conversation=conversation, text="Called them back")
    Conversation.objects.bulk_update(conversations, ["last_message"])
    return conversations


def grow(number, conversation, supervisor):
    """Much more of everything, on every axis the inbox pages look at."""
    labels = [Label.objects.create(name=f"Label {i}", colour="blue") for i in range(8)]
    second = BusinessNumber.objects.create(phone_number_id="222", display_phone_number="15550002")
    add_conversations(number, 40, label=labels[0])
    add_conversations(number, 10, assignee=supervisor, label=labels[1])
    add_conversations(number, 10, state="closed")
    add_conversations(second, 10, label=labels[2])
    quoted = add_messages(conversation, 1)[0].wamid
    add_messages(conversation, 240, quoting=quoted)
    for label in labels:
        ConversationLabel.objects.get_or_create(conversation=conversation, label=label)
    ConversationPriority.objects.get_or_create(conversation=conversation, defaults={"level": 2})
    Note.objects.bulk_create(
        Note(conversation=conversation, text=f"Note {i}", created_at=timezone.now())
        for i in range(30)
    )


def count_queries(client, url, method="get", **kwargs):
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 400, (url, response.status_code)
    return len(captured)


def assert_constant(client, django_assert_max_num_queries, url, grow_data, **kwargs):
    """Same page, little data then much more: never more queries."""
    client.get(url, **kwargs)  # the session, permissions and read state settle
    few = count_queries(client, url, **kwargs)
    grow_data()
    client.get(url, **kwargs)
    with django_assert_max_num_queries(few):
        client.get(url, **kwargs)
    return few


# The list


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"assigned": "mine"},
        {"assigned": "unassigned"},
        {"state": "closed"},
        {"state": "all"},
        {"number": "NUMBER"},
        {"label": "LABEL"},
        {"q": "refund"},
        {"q": "الشحن"},
        {"q": "Amina"},
        {"q": "or"},
    ],
    ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "all-open",
)
def test_it_lists_conversations_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, query, django_assert_max_num_queries
):
    label = Label.objects.get(name="Billing")
    values = {"NUMBER": str(number.pk), "LABEL": str(label.pk)}
    params = {key: values.get(value, value) for key, value in query.items()}

    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        "/",
        lambda: grow(number, first, supervisor),
        data=params,
    )


def test_it_pages_the_list_over_htmx_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    add_conversations(number, 35)
    html = supervisor_client.get("/").content.decode()
    cursor = re.search(r"after=([0-9.]+_\d+)", html).group(1)
    url = f"/?after={cursor}"

    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        url,
        lambda: grow(number, first, supervisor),
        headers=HTMX,
    )


def test_it_lists_for_a_number_scoped_agent_in_a_fixed_number_of_queries(
    client, staff_user, number, first, django_assert_max_num_queries
):
    profile, _ = StaffProfile.objects.get_or_create(user=staff_user)
    profile.numbers.add(number)
    client.force_login(staff_user)

    assert_constant(
        client,
        django_assert_max_num_queries,
        "/",
        lambda: grow(number, first, staff_user),
        data={"q": "refund"},
    )


def test_the_account_banner_costs_one_query_whatever_is_in_force(
    client, supervisor, number, first, django_assert_max_num_queries
):
    """Someone who may see account events pays one query for the banner (none of them
    without the permission), with nothing in force or with many problems at once."""
    client.force_login(supervisor)
    client.get("/")
    without = count_queries(client, "/")
    client.force_login(grant(supervisor, "view_accountevent"))
    client.get("/")
    nothing_in_force = count_queries(client, "/")

    def problems():
        grow(number, first, supervisor)
        for i in range(30):
            at = int(timezone.now().timestamp()) - i
            receive(p.encode(ban("DISABLE", at=at)))
            receive(p.encode(quality("FLAGGED", at=at)))
            receive(p.encode(template_status("PAUSED", at=at, message_template_id=i)))

    with_banner = assert_constant(client, django_assert_max_num_queries, "/", problems)

    assert nothing_in_force == with_banner == without + 1
    assert AccountEvent.objects.active().count() == 1 + 1 + 30  # a ban, a number, templates
    assert "data-account-event" in client.get("/").content.decode()


# The conversation


def test_it_opens_a_conversation_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        reverse("inbox:conversation", args=[first.pk]),
        lambda: grow(number, first, supervisor),
    )


def test_it_reads_a_conversation_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    url = reverse("inbox:read", args=[first.pk])

    def unread():
        Conversation.objects.filter(pk=first.pk).update(unread_count=2)

    unread()
    supervisor_client.post(url, headers=HTMX)
    unread()
    few = count_queries(supervisor_client, url, method="post", headers=HTMX)
    grow(number, first, supervisor)
    unread()

    with django_assert_max_num_queries(few):
        supervisor_client.post(url, headers=HTMX)
    first.refresh_from_db()
    assert first.unread_count == 0


def test_it_loads_older_messages_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    add_messages(first, 60, quoting=first.messages.earliest("pk").wamid)
    html = supervisor_client.get(reverse("inbox:conversation", args=[first.pk])).content.decode()
    url = re.search(r'hx-get="(/c/\d+/messages/\?before=[^"]+)"', html).group(1)

    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        url,
        lambda: grow(number, first, supervisor),
        headers=HTMX,
    )


# Polling


def test_it_answers_a_poll_with_nothing_new_in_three_queries(
    supervisor_client, supervisor, number, first, django_assert_num_queries
):
    """The session, the user with their permissions (one query: staff.backends) and
    the change feed: the page polls every two seconds."""
    url = f"/poll/?since={InboxChange.objects.latest('pk').pk}&open={first.pk}"
    supervisor_client.get(url)
    grow(number, first, supervisor)
    url = f"/poll/?since={InboxChange.objects.latest('pk').pk}&open={first.pk}"

    with django_assert_num_queries(3):
        response = supervisor_client.get(url)

    assert response.status_code == 204


def test_it_answers_a_limited_agents_poll_in_three_queries_when_only_another_number_changed(
    client, staff_user, number, first, django_assert_num_queries
):
    """The same three: the agent's numbers come with the user (staff.backends)."""
    StaffProfile.objects.create(user=staff_user).numbers.add(number)
    client.force_login(staff_user)
    since = InboxChange.objects.latest("pk").pk
    grow(number, first, staff_user)
    for conversation in Conversation.objects.exclude(business_number=number):
        InboxChange.objects.record(conversation.pk)

    with django_assert_num_queries(3):
        response = client.get(f"/poll/?since={since}&open={first.pk}")

    assert response.status_code == 204


def test_it_answers_a_poll_with_changes_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    since = InboxChange.objects.latest("pk").pk
    deliver("One more thing")
    reply = add_messages(first, 1, quoting=first.messages.earliest("pk").wamid)[0]
    InboxChange.objects.record(first.pk, reply.pk)
    Note.objects.create(conversation=first, text="Sent them the invoice")
    InboxChange.objects.record(first.pk)
    url = f"/poll/?since={since}&open={first.pk}"

    def more_changes():
        grow(number, first, supervisor)
        for message in first.messages.order_by("-pk")[:40]:
            InboxChange.objects.record(first.pk, message.pk)
        for conversation in Conversation.objects.exclude(pk=first.pk)[:40]:
            InboxChange.objects.record(conversation.pk)
        Note.objects.create(conversation=first, text="Late note")
        InboxChange.objects.record(first.pk)

    assert_constant(
        supervisor_client, django_assert_max_num_queries, url, more_changes, headers=HTMX
    )


# Composer panels, media and settings


def test_it_opens_the_template_panel_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    chosen = make_template()
    url = reverse("inbox:template", args=[first.pk])

    def more_templates():
        grow(number, first, supervisor)
        for i in range(30):
            make_template(f"notice_{i}", language="ar" if i % 2 else "en_US")

    assert_constant(
        supervisor_client, django_assert_max_num_queries, url, more_templates, headers=HTMX
    )
    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        url,
        lambda: [make_template(f"more_{i}") for i in range(10)],
        data={"template": chosen.pk},
        headers=HTMX,
    )


def test_it_streams_media_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    locmem.media["4490709327"] = {
        "content": b"\xff\xd8\xff" + b"0" * 100,
        "mime_type": "image/jpeg",
        "filename": "receipt.jpg",
    }
    image = Message.objects.create(
        conversation=first,
        direction="in",
        type="image",
        wamid="wamid.image",
        timestamp=timezone.now(),
        status="received",
        data={"media_id": "4490709327", "mime_type": "image/jpeg"},
    )

    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        reverse("inbox:media", args=[image.pk]),
        lambda: grow(number, first, supervisor),
    )


def test_it_shows_the_preferences_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    assert_constant(
        supervisor_client,
        django_assert_max_num_queries,
        reverse("inbox:preferences"),
        lambda: grow(number, first, supervisor),
    )


# Teamwork: the header after labelling, the note composer after a note


def test_it_labels_a_conversation_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    label = Label.objects.create(name="VIP", colour="green")
    url = reverse("inbox:label", args=[first.pk])

    def toggle():
        return count_queries(
            supervisor_client,
            url,
            method="post",
            data={"label": label.pk, "action": "add"},
            headers=HTMX,
        ) + count_queries(
            supervisor_client,
            url,
            method="post",
            data={"label": label.pk, "action": "remove"},
            headers=HTMX,
        )

    toggle()
    few = toggle()
    grow(number, first, supervisor)

    with django_assert_max_num_queries(few):
        toggle()


def test_it_adds_a_note_in_a_fixed_number_of_queries(
    supervisor_client, supervisor, number, first, django_assert_max_num_queries
):
    url = reverse("inbox:note", args=[first.pk])

    def note():
        return count_queries(
            supervisor_client, url, method="post", data={"text": "Called back"}, headers=HTMX
        )

    note()
    few = note()
    grow(number, first, supervisor)

    with django_assert_max_num_queries(few):
        note()
