"""Right of access: everything held about a person, as one JSON document.

`export_data()` builds it (contact records; conversations with their assignee, priority,
labels, internal notes and automation's records of them; every message with its text, data,
status and timestamps; status events; the raw webhook bodies that mention them — decoded, and
cut down to their own items so that no one else's data leaves with it — and their deletion
requests). Staff appear by username (assignee, note authors): the privacy officer reviews
the file before handing it over. `export_response()` wraps it as a download and records an
AuditEvent(export).
The admin offers it as an action on contacts and on deletion requests, to staff with the
privacy.export_contact permission. Staff limited to some business numbers export what those
numbers hold, and the file says so (`scope`).
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext

from automation.models import (
    AutomationRun,
    AutoReplyClaim,
    ConversationLabel,
    ConversationPriority,
    Note,
    StaffNotification,
    WaitAlert,
)
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    StatusEvent,
    WebhookEvent,
)
from messaging.querysets import Viewer
from privacy import audit
from privacy.erasure import BODY_CHUNK, find_person
from privacy.mentions import redact_payload
from privacy.models import AuditEvent, DeletionRequest
from privacy.scrub import Person, decode_body, scrub_payload
from staff.models import StaffProfile

FORMAT = "waba-alqalam-access-export/1"

CONTACT_FIELDS = ["wa_id", "user_id", "parent_user_id", "username", "profile_name"]
CONTACT_TIMES = ["created_at", "updated_at"]
MESSAGE_FIELDS = [
    "wamid", "direction", "type", "timestamp", "text", "data", "reply_to_wamid",
    "target_wamid", "status", "status_at", "error_code", "error_title", "error_details",
    "reactions", "edited_at", "revoked_at", "created_at",
]  # fmt: skip
STATUS_FIELDS = [
    "wamid", "status", "timestamp", "recipient_id", "conversation_info", "pricing", "errors",
    "received_at",
]  # fmt: skip
REQUEST_FIELDS = [
    "channel", "received_at", "status", "rejection_reason", "completed_at", "phone", "user_id",
]  # fmt: skip


def _fields(obj: Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def export_data(
    contacts: Sequence[Contact] = (), *, viewer: Viewer, phone: str = "", user_id: str = ""
) -> dict[str, Any]:
    """Everything held about the person who is `contacts` and/or has these ids, as far as
    `viewer` may see it (each part narrowed by its model's `visible_to`).

    With every business number, all of it. Limited to some numbers (privacy officers: see
    privacy.admin.DeletionRequestAdmin), what those numbers hold: the person's contact
    records seen through them, their conversations there, and the deletion requests the
    viewer may see; raw webhook bodies (a batch may mix numbers) and status events linked to
    no message (of no number anyone can tell) are left out. `scope` says which it is, and
    which numbers the export covers.
    """
    found: list[Contact] = []
    ids: set[str] = set()
    given: Sequence[Contact | None] = contacts or [None]
    for contact in given:
        people, person_ids = find_person(contact, phone=phone, user_id=user_id)
        found += [c for c in people if all(c.pk != other.pk for other in found)]
        ids |= person_ids
    seen = set(
        Contact.objects.visible_to(viewer)
        .filter(pk__in=[contact.pk for contact in found])
        .values_list("pk", flat=True)
    )
    found = [contact for contact in found if contact.pk in seen]
    messages = Message.objects.order_by("timestamp", "pk").prefetch_related(
        Prefetch("status_events", queryset=StatusEvent.objects.order_by("timestamp", "pk"))
    )
    conversations = (
        Conversation.objects.visible_to(viewer)
        .filter(contact__in=found)
        .select_related("business_number", "assignee", "priority")
        .prefetch_related(
            Prefetch("messages", queryset=messages),
            Prefetch(
                "label_links",
                queryset=ConversationLabel.objects.select_related("label", "added_by").order_by(
                    "added_at", "pk"
                ),
            ),
            Prefetch(
                "notes",
                queryset=Note.objects.select_related("author").order_by("created_at", "pk"),
            ),
            Prefetch("auto_reply_claims", queryset=AutoReplyClaim.objects.order_by("pk")),
        )
        .order_by("pk")
    )
    automation = _automation_records(conversations)
    wamids: set[str] = set()
    exported_conversations = []
    for conversation in conversations:
        exported_messages = []
        for message in conversation.messages.all():
            if message.wamid is not None:
                wamids.add(message.wamid)
            data = {key: value for key, value in message.data.items() if key != "upload"}
            exported_messages.append(
                _fields(message, MESSAGE_FIELDS)
                | {
                    "data": data,
                    "status_events": [
                        _fields(event, STATUS_FIELDS) for event in message.status_events.all()
                    ],
                }
            )
        exported_conversations.append(
            {
                "contact_id": conversation.contact_id,
                "business_number": conversation.business_number.display_phone_number
                or conversation.business_number.phone_number_id,
                "state": conversation.state,
                "created_at": conversation.created_at,
                "last_message_at": conversation.last_message_at,
                "last_inbound_at": conversation.last_inbound_at,
                "assignee": _username(conversation.assignee),
                "priority": _priority(conversation),
                "labels": [
                    {
                        "name": link.label.name,
                        "added_at": link.added_at,
                        "added_by": _username(link.added_by),
                    }
                    for link in conversation.label_links.all()
                ],
                "notes": [
                    {
                        "kind": note.kind,
                        "text": note.describe(),
                        "event": note.event,
                        "author": _username(note.author),
                        "created_at": note.created_at,
                    }
                    for note in conversation.notes.all()
                ],
                "automatic_replies": [
                    {"kind": claim.kind, "created_at": claim.created_at}
                    for claim in conversation.auto_reply_claims.all()
                ],
                **automation.get(conversation.pk, {key: [] for key in AUTOMATION_KEYS}),
                "messages": exported_messages,
            }
        )
    unlinked = (
        StatusEvent.objects.visible_to(viewer)
        .filter(message__isnull=True)
        .filter(Q(recipient_id__in=ids) | Q(wamid__in=wamids))
    )
    parents = {contact.parent_user_id for contact in found} - {""}
    person = Person(ids=ids | parents, wamids=wamids)
    request_query = Q(contact__in=found)
    if ids:
        request_query |= Q(phone__in=ids) | Q(user_id__in=ids)
    return {
        "format": FORMAT,
        "exported_at": timezone.now(),
        "scope": _scope(viewer),
        "contacts": [
            {"id": contact.pk} | _fields(contact, CONTACT_FIELDS + CONTACT_TIMES)
            for contact in found
        ],
        "conversations": exported_conversations,
        "unlinked_status_events": [
            _fields(event, STATUS_FIELDS) for event in unlinked.order_by("timestamp", "pk")
        ],
        "webhook_bodies": list(_bodies(person, viewer)) if person else [],
        "deletion_requests": [
            {"id": request.pk} | _fields(request, REQUEST_FIELDS)
            for request in DeletionRequest.objects.visible_to(viewer)
            .filter(request_query)
            .order_by("received_at")
        ],
    }


def _scope(viewer: Viewer) -> dict[str, Any]:
    """Whether the export holds everything, and the business numbers it covers."""
    numbers = BusinessNumber.objects.visible_to(viewer).order_by("pk")
    scope: dict[str, Any] = {
        "complete": StaffProfile.objects.number_scope(viewer) is None,
        "business_numbers": [n.display_phone_number or n.phone_number_id for n in numbers],
    }
    if not scope["complete"]:
        scope["note"] = gettext(
            "Partial: only what the business numbers listed hold about this person. Anything "
            "they sent to other numbers, raw webhook bodies and delivery statuses not linked "
            "to a message are left out; someone who handles every number can export it all."
        )
    return scope


AUTOMATION_KEYS = ("automation_runs", "staff_notifications", "waiting_alerts")


def _automation_records(
    conversations: QuerySet[Conversation],
) -> dict[int | None, dict[str, list[dict[str, Any]]]]:
    """{conversation pk: automation's records about it} (models without a reverse accessor),
    three queries whatever the number of conversations."""
    records: dict[int | None, dict[str, list[dict[str, Any]]]] = {}

    def add(pk: int | None, key: str, item: dict[str, Any]) -> None:
        records.setdefault(pk, {k: [] for k in AUTOMATION_KEYS})[key].append(item)

    for run in (
        AutomationRun.objects.filter(message__conversation__in=conversations)
        .select_related("message")
        .order_by("ran_at", "pk")
    ):
        add(
            run.message.conversation_id,
            "automation_runs",
            {"message": run.message.wamid, "ran_at": run.ran_at, "outcome": run.outcome},
        )
    for notification in StaffNotification.objects.filter(conversation__in=conversations).order_by(
        "created_at", "pk"
    ):
        add(
            notification.conversation_id,
            "staff_notifications",
            {
                "kind": notification.kind,
                "status": notification.status,
                "created_at": notification.created_at,
                "sent_at": notification.sent_at,
            },
        )
    for alert in WaitAlert.objects.filter(conversation__in=conversations).order_by("pk"):
        add(
            alert.conversation_id,
            "waiting_alerts",
            {"waiting_since": alert.waiting_since, "created_at": alert.created_at},
        )
    return records


def _username(user: AbstractBaseUser | None) -> str | None:
    return user.get_username() if user is not None else None


def _priority(conversation: Conversation) -> str:
    try:
        level = conversation.priority.level
    except ConversationPriority.DoesNotExist:
        level = ConversationPriority.Level.NORMAL
    return str(ConversationPriority.Level(level).label)


def _bodies(person: Person, viewer: Viewer) -> Iterator[dict[str, Any]]:
    """The raw webhook bodies that mention the person, decoded, with only their items."""
    events = WebhookEvent.objects.visible_to(viewer).order_by("pk")
    rows = events.values_list("pk", "received_at", "body")
    for pk, received_at, body in rows.iterator(BODY_CHUNK):
        payload = decode_body(body)
        if payload is None:
            continue
        # Other people's messages that name them (a shared contact card) are not theirs:
        # without the mention they no longer count as the person's items.
        mine = scrub_payload(redact_payload(payload, person), person, keep_person=True)
        if mine is not None:
            yield {"id": pk, "received_at": received_at, "body": mine}


def count_messages(data: dict[str, Any]) -> int:
    return sum(len(conversation["messages"]) for conversation in data["conversations"])


def export_response(
    request: HttpRequest,
    contacts: Sequence[Contact] = (),
    *,
    phone: str = "",
    user_id: str = "",
    subject: Model | None = None,
) -> HttpResponse:
    """A JSON download of `export_data()`, recorded in the audit log (counts, no content).

    `subject`: what the audit entry names (a contact or deletion request instance)."""
    data = export_data(contacts, viewer=request.user, phone=phone, user_id=user_id)
    audit.record(
        AuditEvent.Action.EXPORT,
        actor=request.user,
        obj=subject,
        details={
            "complete": data["scope"]["complete"],
            "contacts": len(data["contacts"]),
            "messages": count_messages(data),
            "webhook_bodies": len(data["webhook_bodies"]),
        },
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    # No phone number or name in the file name: it ends up in download folders and logs.
    name = f"access-export-{stamp}.json"
    if subject is not None:
        name = f"access-export-{subject._meta.model_name}-{subject.pk}-{stamp}.json"
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response
