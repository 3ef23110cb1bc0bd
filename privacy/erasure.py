"""Erasure: everything held about one person, hard-deleted in one transaction, leaving only
keyed-hash tombstones of their ids (policy section 7).

`erase_contact()` is the one way to do it (the admin's "Erase data" action and `manage.py
erase_contact` both call it); `preview_erasure()` counts what it would delete, with the same
code, for the confirmation page. Both find the person by phone number and/or business-scoped
user id (either is enough; two records not yet linked are both this person).

What goes, per kind (the keys of the counts): see KINDS — their contact records and
everything that hangs off them: conversations with their assignment, notes, labels and
priority, messages, statuses, and automation's and the outbox's records of them. Raw webhook
bodies that mention the person are found by decoding every stored body: a body that
mentions only them is deleted; a batch that also mentions others is rewritten without their
items (privacy.mentions.remove_person) and its body_sha256 recomputed.

Other people's messages that name them (Omar shares her contact card, or writes her number)
stay, without her: the card is replaced by an anonymous one and her numbers and user ids in
the text are removed, in the message rows and in the raw bodies alike (privacy.mentions says
exactly what is and is not recognised; her name in someone else's free text is not).
Files of outbound attachments still waiting to upload are deleted after the commit (never
before: a rolled-back erasure must not lose them). Inbound media is never stored here (the
inbox streams it from Meta: inbox.views_media), so there is no media cache to clear.
"""

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise
from django_tasks_db.models import DBTaskResult

from automation.models import (
    AutomationRun,
    AutoReplyClaim,
    ConversationLabel,
    ConversationPriority,
    Note,
    StaffNotification,
    WaitAlert,
)
from messaging.locks import hold_for_erasing
from messaging.models import (
    Contact,
    Conversation,
    InboxChange,
    Message,
    SendAttempt,
    StatusEvent,
    WebhookEvent,
)
from messaging.parser import is_bsuid
from messaging.querysets import Viewer
from messaging.uploads import discard_upload
from privacy import audit
from privacy.mentions import Mentions, remove_person
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone
from privacy.scrub import Person, id_hash, normalise_id

# What erasure deletes, in the order it is listed to people (keys are stored in
# DeletionRequest.erased).
KINDS = {
    "contacts": _("Contact records (number, user id, username, name)"),
    "conversations": _("Conversations"),
    "assignments": _("Conversation assignments"),
    "notes": _("Internal notes and automation records in their conversations"),
    "labels": _("Labels on their conversations"),
    "priorities": _("Conversation priorities"),
    "messages": _("Messages (content and metadata)"),
    "reactions": _("Reactions"),
    "status_events": _("Delivery status events"),
    "send_attempts": _("Send attempts"),
    "inbox_changes": _("Inbox change records"),
    "automation_runs": _("Automation runs on their messages"),
    "auto_reply_claims": _("Records of automatic replies sent to them"),
    "staff_notifications": _("Staff notifications about their conversations"),
    "wait_alerts": _("Waiting-time alerts about their conversations"),
    "media_uploads": _("Attachment files waiting to upload"),
    "mentions": _("Other people's messages that named them (their card or number removed)"),
    "webhook_bodies_deleted": _("Raw webhook bodies deleted"),
    "webhook_bodies_rewritten": _("Raw webhook bodies rewritten without this person"),
    "task_results": _("Background task records naming them"),
}
# Bodies are decoded this many at a time while looking for a person (each up to 3 MB).
BODY_CHUNK = 50


def kind_rows(counts: Mapping[str, int]) -> list[tuple[StrOrPromise, int]]:
    """(label, count) pairs in KINDS order, for templates and messages."""
    return [(label, counts.get(key, 0)) for key, label in KINDS.items()]


def split_identifier(value: str) -> tuple[str, str]:
    """A phone number or BSUID typed by a person → (phone, user_id), normalised."""
    normalised = normalise_id(value)
    return ("", normalised) if is_bsuid(normalised) else (normalised, "")


@dataclass
class ErasurePlan:
    """Who is to be erased and what of theirs exists, computed before anything is deleted."""

    ids: set[str]  # their phone numbers and BSUIDs, normalised: what the tombstones hash
    contacts: list[Contact]
    person: Person  # ids (with parent BSUIDs) and wamids: finds them in raw bodies
    # (pk, "delete" | "rewrite", new bytes | None)
    bodies: list[tuple[int, str, bytes | None]] = field(default_factory=list)
    task_result_ids: list[Any] = field(default_factory=list)
    # (pk, text, data) of others' messages
    mentions: list[tuple[int, str, Any]] = field(default_factory=list)

    @property
    def contact_pks(self) -> list[int]:
        return [contact.pk for contact in self.contacts]

    def querysets(self) -> list[tuple[str, QuerySet[Any]]]:
        """(kind, queryset) in the order rows are deleted (children first)."""
        conversations = Conversation.objects.filter(contact__in=self.contact_pks)
        messages = Message.objects.filter(conversation__in=conversations)
        ids = sorted(self.ids)
        statuses = StatusEvent.objects.filter(
            Q(message__in=messages)
            | Q(message__isnull=True, wamid__in=messages.exclude(wamid=None).values("wamid"))
            | Q(recipient_id__in=ids)
        )
        in_conversations = Q(conversation__in=conversations)
        return [
            ("status_events", statuses),
            ("inbox_changes", InboxChange.objects.filter(in_conversations)),
            ("send_attempts", SendAttempt.objects.filter(message__in=messages)),
            ("automation_runs", AutomationRun.objects.filter(message__in=messages)),
            ("auto_reply_claims", AutoReplyClaim.objects.filter(in_conversations)),
            ("staff_notifications", StaffNotification.objects.filter(in_conversations)),
            ("wait_alerts", WaitAlert.objects.filter(in_conversations)),
            # With their @mentions of staff (the notes' many-to-many rows).
            ("notes", Note.objects.filter(in_conversations)),
            ("labels", ConversationLabel.objects.filter(in_conversations)),
            ("priorities", ConversationPriority.objects.filter(in_conversations)),
            ("reactions", messages.filter(type="reaction")),
            ("messages", messages),
            ("conversations", conversations),
            ("contacts", Contact.objects.filter(pk__in=self.contact_pks)),
        ]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        querysets = dict(self.querysets())
        for kind, queryset in querysets.items():
            counts[kind] = queryset.count()
        counts["messages"] -= counts["reactions"]
        counts["assignments"] = querysets["conversations"].filter(assignee__isnull=False).count()
        counts["media_uploads"] = querysets["messages"].filter(data__has_key="upload").count()
        counts["webhook_bodies_deleted"] = sum(1 for _pk, a, _b in self.bodies if a == "delete")
        counts["webhook_bodies_rewritten"] = sum(1 for _pk, a, _b in self.bodies if a == "rewrite")
        counts["task_results"] = len(self.task_result_ids)
        counts["mentions"] = len(self.mentions)
        return counts


def find_person(
    contact: Contact | None = None, *, phone: str = "", user_id: str = ""
) -> tuple[list[Contact], set[str]]:
    """(contacts, ids): every contact record holding one of the given ids (or `contact`),
    and all their ids (phone numbers and BSUIDs, normalised)."""
    ids = {normalise_id(phone), normalise_id(user_id)} - {""}
    if contact is not None:
        ids |= {value for value in (contact.wa_id, contact.user_id) if value}
    contacts: list[Contact] = []
    if ids:
        contacts = list(
            Contact.objects.filter(Q(wa_id__in=ids) | Q(user_id__in=ids)).order_by("pk")
        )
    if contact is not None and contact.pk and all(c.pk != contact.pk for c in contacts):
        contacts += list(Contact.objects.filter(pk=contact.pk))
    for found in contacts:
        ids |= {value for value in (found.wa_id, found.user_id) if value}
    return contacts, ids


def reaches_beyond(
    user: Viewer, contact: Contact | None = None, *, phone: str = "", user_id: str = ""
) -> bool:
    """Whether the person (as `find_person` finds them) wrote to a business number outside
    `user`'s number scope (never, for someone who sees every number). Erasure takes them off
    every number, so then only someone who sees every number may erase them
    (privacy.admin.DeletionRequestAdmin)."""
    contacts, _ids = find_person(contact, phone=phone, user_id=user_id)
    theirs = Conversation.objects.filter(contact__in=contacts)
    return theirs.exclude(pk__in=theirs.visible_to(user).values("pk")).exists()


def plan_erasure(
    contact: Contact | None = None, *, phone: str = "", user_id: str = "", lock: bool = False
) -> ErasurePlan:
    """Find the person and everything of theirs: the shared first half of a dry run and of
    the real erasure. `lock` (inside a transaction) locks their contact rows."""
    contacts, ids = find_person(contact, phone=phone, user_id=user_id)
    if lock and contacts:
        contacts = list(Contact.objects.select_for_update().filter(pk__in=[c.pk for c in contacts]))
    wamids = set(
        Message.objects.filter(conversation__contact__in=contacts)
        .exclude(wamid=None)
        .values_list("wamid", flat=True)
    )
    parents = {c.parent_user_id for c in contacts} - {""}
    person = Person(ids=ids | parents, wamids=cast(set[str], wamids))  # no None: excluded
    plan = ErasurePlan(ids=ids, contacts=contacts, person=person)
    if plan.person:
        plan.bodies = list(_body_changes(plan))
        plan.task_result_ids = _task_results(plan.person)
        plan.mentions = _mentions(plan)
    return plan


def _mentions(plan: ErasurePlan) -> list[tuple[int, str, Any]]:
    """Other people's messages that name the person (privacy.mentions): (pk, text, data)
    as they become. The database narrows them down (contact cards, and texts holding one of
    their numbers or user ids); each is then checked and rewritten here."""
    mentions = Mentions(plan.person)
    if not mentions:
        return []
    query = Q(type="contacts")
    for regex in mentions.phone_regexes:
        query |= Q(text__regex=regex)
    for bsuid in mentions.bsuids:
        query |= Q(text__contains=bsuid) | Q(data__icontains=bsuid)
    candidates = (
        Message.objects.filter(query)
        .exclude(conversation__contact__in=plan.contact_pks)
        .order_by("pk")
        .values_list("pk", "text", "data")
    )
    changes = []
    for pk, text, data in candidates.iterator(BODY_CHUNK):
        redacted = mentions.redact_message(text, data)
        if redacted is not None:
            changes.append((pk, *redacted))
    return changes


def _body_changes(plan: ErasurePlan) -> Iterator[tuple[int, str, bytes | None]]:
    """Each stored webhook body that names the person: (pk, "delete"|"rewrite", new bytes).

    Every stored body is decoded and searched, those linked to them by WebhookEvent.contacts
    included: the link alone would miss bodies whose items failed to apply, bodies stored
    before the contact existed, and bodies from a number they no longer have. A rewrite that
    would make a body identical to another stored one deletes it instead (one copy is enough).
    """
    changes = []
    for pk, body in (
        WebhookEvent.objects.order_by("pk").values_list("pk", "body").iterator(BODY_CHUNK)
    ):
        action, new_body = remove_person(body, plan.person)
        if action != "keep":
            changes.append((pk, action, new_body))
    affected = {pk for pk, _action, _body in changes}
    digests = {}
    for pk, _action, new_body in changes:
        if new_body is not None:  # a rewrite
            digests[pk] = hashlib.sha256(new_body).hexdigest()
    taken = set(
        WebhookEvent.objects.filter(body_sha256__in=set(digests.values()))
        .exclude(pk__in=affected)
        .values_list("body_sha256", flat=True)
    )
    for pk, action, new_body in changes:
        if action == "rewrite" and digests[pk] in taken:
            action, new_body = "delete", None
        elif action == "rewrite":
            taken.add(digests[pk])
        yield pk, action, new_body


def _task_results(person: Person) -> list[Any]:
    """Background task records that name the person (one of their ids or message ids) in
    their arguments, their result or the traceback of their failure (e.g. a simulated status
    for their number, an error quoting it): found by a text search, confirmed on the decoded
    JSON or in the traceback's text. Any status: a task still waiting that names them would
    bring the name back."""
    values = person.ids | person.wamids
    if not values:
        return []
    query = Q()
    for value in values:
        query |= (
            Q(args_kwargs__icontains=value)
            | Q(return_value__icontains=value)
            | Q(traceback__contains=value)
        )
    return [
        pk
        for pk, args, result, traceback in DBTaskResult.objects.filter(query).values_list(
            "pk", "args_kwargs", "return_value", "traceback"
        )
        if person.is_mentioned_in(args)
        or person.is_mentioned_in(result)
        or any(value in traceback for value in values)
    ]


def preview_erasure(
    contact: Contact | None = None, *, phone: str = "", user_id: str = ""
) -> dict[str, int]:
    """What `erase_contact()` with the same arguments would delete, as counts per kind.
    Deletes nothing."""
    return plan_erasure(contact, phone=phone, user_id=user_id).counts()


def erase_contact(
    contact: Contact | None = None,
    *,
    phone: str = "",
    user_id: str = "",
    deletion_request: DeletionRequest | None = None,
    actor: User | None = None,
    actor_name: str = "",
) -> dict[str, int]:
    """Erase everything held about a person, in one transaction; return counts per kind.

    The person: `contact` and/or a phone number and/or a BSUID (any is enough). Leaves one
    ErasureTombstone per id (keyed hash, with the time, `deletion_request` and `actor`), so
    webhooks Meta redelivers afterwards are recognised and dropped (messaging.ingest).
    `actor` is the staff account that erased; `actor_name` names whoever it was when there
    is none (e.g. "root (command line)"), for the request and the audit log.
    With `deletion_request`, completes it: status, completed_at, handled_by, erased counts,
    and its phone, BSUID and notes cleared (afterwards only the tombstone hashes link it to
    the person); other requests of the same person lose their ids and free text too, and
    open ones are completed with it. Retention deletes these records, and the tombstones,
    RETENTION_DELETION_REQUESTS_DAYS after the erasure (privacy.retention).
    Idempotent: erasing again deletes nothing more; a completed request is left as it is.
    An unknown person erases nothing but still gets tombstones for the ids given.
    """
    if deletion_request is not None and deletion_request.status == DeletionRequest.Status.COMPLETED:
        return {**dict.fromkeys(KINDS, 0), **deletion_request.erased}
    with transaction.atomic():
        hold_for_erasing()  # waits for webhook bodies being applied, holds back the next
        now = timezone.now()
        plan = plan_erasure(contact, phone=phone, user_id=user_id, lock=True)
        counts = plan.counts()
        handler = Handler(actor, actor_name or (actor.get_username() if actor else ""))
        _close_requests(plan, deletion_request, handler, counts, now)
        _delete(plan)
        for digest in sorted({id_hash(value) for value in plan.ids} - {""}):
            ErasureTombstone.objects.update_or_create(
                id_hash=digest,
                deletion_request=deletion_request,
                defaults={"actor": actor, "erased_at": now},
            )
        # Counts only: the audit log outlives the person and must not name them.
        audit.record(
            AuditEvent.Action.ERASE,
            actor=actor,
            actor_name=handler.name,
            obj=deletion_request,
            details=counts,
        )
    return counts


def _delete(plan: ErasurePlan) -> None:
    uploads = list(
        Message.objects.filter(conversation__contact__in=plan.contact_pks, data__has_key="upload")
        .only("pk", "data")
        .order_by("pk")
    )
    for pk, _action, new_body in plan.bodies:
        if new_body is None:  # a deletion
            WebhookEvent.objects.filter(pk=pk).delete()
        else:
            WebhookEvent.objects.filter(pk=pk).update(
                body=new_body, body_sha256=hashlib.sha256(new_body).hexdigest()
            )
    DBTaskResult.objects.filter(pk__in=plan.task_result_ids).delete()
    for pk, text, data in plan.mentions:
        Message.objects.filter(pk=pk).update(text=text, data=data)
    for _kind, queryset in plan.querysets():
        queryset.delete()
    for message in uploads:
        # The file leaves only once the rows are gone for good.
        transaction.on_commit(partial(discard_upload, message))


@dataclass(frozen=True)
class Handler:
    """Who handled a deletion request: a staff account and/or a name."""

    user: User | None
    name: str

    def mark(self, request: DeletionRequest) -> None:
        request.handled_by = self.user
        request.handled_by_name = self.name


def _close_requests(
    plan: ErasurePlan,
    deletion_request: DeletionRequest | None,
    handler: Handler,
    counts: dict[str, int],
    now: datetime,
) -> None:
    """Leave every deletion request of the person a neutral record: their ids and the free
    text about them (notes, a rejection's reason: staff write names and numbers there) go;
    dates, channel, handler, status and counts stay. Open requests are completed with this
    erasure; a rejected one stays rejected, its reason replaced by a neutral one."""
    query = Q(contact__in=plan.contact_pks)
    if plan.ids:
        query |= Q(phone__in=plan.ids) | Q(user_id__in=plan.ids)
    others = DeletionRequest.objects.filter(query)
    if deletion_request is not None:
        others = others.exclude(pk=deletion_request.pk)
        fulfilled = _("Fulfilled by the erasure for deletion request #%(pk)s.") % {
            "pk": deletion_request.pk
        }
    else:
        fulfilled = ""
    for other in others:
        _forget_requester(other)
        if other.is_open:
            other.status = DeletionRequest.Status.COMPLETED
            other.completed_at = now
            handler.mark(other)
            other.notes = fulfilled
        elif other.status == DeletionRequest.Status.REJECTED:
            other.rejection_reason = str(_("Removed when this person's data was erased."))
        other.save()
    if deletion_request is not None:
        deletion_request.status = DeletionRequest.Status.COMPLETED
        deletion_request.completed_at = now
        handler.mark(deletion_request)
        deletion_request.erased = counts
        _forget_requester(deletion_request)
        deletion_request.save()


def _forget_requester(request: DeletionRequest) -> None:
    request.phone = request.user_id = request.notes = ""
    request.contact = None
