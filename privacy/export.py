"""Right of access: everything held about a person, as one JSON document.

`export_data()` builds it (contact records, conversations, every message with its text, data,
status and timestamps, status events, the raw webhook bodies that mention them — decoded, and
cut down to their own items so that no one else's data leaves with it — and their deletion
requests); `export_response()` wraps it as a download and records an AuditEvent(export).
The admin offers it as an action on contacts and on deletion requests, to staff with the
privacy.export_contact permission.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from messaging.models import Conversation, Message, StatusEvent, WebhookEvent
from privacy import audit
from privacy.erasure import BODY_CHUNK, find_person
from privacy.models import AuditEvent, DeletionRequest
from privacy.scrub import Person, decode_body, scrub_payload

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


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def export_data(contacts=(), *, phone="", user_id="") -> dict:
    """Everything held about the person who is `contacts` and/or has these ids."""
    found, ids = [], set()
    for contact in contacts or [None]:
        people, person_ids = find_person(contact, phone=phone, user_id=user_id)
        found += [c for c in people if all(c.pk != other.pk for other in found)]
        ids |= person_ids
    messages = Message.objects.order_by("timestamp", "pk").prefetch_related(
        Prefetch("status_events", queryset=StatusEvent.objects.order_by("timestamp", "pk"))
    )
    conversations = (
        Conversation.objects.filter(contact__in=found)
        .select_related("business_number")
        .prefetch_related(Prefetch("messages", queryset=messages))
        .order_by("pk")
    )
    wamids = set()
    exported_conversations = []
    for conversation in conversations:
        exported_messages = []
        for message in conversation.messages.all():
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
                "messages": exported_messages,
            }
        )
    wamids.discard(None)
    unlinked = StatusEvent.objects.filter(message__isnull=True).filter(
        Q(recipient_id__in=ids) | Q(wamid__in=wamids)
    )
    parents = {contact.parent_user_id for contact in found} - {""}
    person = Person(ids=ids | parents, wamids=wamids)
    request_query = Q(contact__in=found)
    if ids:
        request_query |= Q(phone__in=ids) | Q(user_id__in=ids)
    return {
        "format": FORMAT,
        "exported_at": timezone.now(),
        "contacts": [
            {"id": contact.pk} | _fields(contact, CONTACT_FIELDS + CONTACT_TIMES)
            for contact in found
        ],
        "conversations": exported_conversations,
        "unlinked_status_events": [
            _fields(event, STATUS_FIELDS) for event in unlinked.order_by("timestamp", "pk")
        ],
        "webhook_bodies": list(_bodies(person)) if person else [],
        "deletion_requests": [
            {"id": request.pk} | _fields(request, REQUEST_FIELDS)
            for request in DeletionRequest.objects.filter(request_query).order_by("received_at")
        ],
    }


def _bodies(person):
    """The raw webhook bodies that mention the person, decoded, with only their items."""
    rows = WebhookEvent.objects.order_by("pk").values_list("pk", "received_at", "body")
    for pk, received_at, body in rows.iterator(BODY_CHUNK):
        payload = decode_body(body)
        if payload is None:
            continue
        mine = scrub_payload(payload, person, keep_person=True)
        if mine is not None:
            yield {"id": pk, "received_at": received_at, "body": mine}


def count_messages(data) -> int:
    return sum(len(conversation["messages"]) for conversation in data["conversations"])


def export_response(request, contacts=(), *, phone="", user_id="", subject=None):
    """A JSON download of `export_data()`, recorded in the audit log (counts, no content).

    `subject`: what the audit entry names (a contact or deletion request instance)."""
    data = export_data(contacts, phone=phone, user_id=user_id)
    audit.record(
        AuditEvent.Action.EXPORT,
        actor=request.user,
        obj=subject,
        details={
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
