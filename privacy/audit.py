"""The audit log: who did what to personal data, and when. Never what a message said.

`record()` is the one way in: one INSERT, inside whatever transaction the caller is in (so an
action that rolls back leaves no audit row claiming it happened). Rows are only ever added;
retention (`privacy.retention`) removes them after RETENTION_AUDIT_DAYS, and the admin shows
them read-only to staff with the privacy.view_auditevent permission (privacy officers).

Hooks: viewing a conversation (inbox.views.conversation), export, erasure and rejection of
deletion requests (privacy admin and erasure), retention runs; and, through the receivers
below (connected in privacy.apps), every staff reply and retry and every look at personal
data in the admin (messaging.signals, sent inside the transaction that does it), and
sign-in, failed sign-in and sign-out.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from messaging.models import Conversation, Message
from privacy.models import AuditEvent

Action = AuditEvent.Action

_NAME_LENGTH = AuditEvent._meta.get_field("actor_name").max_length
_TYPE_LENGTH = AuditEvent._meta.get_field("object_type").max_length
_ID_LENGTH = AuditEvent._meta.get_field("object_id").max_length


def record(
    action: str,
    *,
    actor: User | AnonymousUser | None = None,
    actor_name: str = "",
    obj: Model | tuple[str, object] | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one audit event and return it.

    - `action`: an `AuditEvent.Action` (or its value, e.g. "view").
    - `actor`: the user who acted (None for the system, e.g. a scheduled retention run, or a
      failed sign-in); `actor_name` defaults to their username.
    - `obj`: the model instance acted on (a conversation, a deletion request, …), stored as
      its model name and primary key; or a `(type, id)` pair when there is no instance.
    - `details`: a small JSON-serialisable dict of ids, counts and kinds. Never message text,
      names or phone numbers: the audit log outlives message content.
    """
    if action not in Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    if actor is not None and not actor.is_authenticated:
        actor = None  # AnonymousUser
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    object_type, object_id = _describe(obj)
    return AuditEvent.objects.create(
        at=at or timezone.now(),
        actor=actor,
        actor_name=(actor_name or "")[:_NAME_LENGTH],
        action=action,
        object_type=object_type[:_TYPE_LENGTH],
        object_id=object_id[:_ID_LENGTH],
        details=details or {},
    )


def _describe(obj: Model | tuple[str, object] | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        kind, pk = obj
        return str(kind), "" if pk is None else str(pk)
    return obj._meta.label_lower, str(obj.pk)


# Sign-in receivers (connected in privacy.apps.PrivacyConfig.ready).


def on_login(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    record(Action.LOGIN, actor=user)


def on_login_failed(
    sender: object, credentials: object, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Only the username as typed: Django already masks the password in `credentials`, and
    # nothing else of them is kept.
    username = credentials.get("username") if isinstance(credentials, dict) else ""
    record(Action.LOGIN_FAILED, actor_name=str(username or ""))


def on_logout(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record(Action.LOGOUT, actor=user)


# Receivers of messaging.signals (connected in privacy.apps.PrivacyConfig.ready).


def on_reply_queued(
    sender: object, message: Message, conversation: Conversation, user: User, **kwargs: Any
) -> None:
    """Every staff reply (text, template, media, reaction): who, where, what kind. Never the
    text."""
    record(
        Action.REPLY,
        actor=user,
        obj=conversation,
        details={"message": message.pk, "type": message.type},
    )


def on_send_retried(sender: object, message: Message, user: User, **kwargs: Any) -> None:
    record(
        Action.RETRY,
        actor=user,
        obj=message.conversation,
        details={"message": message.pk, "type": message.type, "was": message.status},
    )


def on_personal_data_viewed(
    sender: object, user: User, obj: Model | tuple[str, None], via: str, **kwargs: Any
) -> None:
    record(Action.VIEW_CONVERSATION, actor=user, obj=obj, details={"via": via})
