"""Normalised webhook events: what `parse_webhook` turns Meta's payloads into.

The parser (messaging.parser) is a pure function from a decoded JSON payload to a list of
these; the ingestion service (messaging.ingest) applies them to the database. Each event
carries `path`, the JSON path of the item it came from (e.g.
"entry[0].changes[1].value.messages[3]"), so problems can be reported without quoting content.
All timestamps are Meta's, as aware UTC datetimes.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

# Our outbound messages carry "waq:<message id>" as biz_opaque_callback_data; Meta echoes it
# in status webhooks (see messaging.sending).
CALLBACK_PREFIX = "waq:"


@dataclass(frozen=True, slots=True)
class BusinessRef:
    """The business phone number a change is about (value.metadata, entry.id)."""

    phone_number_id: str
    display_phone_number: str = ""
    waba_id: str = ""


@dataclass(frozen=True, slots=True)
class ContactRef:
    """A WhatsApp user as identified in a payload. Any field may be empty, but never all of
    wa_id and user_id: a username-only user has a BSUID (user_id) and no phone (wa_id)."""

    wa_id: str = ""
    user_id: str = ""
    parent_user_id: str = ""
    username: str = ""
    profile_name: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a user sent to a business number (value.messages[]).

    `type` is Meta's type string, kept verbatim even when we do not know it. `text` is what a
    person reads: the body, a caption, the chosen button or list title. `data` holds the
    type-specific rest as JSON-serialisable values (media id/mime_type/sha256/filename,
    location, shared contacts, interactive ids, button payload, order, referral, forwarded
    flags, errors). `target_wamid` is the message a reaction, edit or revoke applies to.
    """

    business: BusinessRef
    contact: ContactRef
    wamid: str
    type: str
    timestamp: datetime
    text: str = ""
    data: dict = field(default_factory=dict)
    reply_to_wamid: str = ""
    target_wamid: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of a message a business sent (value.statuses[]).

    `status` is lower case: sent, delivered, read, played, failed, or whatever else Meta
    sends. `errors` is a list of {"code", "title", "message", "details"} dicts.
    `callback_data` is the biz_opaque_callback_data we sent with the message, echoed back.
    """

    business: BusinessRef
    wamid: str
    status: str
    timestamp: datetime
    recipient: ContactRef = field(default_factory=ContactRef)
    conversation: dict = field(default_factory=dict)
    pricing: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    callback_data: str = ""
    path: str = ""

    @property
    def our_message_id(self) -> int | None:
        """The id of our message the status is about, from the callback data we sent."""
        if not self.callback_data.startswith(CALLBACK_PREFIX):
            return None
        try:
            return int(self.callback_data.removeprefix(CALLBACK_PREFIX))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class ContactChange:
    """A user's identity changed: new phone number, new BSUID, or a security-code change.

    kind: "number_changed" (system user_changed_number), "user_id_changed" (user_id_update
    field or system message), "identity_changed" (system customer_identity_changed).
    `contact` identifies the user as they were; new_wa_id/new_user_id what they became.
    """

    business: BusinessRef
    kind: str
    contact: ContactRef
    timestamp: datetime | None = None
    new_wa_id: str = ""
    new_user_id: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class TemplateUpdate:
    """Template status, quality, category or components change (message_template_* fields)."""

    waba_id: str
    field: str
    template_id: str = ""
    name: str = ""
    language: str = ""
    event: str = ""
    reason: str = ""
    # When Meta says it happened (entry.time); None when the entry does not say.
    timestamp: datetime | None = None
    # Qualified: type checkers take `field` in this class body for the attribute above.
    data: dict = dataclasses.field(default_factory=dict)
    path: str = ""


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """A change in the standing of a WhatsApp Business Account or of one of its numbers:
    `field` is account_update (bans, restrictions, violations, disconnection, …),
    account_review_update (the account's review) or phone_number_quality_update (a number's
    quality and messaging limit).

    `event` is Meta's value as sent (for a review, its decision). `display_phone_number`
    names the number a change is about, when it is about one: these changes carry no
    phone_number_id. `timestamp` is entry.time (None when the entry does not say); `data`
    the whole value, as Meta sent it.
    """

    waba_id: str
    field: str
    event: str
    display_phone_number: str = ""
    timestamp: datetime | None = None
    data: dict = dataclasses.field(default_factory=dict)
    path: str = ""


@dataclass(frozen=True, slots=True)
class WebhookError:
    """An error Meta reported (value-level errors[]), or an item we could not read.

    `malformed` is True when the parser itself rejected the item at `path` (bad shape,
    missing id, unreadable timestamp); the rest of the payload is still parsed.
    """

    path: str
    code: int | None = None
    title: str = ""
    message: str = ""
    details: str = ""
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class IgnoredField:
    """A change we recognise and deliberately do not act on (calls, groups, marketing
    preferences, message echoes, …), recorded so nothing vanishes silently."""

    field: str
    path: str = ""


Event = (
    InboundMessage
    | StatusUpdate
    | ContactChange
    | TemplateUpdate
    | AccountUpdate
    | WebhookError
    | IgnoredField
)
