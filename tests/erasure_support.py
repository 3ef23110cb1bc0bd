"""Two people with everything the app can hold about them, and a search of every table.

`populate()` delivers real webhook bodies (one naming only Zainab, a batch naming Zainab and
Omar, one in which Omar shares her contact card and writes her number, statuses, a reaction,
an edit),
sends staff replies (one with an attachment still waiting to upload), assigns the
conversation, queues a task naming her number, and adds what teamwork and automation keep
(notes, labels, priority, automation records, notifications), so that erasure has every kind
of row to find (`rows_pointing_at()` checks that it does).
`traces()` searches every column of every table that can hold text, JSON or bytes — raw
webhook bodies decoded, sessions decoded — for needles.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from automation.labels import add_label
from automation.models import (
    AutomationRun,
    AutoReplyClaim,
    ConversationPriority,
    Label,
    Note,
    StaffNotification,
    WaitAlert,
)
from automation.notes import record
from messaging import payloads as p
from messaging.ingest import receive
from messaging.media import queue_media_message
from messaging.models import Conversation, Message, SendAttempt, StatusEvent
from messaging.sending import queue_text_reply
from messaging.tasks import simulate_status
from messaging.uploads import OUTBOX_DIR
from tests import media_files as f

ZAINAB_PHONE = "966501112233"
ZAINAB_BSUID = "SA.7723456789012345678"
ZAINAB_NAME = "Zainab Qurashi"
ZAINAB_USERNAME = "zq_olive"
ZAINAB_TEXTS = [
    "Secret plan: meet at the olive grove",
    "Photo of my passport",
    "Secret plan (edited): meet at the old well",
    "Reply to her: we received it safely",
    "Here is the signed form",
]
OMAR_PHONE = "966509998877"
OMAR_NAME = "Omar Haddad"
OMAR_TEXT = "Omar asks about opening hours"
OMAR_NOTE = "Omar prefers a call in the morning"
OMAR_MENTION = "My cousin is on +966 50-111-2233, please call her"
OMAR_MENTION_ERASED = "My cousin is on [removed], please call her"


# Her number as people write it (in her shared card, in Omar's text).
ZAINAB_PHONE_WRITTEN = ["+966 50 111 2233", "+966 50-111-2233"]
ZAINAB_EMAIL = "zainab.q@example.org"


def zainab_needles():
    return [
        ZAINAB_PHONE, *ZAINAB_PHONE_WRITTEN, ZAINAB_BSUID, ZAINAB_NAME, ZAINAB_USERNAME,
        ZAINAB_EMAIL, *ZAINAB_TEXTS,
    ]  # fmt: skip


def minutes_ago(minutes):
    return timezone.now() - timedelta(minutes=minutes)


def zainab_contact(**options):
    return p.contact(
        wa_id=ZAINAB_PHONE,
        user_id=ZAINAB_BSUID,
        name=ZAINAB_NAME,
        username=ZAINAB_USERNAME,
        **options,
    )


def zainab_card():
    """Her contact card as WhatsApp sends it when someone shares it."""
    return {
        "name": {"formatted_name": ZAINAB_NAME, "first_name": "Zainab", "last_name": "Qurashi"},
        "phones": [{"phone": "+966 50 111 2233", "wa_id": ZAINAB_PHONE, "type": "CELL"}],
        "emails": [{"email": ZAINAB_EMAIL, "type": "HOME"}],
    }


def omar_contact():
    return p.contact(wa_id=OMAR_PHONE, name=OMAR_NAME)


@dataclass
class World:
    """What populate() delivered: the raw bodies (bytes, as Meta sent them) and rows."""

    bodies: dict = field(default_factory=dict)
    zainab_conversation: Conversation | None = None
    omar_conversation: Conversation | None = None
    upload_path: str = ""


def deliver(payload):
    raw = p.encode(payload)
    receive(raw)
    return raw


def populate(staff_user) -> World:
    world = World()
    world.bodies["zainab_only"] = deliver(
        p.envelope(
            p.value(
                contacts=[zainab_contact()],
                messages=[
                    p.text_message(
                        ZAINAB_TEXTS[0], wamid="wamid.Z1", sender=ZAINAB_PHONE,
                        sender_user_id=ZAINAB_BSUID, timestamp=minutes_ago(30),
                    )
                ],
            )
        )
    )  # fmt: skip
    world.bodies["batch"] = deliver(
        p.envelope(
            p.value(
                contacts=[zainab_contact(), omar_contact()],
                messages=[
                    p.media_message(
                        "image", caption=ZAINAB_TEXTS[1], wamid="wamid.Z2",
                        sender=ZAINAB_PHONE, timestamp=minutes_ago(29),
                    ),
                    p.text_message(
                        OMAR_TEXT, wamid="wamid.O1", sender=OMAR_PHONE,
                        timestamp=minutes_ago(29),
                    ),
                ],
            )
        )
    )  # fmt: skip
    # Omar shares her contact card, and writes her number: his messages, naming her.
    world.bodies["omar_mentions"] = deliver(
        p.envelope(
            p.value(
                contacts=[omar_contact()],
                messages=[
                    p.message(
                        "contacts", [zainab_card()], wamid="wamid.O2", sender=OMAR_PHONE,
                        timestamp=minutes_ago(29),
                    ),
                    p.text_message(
                        OMAR_MENTION, wamid="wamid.O3", sender=OMAR_PHONE,
                        timestamp=minutes_ago(29),
                    ),
                ],
            )
        )
    )  # fmt: skip
    world.bodies["edit"] = deliver(
        p.envelope(
            p.value(
                contacts=[zainab_contact()],
                messages=[
                    p.message(
                        "edit",
                        {
                            "original_message_id": "wamid.Z1",
                            "message": {"type": "text", "text": {"body": ZAINAB_TEXTS[2]}},
                        },
                        wamid="wamid.Z3", sender=ZAINAB_PHONE, timestamp=minutes_ago(28),
                    )
                ],
            )
        )
    )  # fmt: skip
    zainab = Conversation.objects.get(contact__wa_id=ZAINAB_PHONE)
    omar = Conversation.objects.get(contact__wa_id=OMAR_PHONE)
    world.zainab_conversation, world.omar_conversation = zainab, omar
    Conversation.objects.filter(pk=zainab.pk).update(assignee=staff_user)

    # Staff replies to both; Meta accepts them (wamids) and reports statuses.
    reply = queue_text_reply(zainab, staff_user, ZAINAB_TEXTS[3])
    Message.objects.filter(pk=reply.pk).update(wamid="wamid.OUTZ", status="sent")
    SendAttempt.objects.create(message=reply, number=1, requested_by=staff_user, outcome="accepted")
    omar_reply = queue_text_reply(omar, staff_user, "Hello Omar, we open at nine")
    Message.objects.filter(pk=omar_reply.pk).update(wamid="wamid.OUTO", status="sent")
    world.bodies["statuses"] = deliver(
        p.envelope(
            p.value(
                statuses=[
                    p.status("wamid.OUTZ", "delivered", recipient=ZAINAB_PHONE,
                             timestamp=minutes_ago(20)),
                    p.status("wamid.OUTO", "delivered", recipient=OMAR_PHONE,
                             timestamp=minutes_ago(20)),
                    # A status for a message we never recorded, to her number: unlinked.
                    p.status("wamid.LOST", "sent", recipient=ZAINAB_PHONE,
                             timestamp=minutes_ago(20)),
                ]
            )
        )
    )  # fmt: skip
    world.bodies["reaction"] = deliver(
        p.envelope(
            p.value(
                contacts=[zainab_contact()],
                messages=[
                    p.reaction_message(
                        "wamid.OUTZ", "🙏", wamid="wamid.Z4", sender=ZAINAB_PHONE,
                        timestamp=minutes_ago(19),
                    )
                ],
            )
        )
    )  # fmt: skip
    # An unlinked status whose wamid is one of her messages (linked later, or never).
    StatusEvent.objects.create(
        wamid="wamid.Z1", status="read", timestamp=minutes_ago(18), recipient_id=""
    )
    # An attachment waiting for the sending task to upload it.
    attachment = queue_media_message(
        zainab,
        staff_user,
        SimpleUploadedFile("form.png", f.png(), content_type="image/png"),
        caption=ZAINAB_TEXTS[4],
    )
    world.upload_path = attachment.data["upload"]
    # A background task whose arguments name her number (the console transport's statuses).
    simulate_status.enqueue(p.PHONE_NUMBER_ID, "wamid.OUTZ", ZAINAB_PHONE, "read")
    # A task that failed with an error quoting her number (arguments and result name nobody).
    DBTaskResult.objects.create(
        status=TaskResultStatus.FAILED,
        args_kwargs={"args": [reply.pk], "kwargs": {}},
        task_path="messaging.tasks.send_message",
        backend_name="default",
        run_after=timezone.now(),
        finished_at=timezone.now(),
        exception_class_path="builtins.ValueError",
        traceback=f'ValueError: "{ZAINAB_PHONE}" is not a WhatsApp account\n',
    )
    teamwork(zainab, omar, staff_user, reply)
    return world


def teamwork(zainab, omar, staff_user, reply):
    """What staff and automation keep about her conversation: notes (one naming her), a
    label, a priority, automation's records, a notification and a waiting alert; and a
    note on Omar's, which stays."""
    first = Message.objects.get(wamid="wamid.Z1")
    note = Note.objects.create(
        conversation=zainab,
        author=staff_user,
        text=f"{ZAINAB_NAME} asks us to call back on +{ZAINAB_PHONE}, @amina",
    )
    note.mentions.add(staff_user)
    record(zainab, Note.Event.ASSIGNED, person=staff_user.username, rule="Passports")
    add_label(zainab, Label.objects.create(name="Passport"), by=staff_user)
    add_label(omar, Label.objects.get(name="Passport"), by=staff_user)
    ConversationPriority.objects.create(conversation=zainab, level=ConversationPriority.Level.HIGH)
    AutomationRun.objects.create(message=first, outcome="routed by rule Passports")
    AutoReplyClaim.objects.create(conversation=zainab, kind="greeting", message=first, reply=reply)
    StaffNotification.objects.create(
        user=staff_user, kind=StaffNotification.Kind.ASSIGNED, conversation=zainab
    )
    WaitAlert.objects.create(conversation=zainab, waiting_since=first.timestamp)
    Note.objects.create(conversation=omar, author=staff_user, text=OMAR_NOTE)


def file_requests(staff_user):
    """Her earlier deletion request, rejected with a reason that names her, and an open one
    whose notes do: what staff really write there."""
    from messaging.models import Contact
    from privacy.models import DeletionRequest

    rejected = DeletionRequest.objects.create(
        phone=ZAINAB_PHONE,
        channel="phone",
        received_at=minutes_ago(60 * 24 * 40),
        status=DeletionRequest.Status.REJECTED,
        rejection_reason=f"The caller could not confirm being {ZAINAB_NAME}",
        handled_by=staff_user,
        completed_at=minutes_ago(60 * 24 * 39),
    )
    open_request = DeletionRequest.objects.create(
        contact=Contact.objects.get(user_id=ZAINAB_BSUID),
        user_id=ZAINAB_BSUID,
        channel="email",
        notes=f"{ZAINAB_NAME} wrote from her work address; her number is +{ZAINAB_PHONE}",
    )
    return rejected, open_request


def stored_uploads():
    try:
        return default_storage.listdir(OUTBOX_DIR)[1]
    except FileNotFoundError:
        return []


def rows_pointing_at(contacts, conversations, messages):
    """{(model label, field): how many rows} for every foreign key, in any model, to these
    contacts, conversations or messages (primary keys)."""
    from messaging.models import Contact

    targets = {Contact: set(contacts), Conversation: set(conversations), Message: set(messages)}
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        for key in model._meta.concrete_fields:
            if key.is_relation and key.related_model in targets:
                counts[(model._meta.label, key.name)] = model._base_manager.filter(
                    **{f"{key.name}__in": targets[key.related_model]}
                ).count()
    return counts


# Searching everything.

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def readable(value):
    """A column value as text a person would search: JSON decoded (so "\\u0628" and "\\/"
    escapes are undone), bytes decoded."""
    if value is None:
        return ""
    if isinstance(value, memoryview | bytes | bytearray):
        raw = bytes(value)
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            return raw.decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def traces(needles):
    """[(table, column, needle)] for every needle found in any text, JSON or binary column of
    any table (automatic many-to-many tables included), case-insensitively."""
    lowered = [needle.lower() for needle in needles]
    found = []
    for model in apps.get_models(include_auto_created=True):
        columns = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, TEXT_FIELDS) and not f.primary_key
        ]
        if not columns:
            continue
        for row in model._base_manager.values_list(*columns):
            for column, value in zip(columns, row, strict=True):
                text = readable(value).lower()
                found += [
                    (model._meta.db_table, column, needle)
                    for needle, low in zip(needles, lowered, strict=True)
                    if low in text
                ]
    for session in Session.objects.all():
        text = json.dumps(session.get_decoded(), ensure_ascii=False, default=str).lower()
        found += [
            ("session", "data", n) for n, low in zip(needles, lowered, strict=True) if low in text
        ]
    return found
