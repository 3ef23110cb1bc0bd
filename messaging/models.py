"""WhatsApp's data as the inbox keeps it, and the rules every writer of it shares.

Over 500 lines for a reason: the rules that keep these rows consistent live on them and lean
on each other (a conversation's counters on a message's kinds, a status event on a message's
status ranks), and they are read together; split, each part would import the others.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from messaging.account_health.models import AccountEvent  # noqa: F401 - part of the app's models
from messaging.db import db_safe
from messaging.events import InboundMessage, StatusUpdate
from messaging.health import WorkerHeartbeat  # noqa: F401 - part of the app's models
from messaging.phones import format_phone, phone_digits
from messaging.querysets import (
    BusinessNumberQuerySet,
    ContactQuerySet,
    ConversationQuerySet,
    InboxChangeQuerySet,
    MessageQuerySet,
    StatusEventQuerySet,
    WebhookEventQuerySet,
)

# Free-form messages may be sent only within 24 hours of the customer's last message.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
# Meta reports "sent" within seconds of accepting a message, and a late webhook (after our
# downtime) usually within minutes. An unconfirmed message with no word after this long most
# likely never reached Meta: staff may then choose to send it again (messaging.tasks).
UNCONFIRMED_SEND_AGAIN_AFTER = timedelta(minutes=15)


def window_remaining(
    last_inbound_at: datetime | None, now: datetime | None = None
) -> timedelta | None:
    """Time left to send free-form messages: 24 hours from the customer's latest message.
    None when the window is closed (it closes at exactly 24 hours) or was never opened."""
    if last_inbound_at is None:
        return None
    now = now or timezone.now()
    remaining = last_inbound_at + CUSTOMER_SERVICE_WINDOW - now
    if remaining <= timedelta(0):
        return None
    # A timestamp from the future (clock skew) must not promise more than a full window.
    return min(remaining, CUSTOMER_SERVICE_WINDOW)


class BusinessNumber(models.Model):
    """One of the organisation's WhatsApp business phone numbers, registered on first sight."""

    phone_number_id = models.CharField(_("phone number id"), max_length=64, unique=True)
    display_phone_number = models.CharField(_("display number"), max_length=32, blank=True)
    waba_id = models.CharField(_("WhatsApp Business Account id"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    # Set when Meta rejects the access token (code 190): nothing is sent from this number
    # until staff replace the token and resume sending.
    sending_paused_at = models.DateTimeField(_("sending paused at"), null=True, blank=True)
    paused_reason = models.CharField(_("why sending is paused"), max_length=255, blank=True)
    # Outbound pacing: the earliest moment the next message from this number may go out.
    next_send_slot = models.DateTimeField(null=True, blank=True, editable=False)

    objects = BusinessNumberQuerySet.as_manager()

    class Meta:
        verbose_name = _("business number")
        verbose_name_plural = _("business numbers")
        ordering = ["display_phone_number"]
        constraints = [
            # A webhook value without metadata must not register a nameless number that
            # every such body would then share.
            models.CheckConstraint(
                condition=~Q(phone_number_id=""), name="business_number_id_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.display_phone_number or self.phone_number_id

    def is_called(self, sender: str) -> bool:
        """Whether a webhook's `sender` (a message's `from`) is this number: named by its
        phone number id, or by its display number however either is written."""
        digits = phone_digits(sender)
        return bool(digits) and digits in {
            self.phone_number_id,
            phone_digits(self.display_phone_number),
        }


class Contact(models.Model):
    """A WhatsApp user, known by phone (wa_id), by business-scoped user id (user_id), or both.

    Either id finds the contact; when a payload pairs them, the two are linked (and records
    that arrived separately are merged, see messaging.contacts).
    """

    # NULL, not "", when absent: each id is unique among the contacts that have one.
    wa_id = models.CharField(_("WhatsApp number"), max_length=32, null=True, blank=True)  # noqa: DJ001
    user_id = models.CharField(  # noqa: DJ001
        _("business-scoped user id"), max_length=160, null=True, blank=True
    )
    parent_user_id = models.CharField(_("parent user id"), max_length=160, blank=True)
    username = models.CharField(_("username"), max_length=100, blank=True)
    profile_name = models.CharField(_("profile name"), max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["wa_id"], condition=Q(wa_id__isnull=False), name="contact_unique_wa_id"
            ),
            models.UniqueConstraint(
                fields=["user_id"],
                condition=Q(user_id__isnull=False),
                name="contact_unique_user_id",
            ),
            models.CheckConstraint(
                condition=Q(wa_id__isnull=False) | Q(user_id__isnull=False),
                name="contact_has_an_id",
            ),
            # Empty strings would defeat the uniqueness above: absent ids are NULL.
            models.CheckConstraint(
                condition=~Q(wa_id="") & ~Q(user_id=""), name="contact_ids_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.profile_name:
            return self.profile_name
        if self.username:
            return f"@{self.username.removeprefix('@')}"
        if self.wa_id:
            return format_phone(self.wa_id)  # "+966 50 123 4567"
        # Never empty once stored (contact_has_an_id); "" only for an unsaved contact.
        return self.user_id or ""


class Conversation(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    business_number = models.ForeignKey(
        BusinessNumber, on_delete=models.PROTECT, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    # Denormalised for the inbox list, which must not look at messages to render a row.
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Meta's timestamp of the newest inbound message: the 24-hour customer-service window.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        permissions = [
            ("reply_conversation", _("Can reply in conversations")),
            ("assign_conversation", _("Can assign conversations to anyone")),
            ("close_any_conversation", _("Can close and reopen any conversation")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["business_number", "contact"], name="conversation_unique_per_contact"
            ),
        ]
        indexes = [
            # The inbox list: newest activity first, keyset-paginated on (time, id).
            models.Index(fields=["-last_message_at", "-id"], name="conversation_activity_idx"),
            # The list as it opens (inbox.services.conversation_page, state "open" or
            # "closed"): `WHERE state = %s AND last_message_at IS NOT NULL ORDER BY
            # last_message_at DESC, id DESC LIMIT 31`, read in order without skipping rows.
            models.Index(
                fields=["state", "-last_message_at", "-id"],
                condition=Q(last_message_at__isnull=False),
                name="conversation_state_idx",
            ),
            # The unread badge on every inbox page (inbox.services.unread_total):
            # `SUM(unread_count) WHERE state = 'open' AND unread_count > 0 [AND
            # business_number_id IN (…)]`, an index-only scan of the unread rows alone.
            models.Index(
                fields=["business_number", "unread_count"],
                condition=Q(state="open", unread_count__gt=0),
                name="conversation_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact} ↔ {self.business_number}"

    def window_closes_at(self) -> datetime | None:
        """End of WhatsApp's 24-hour customer-service window, or None if it never opened."""
        if self.last_inbound_at is None:
            return None
        return self.last_inbound_at + CUSTOMER_SERVICE_WINDOW

    def window_remaining(self, now: datetime | None = None) -> timedelta | None:
        return window_remaining(self.last_inbound_at, now)

    def window_is_open(self, now: datetime | None = None) -> bool:
        return self.window_remaining(now) is not None

    @classmethod
    def record_activity(cls, messages: Iterable["Message"]) -> None:
        """Move the counters of the conversations of new, saved `messages` forward, by Meta's
        timestamp (the one definition, for webhooks applied in bulk or one by one, and for
        staff's replies): the newest message becomes the last one, a later arrival with an
        equal timestamp winning, and edits and revokes, which change an older message, never
        do; each message the customer wrote (`Message.is_from_customer`) counts as unread and
        reopens the conversation, and the newest of them opens the 24-hour window.

        Raw SQL, one statement for up to ACTIVITY_CHUNK conversations: built from Case/When
        expressions, the same UPDATE took the ORM more CPU to compile (about 8 ms per
        conversation under cProfile) than the database took to run it. Several conversations
        are locked first, in id order: concurrent batches for the same conversations queue
        instead of deadlocking (an UPDATE locks its rows in no promised order).
        """
        newest: dict[int, Message] = {}
        written: dict[int, datetime] = {}
        unread: Counter[int] = Counter()
        for message in messages:
            key = message.conversation_id
            if message.type in Message.CHANGES_TO_OTHERS:
                continue
            best = newest.get(key)
            if best is None or (message.timestamp, message.pk) >= (best.timestamp, best.pk):
                newest[key] = message
            if message.is_from_customer:
                unread[key] += 1
                written[key] = max(written.get(key, message.timestamp), message.timestamp)
        ids = sorted(newest)
        if len(ids) > 1:
            list(
                cls.objects.filter(pk__in=ids)
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)
            )
        connection = connections[router.db_for_write(cls)]
        adapt = connection.ops.adapt_datetimefield_value
        for start in range(0, len(ids), ACTIVITY_CHUNK):
            chunk = ids[start : start + ACTIVITY_CHUNK]
            params = []
            for pk in chunk:
                last = newest[pk]
                # Without a customer's message the window's column repeats the newest time
                # (never NULL: a column of NULLs has no type on PostgreSQL); it is not used.
                opened = written.get(pk, last.timestamp)
                params += [pk, adapt(last.timestamp), last.pk, unread[pk], adapt(opened)]
            rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            with connection.cursor() as cursor:
                cursor.execute(ACTIVITY_SQL.format(rows=rows), [cls.State.OPEN, *params])


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "in", _("Inbound")
        OUTBOUND = "out", _("Outbound")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        PLAYED = "played", _("Played")
        FAILED = "failed", _("Failed")
        # The send request timed out after it may have reached Meta: not resent blindly, but
        # settled by a status webhook (which carries our message id as callback data).
        UNCONFIRMED = "unknown", _("Unconfirmed")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    # Meta's type string, verbatim (unknown types are kept, not dropped).
    type = models.CharField(max_length=40)
    # NULL until Meta accepts an outbound message and returns its id.
    wamid = models.CharField(max_length=160, null=True, blank=True, unique=True)
    # Meta's timestamp (inbound), or when staff sent it (outbound): the timeline order.
    timestamp = models.DateTimeField()
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    reply_to_wamid = models.CharField(max_length=160, blank=True)
    # The message a reaction, edit or revoke applies to.
    target_wamid = models.CharField(max_length=160, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    status_at = models.DateTimeField(null=True, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)
    error_details = models.TextField(blank=True)
    # Reactions to this message, by who reacted: {"contact": "👍", "business": "❤️"}.
    reactions = models.JSONField(default=dict, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When retention removed the content (text, data, reactions), keeping the metadata.
    content_redacted_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sent_messages",
    )
    # Chosen by the composer when it is rendered: a double submit carries the same token and
    # finds the message the first submit created instead of sending twice.
    client_token = models.UUIDField(null=True, blank=True, unique=True)
    # The outbox: send attempts so far, when the next may start, and when a worker claimed
    # the message (NULL when no worker holds it).
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The inbox timeline renders each item with its own template (notes have theirs).
    timeline_template = "inbox/message.html"

    # Types that carry a file (sent by id once uploaded: messaging.uploads).
    MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
    # Types about another message rather than new content.
    ANNOTATION_TYPES = frozenset({"reaction", "edit", "revoke"})
    # Those that change the message they target: they never become a conversation's last.
    CHANGES_TO_OTHERS = frozenset({"edit", "revoke"})
    # Inbound types the customer did not write as new content: annotations and WhatsApp's
    # own notices. They neither count as unread nor open the 24-hour window (conservative:
    # a wrongly open window means a failed send), and automation leaves them alone.
    NOT_WRITTEN_TYPES = ANNOTATION_TYPES | {"system"}

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(condition=~Q(wamid=""), name="message_wamid_not_empty"),
            models.CheckConstraint(
                condition=Q(direction="out") | Q(status="received"),
                name="message_inbound_is_received",
            ),
        ]
        indexes = [
            # The conversation timeline, read newest first in pages.
            models.Index(fields=["conversation", "-timestamp", "-id"], name="message_timeline_idx"),
            # Reactions, edits and revokes that arrived before the message they target.
            models.Index(
                fields=["target_wamid"],
                condition=~Q(target_wamid=""),
                name="message_target_idx",
            ),
            # Retention (privacy.retention): content still to redact, oldest first; and rows
            # past the metadata period.
            models.Index(
                fields=["timestamp"],
                condition=Q(content_redacted_at__isnull=True),
                name="message_unredacted_idx",
            ),
            models.Index(fields=["timestamp"], name="message_timestamp_idx"),
            # On PostgreSQL only, also message_text_trgm_idx: a pg_trgm GIN index on UPPER(text)
            # for the inbox search (messaging/migrations/0006_inbox_indexes.py), and
            # message_search_words_trgm_idx on the other words that find a message
            # (messaging.search, messaging/migrations/0012_message_search_words_index.py).
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.type} {self.wamid or self.pk}"

    @classmethod
    def from_inbound(cls, item: InboundMessage, conversation_id: int) -> "Message":
        """The unsaved row for an inbound message event (messaging.events.InboundMessage),
        its strings made db_safe."""
        return cls(
            conversation_id=conversation_id,
            direction=cls.Direction.INBOUND,
            type=db_safe(item.type[:40]),
            wamid=db_safe(item.wamid),
            timestamp=item.timestamp,
            text=db_safe(item.text),
            data=db_safe(item.data),
            reply_to_wamid=db_safe(item.reply_to_wamid),
            target_wamid=db_safe(item.target_wamid),
            status=cls.Status.RECEIVED,
        )

    @property
    def is_from_customer(self) -> bool:
        """Whether the customer wrote this as new content (see NOT_WRITTEN_TYPES)."""
        return self.direction == self.Direction.INBOUND and self.type not in self.NOT_WRITTEN_TYPES

    @property
    def lost_its_file(self) -> bool:
        """An attachment that was never uploaded and whose file is gone (deleted when its
        send failed for good): sending it again needs the file attached again."""
        data = self.data or {}
        return self.type in self.MEDIA_TYPES and not data.get("media_id") and not data.get("upload")

    def may_send_again(self, now: datetime | None = None) -> bool:
        """Whether staff may send this unconfirmed message again (risking a duplicate)."""
        if self.status != self.Status.UNCONFIRMED:
            return False
        cutoff = (now or timezone.now()) - UNCONFIRMED_SEND_AGAIN_AFTER
        return self.status_at is None or self.status_at <= cutoff


# Order of the delivery statuses. A message's status only ever moves up this ladder; failed
# is outside it: it replaces anything and nothing replaces it.
STATUS_RANK: dict[str, int] = {
    Message.Status.PENDING: 0,
    Message.Status.UNCONFIRMED: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.READ: 3,
    Message.Status.PLAYED: 4,
}


# Conversations whose counters one statement moves (5 parameters each): well within SQLite's
# oldest limit of 999 parameters a statement.
ACTIVITY_CHUNK = 100

# Conversation.record_activity. v: (conversation id, newest timestamp, its message id,
# messages the customer wrote, the newest time they wrote).
ACTIVITY_SQL = """
UPDATE messaging_conversation SET
    last_message_id = CASE
        WHEN last_message_at IS NULL OR last_message_at <= v.column2 THEN v.column3
        ELSE last_message_id END,
    last_message_at = CASE
        WHEN last_message_at IS NULL OR last_message_at <= v.column2 THEN v.column2
        ELSE last_message_at END,
    last_inbound_at = CASE
        WHEN v.column4 > 0 AND (last_inbound_at IS NULL OR last_inbound_at < v.column5)
        THEN v.column5
        ELSE last_inbound_at END,
    unread_count = unread_count + v.column4,
    state = CASE WHEN v.column4 > 0 THEN %s ELSE state END
FROM (VALUES {rows}) AS v
WHERE messaging_conversation.id = v.column1
"""


class StatusEvent(models.Model):
    """Append-only history of the statuses Meta reported for our outbound messages.

    Keyed by wamid, not by message: a status can arrive before we have recorded the wamid of
    the message it is about; it is linked and applied when that wamid appears.
    """

    wamid = models.CharField(max_length=160)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="status_events"
    )
    status = models.CharField(max_length=20)
    timestamp = models.DateTimeField()
    recipient_id = models.CharField(max_length=160, blank=True)
    conversation_info = models.JSONField(default=dict, blank=True)
    pricing = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = StatusEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("status event")
        verbose_name_plural = _("status events")
        constraints = [
            models.UniqueConstraint(
                fields=["wamid", "status", "timestamp"], name="status_event_unique"
            ),
        ]
        indexes = [
            # Finding the statuses that waited for a message's wamid.
            models.Index(
                fields=["wamid"], condition=Q(message__isnull=True), name="status_unlinked_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wamid} {self.status}"

    @classmethod
    def from_update(cls, item: StatusUpdate, message_id: int | None) -> "StatusEvent":
        """The unsaved row for a status event (messaging.events.StatusUpdate) about message
        `message_id` (None: not known yet), its strings made db_safe."""
        return cls(
            wamid=db_safe(item.wamid),
            message_id=message_id,
            status=db_safe(item.status[:20]),
            timestamp=item.timestamp,
            recipient_id=db_safe(item.recipient.wa_id or item.recipient.user_id),
            conversation_info=db_safe(item.conversation),
            pricing=db_safe(item.pricing),
            errors=db_safe(item.errors),
        )


class WebhookEvent(models.Model):
    """A verified webhook body exactly as Meta sent it, stored before anything else happens.

    Meta has no API to fetch missed events, so this row is the only copy: it is committed
    before the webhook answers 200, and can be applied again (`manage.py replay_webhooks`).
    """

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    body = models.BinaryField()
    # Identical redeliveries are recognised by their hash and stored once.
    body_sha256 = models.CharField(max_length=64, unique=True)
    # The database's clock, as the checks that judge how long a body has waited (health,
    # metrics, ingest.requeue_stranded) use theirs: the web host's may be skewed.
    received_at = models.DateTimeField(db_default=Now(), editable=False, db_index=True)
    signature_valid = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    # What went wrong, without personal data: exception types, item paths, Meta error codes.
    error = models.TextField(blank=True)
    # Counts of the normalised events found, and items Meta or we flagged as problems.
    summary = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Whom the body mentions: erasure finds a person's raw bodies through this.
    contacts = models.ManyToManyField(Contact, blank=True, related_name="webhook_events")

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(state="failed"),
                name="webhook_failed_idx",
            ),
            # ingest.requeue_stranded, every maintenance run: the few bodies not yet applied.
            models.Index(
                fields=["received_at"],
                condition=Q(state="received"),
                name="webhook_unapplied_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} ({self.state})"


class InboxChange(models.Model):
    """Append-only feed of what changed, for open inbox pages to poll.

    A poll asks "anything after change N?": one primary-key range query, and an empty answer
    costs nothing else. Rows are written in the same transaction as the change they announce.
    """

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InboxChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("inbox change")
        verbose_name_plural = _("inbox changes")

    def __str__(self) -> str:
        return f"change {self.pk}"


class SendAttempt(models.Model):
    """Audit trail of every try to hand an outbound message to Meta."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted by Meta")
        RETRY = "retry", _("Will retry")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Outcome unknown")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="send_attempts")
    number = models.PositiveSmallIntegerField()
    # Who asked for this attempt: the author, or whoever pressed Retry (NULL: automation).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    # The id Meta gave this attempt. A retry clears Message.wamid; statuses Meta still
    # reports for an earlier attempt are recognised by this.
    wamid = models.CharField(max_length=160, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_title = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("send attempt")
        verbose_name_plural = _("send attempts")
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="send_attempt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.number} {self.outcome}"


class MessageTemplate(models.Model):
    """An approved (or pending, rejected, …) message template of a WhatsApp Business Account,
    mirrored from the Graph API by `sync_templates` and kept current by template webhooks."""

    class Category(models.TextChoices):
        MARKETING = "MARKETING", _("Marketing")
        UTILITY = "UTILITY", _("Utility")
        AUTHENTICATION = "AUTHENTICATION", _("Authentication")

    class ParameterFormat(models.TextChoices):
        POSITIONAL = "POSITIONAL", _("Positional ({{1}})")
        NAMED = "NAMED", _("Named ({{name}})")

    waba_id = models.CharField(max_length=64)
    template_id = models.CharField(max_length=64)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=30, blank=True)
    parameter_format = models.CharField(
        max_length=12, choices=ParameterFormat.choices, default=ParameterFormat.POSITIONAL
    )
    components = models.JSONField(default=list, blank=True)
    rejected_reason = models.CharField(max_length=255, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["waba_id", "name", "language"], name="template_unique_name_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"
