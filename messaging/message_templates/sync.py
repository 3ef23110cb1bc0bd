"""Keeping the mirror of the account's templates current: every page of Meta's list, applied in
one transaction."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.message_templates.reading import NAMED_KEY, PLACEHOLDER, component_text
from messaging.models import BusinessNumber, MessageTemplate
from messaging.tasks import pause_numbers

logger = logging.getLogger(__name__)


class TemplateSyncError(Exception):
    """Templates could not be fetched; the message says why, for the person who asked."""


def _string(item: dict[str, Any], key: str, limit: int) -> str:
    value = item.get(key)
    if value is None:
        return ""
    return str(value)[:limit]


def _fields_from_meta(item: Any, waba_id: str) -> dict[str, Any] | None:
    """MessageTemplate fields from one item of Meta's list, or None if it is unusable."""
    if not isinstance(item, dict):
        return None
    name, language = _string(item, "name", 512), _string(item, "language", 16)
    if not name or not language:
        return None
    components = raw if isinstance(raw := item.get("components"), list) else []
    parameter_format = _string(item, "parameter_format", 12).upper()
    if parameter_format not in MessageTemplate.ParameterFormat.values:
        parameter_format = _guess_parameter_format(components)
    reason = _string(item, "rejected_reason", 255)
    return {
        "waba_id": waba_id,
        "name": name,
        "language": language,
        "template_id": _string(item, "id", 64),
        "category": _string(item, "category", 20).upper(),
        "status": _string(item, "status", 30).upper(),
        "parameter_format": parameter_format,
        "components": components,
        "rejected_reason": "" if reason.upper() == "NONE" else reason,
    }


def _guess_parameter_format(components: list[Any]) -> str:
    """POSITIONAL, as Meta's default, unless the header or body has a named placeholder (an
    item listed without `parameter_format`)."""
    for component in components:
        if not isinstance(component, dict):
            continue
        if str(component.get("type", "")).upper() not in {"HEADER", "BODY"}:
            continue
        if any(NAMED_KEY.fullmatch(key) for key in PLACEHOLDER.findall(component_text(component))):
            return MessageTemplate.ParameterFormat.NAMED
    return MessageTemplate.ParameterFormat.POSITIONAL


def sync_templates(
    waba_id: str | None = None, *, progress: Callable[[int], object] | None = None
) -> tuple[int, int, int]:
    """Mirror the account's templates from Meta; return (created, updated, removed).

    Every page is fetched before anything is written, and the rows change in one
    transaction: a failure half-way leaves the mirror as it was. Templates Meta no longer
    lists are deleted, not marked: Meta cannot send them any more (132001), and every message
    that used one keeps its own copy (name, language, values, components) in Message.data, so
    nothing refers to the row. `progress(count)` is called as items arrive.
    """
    waba_id = waba_id or settings.WHATSAPP_WABA_ID
    if not waba_id:
        raise TemplateSyncError(
            _(
                "No WhatsApp Business Account id: set WHATSAPP_WABA_ID to synchronise "
                "message templates."
            )
        )
    listed = []
    try:
        for item in get_backend().list_templates(waba_id):
            listed.append(item)
            if progress:
                progress(len(listed))
    except SendError as exc:
        if exc.stop_sending:
            # The access token is shared by every call: sending cannot work either.
            numbers = BusinessNumber.objects.filter(waba_id=waba_id)
            pause_numbers(numbers if numbers.exists() else BusinessNumber.objects.all(), exc)
        detail = f" ({exc.code})" if exc.code else ""
        raise TemplateSyncError(
            _("Meta did not list the templates: %(reason)s") % {"reason": f"{exc.title}{detail}"}
        ) from exc

    now = timezone.now()
    created = updated = 0
    try:
        with transaction.atomic():
            existing = {
                (row.name, row.language): row
                for row in MessageTemplate.objects.select_for_update().filter(waba_id=waba_id)
            }
            seen = set()
            for item in listed:
                fields = _fields_from_meta(item, waba_id)
                if fields is None:
                    logger.warning("template sync: skipped an item without name or language")
                    continue
                key = (fields["name"], fields["language"])
                if key in seen:
                    continue  # listed twice (the list changed between pages)
                seen.add(key)
                row = existing.get(key)
                if row is None:
                    MessageTemplate.objects.create(**fields, synced_at=now)
                    created += 1
                elif any(getattr(row, name) != value for name, value in fields.items()):
                    for name, value in fields.items():
                        setattr(row, name, value)
                    row.synced_at = now
                    row.save()
                    updated += 1
            unchanged = [row.pk for key, row in existing.items() if key in seen]
            MessageTemplate.objects.filter(pk__in=unchanged, synced_at__lt=now).update(
                synced_at=now
            )
            stale = [row.pk for key, row in existing.items() if key not in seen]
            removed, _by_model = MessageTemplate.objects.filter(pk__in=stale).delete()
    except IntegrityError as exc:
        raise TemplateSyncError(
            _("Another synchronisation ran at the same time; try again.")
        ) from exc
    logger.info(
        "template sync for WABA %s: %d listed, %d new, %d changed, %d removed",
        waba_id,
        len(listed),
        created,
        updated,
        removed,
    )
    return created, updated, removed
