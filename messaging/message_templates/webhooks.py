"""Template webhooks: status, category, quality and component changes between syncs.

Status and category changes are also kept as account events (messaging.account_health): the
template's history, and what staff are told of a flagged or paused template.
"""

import logging
from typing import Any

from messaging.account_health.record import record_template_update
from messaging.events import TemplateUpdate
from messaging.message_templates.reading import APPROVED
from messaging.models import MessageTemplate

logger = logging.getLogger(__name__)


# Meta's status events that are not statuses of the template as the list API reports them.
STATUS_EVENTS = {"REINSTATED": APPROVED}


# Quality dropped: Meta warns before pausing; the template is still approved and sendable.
NOT_A_STATUS = {"FLAGGED"}


def apply_template_update(event: TemplateUpdate) -> MessageTemplate | None:
    """Apply a template webhook (status, category, quality or components change) to the row it
    is about, and keep it as an account event; unknown templates are left for the next sync
    (their events are kept all the same). Returns the row, or None."""
    rows = MessageTemplate.objects.all()
    template = rows.filter(template_id=event.template_id).first() if event.template_id else None
    if template is None and event.name and event.language:
        by_name = rows.filter(name=event.name, language=event.language)
        if event.waba_id:
            by_name = by_name.filter(waba_id=event.waba_id)
        template = by_name.first()
    record_template_update(event, template)
    if template is None:
        logger.info(
            "template webhook %s for unknown template %s; run sync_templates",
            event.field,
            event.template_id or event.name,
        )
        return None

    changes = {}
    if event.template_id and not template.template_id:
        changes["template_id"] = event.template_id[:64]
    data = event.data if isinstance(event.data, dict) else {}
    if event.field == "message_template_status_update":
        status = STATUS_EVENTS.get(event.event.upper(), event.event.upper())
        if status in NOT_A_STATUS:
            logger.warning("template %s was flagged for low quality", template.pk)
        elif status:
            changes["status"] = status[:30]
            changes["rejected_reason"] = _rejection(event, data) if status == "REJECTED" else ""
        category = data.get("message_template_category")
        if isinstance(category, str) and category:
            changes["category"] = category.upper()[:20]
    elif event.field == "template_category_update":
        if event.event:
            changes["category"] = event.event.upper()[:20]
    elif event.field == "message_template_quality_update":
        logger.info(
            "template %s quality %s -> %s",
            template.pk,
            data.get("previous_quality_score", "?"),
            event.event or "?",
        )
    else:
        logger.info("template %s changed (%s); run sync_templates", template.pk, event.field)

    changes = {k: v for k, v in changes.items() if getattr(template, k) != v}
    if changes:
        for name, value in changes.items():
            setattr(template, name, value)
        template.save(update_fields=[*changes, "updated_at"])
    return template


def _rejection(event: TemplateUpdate, data: dict[str, Any]) -> str:
    reason = "" if event.reason.upper() == "NONE" else event.reason
    info = raw if isinstance(raw := data.get("rejection_info"), dict) else {}
    detail = info.get("reason") if isinstance(info.get("reason"), str) else ""
    return ": ".join(part for part in (reason, detail) if part)[:255]
