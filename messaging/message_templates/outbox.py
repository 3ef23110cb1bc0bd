"""Putting a template message in the outbox (allowed outside the 24-hour window)."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from messaging.message_templates.filling import build_components, render_preview, validate
from messaging.message_templates.reading import APPROVED
from messaging.models import Conversation, Message, MessageTemplate
from messaging.sending import ReplyRefused, queue_outbound


def queue_template_message(
    conversation: Conversation,
    user: User | None,
    template: MessageTemplate,
    values: Mapping[str, Any],
    client_token: UUID | None = None,
) -> Message:
    """Validate `values`, then queue the template for sending (allowed outside the window).

    Raises ReplyRefused when the template cannot be sent at all, ValidationError when the
    values do not fit it.
    """
    if template.status != APPROVED:
        raise ReplyRefused(
            _("Only approved templates can be sent; “%(name)s” is %(status)s.")
            % {"name": template.name, "status": template.status or _("not reviewed")}
        )
    waba_id = conversation.business_number.waba_id
    if waba_id and template.waba_id and waba_id != template.waba_id:
        raise ReplyRefused(
            _("This template belongs to another WhatsApp Business Account than this number.")
        )
    cleaned = validate(template, values)
    data = {
        "template": {
            "id": template.pk,
            "template_id": template.template_id,
            "name": template.name,
            "language": template.language,
            "category": template.category,
            "values": cleaned,
            "components": build_components(template, cleaned),
        }
    }
    return queue_outbound(
        conversation,
        user,
        type="template",
        text=render_preview(template, cleaned),
        data=data,
        client_token=client_token,
    )
