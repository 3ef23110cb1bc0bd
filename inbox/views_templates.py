"""Sending message templates from the composer: the only messages WhatsApp accepts once the
24-hour window has closed, and available by choice while it is open.

Plain forms that htmx enhances. Without JavaScript each step (open the panel, pick a template,
preview, a refused send) re-renders the conversation page with the panel open; with htmx only
the panel (#template-composer) or its preview is swapped.
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from inbox import services
from inbox.services import ListFilters
from inbox.views import conversation_context, cursor_context, get_conversation, list_context
from messaging.ids import parse_id
from messaging.message_templates.filling import preview_parts
from messaging.message_templates.outbox import queue_template_message
from messaging.message_templates.reading import (
    required_parameters,
    sendable_templates,
    unsupported_reason,
)
from messaging.models import MessageTemplate
from messaging.sending import ReplyRefused
from staff import permissions
from staff.permissions import view_required

PANEL = "inbox/composer_templates.html"
# Parameter inputs are named "param-<field>" ("param-body-1"): everything else in the form is
# not a parameter, so a tampered extra one is reported rather than silently sent.
PARAM_PREFIX = "param-"


def replier_conversation(request, pk):
    conversation = get_conversation(request, pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    return conversation


def chosen_template(raw):
    pk = parse_id(raw)
    return MessageTemplate.objects.filter(pk=pk).first() if pk else None


def submitted_values(post):
    return {
        key.removeprefix(PARAM_PREFIX): value
        for key, value in post.items()
        if key.startswith(PARAM_PREFIX)
    }


def base_context(request, conversation):
    filters = ListFilters.from_query(request.GET)
    return {
        "template_view": True,
        "conversation": conversation,
        "can_reply": permissions.can_reply(request.user),
        "filter_query": urlencode(filters.as_query()),
        "tpl_filter_items": list(filters.as_query().items()),
    }


def panel_context(request, conversation, template=None, values=None, errors=None):
    """The open panel: the picker, and the chosen template's fields and preview."""
    values = values or {}
    field_errors = errors.message_dict if errors is not None else {}
    templates = list(sendable_templates(conversation).order_by("name", "language"))
    languages = sorted({t.language for t in templates})
    language = request.GET.get("language", "")
    if language not in languages:
        language = ""
    shown = [t for t in templates if not language or t.language == language]
    context = base_context(request, conversation) | {
        "template_panel": True,
        "tpl_choices": [(t, unsupported_reason(t)) for t in shown],
        "tpl_languages": languages,
        "tpl_language": language,
        "tpl_chosen": template,
        "tpl_errors": field_errors.get("__all__", []),
        "tpl_token": uuid.uuid4(),
    }
    if template is None:
        return context
    reason = unsupported_reason(template)
    if not reason and template.status != "APPROVED":
        reason = _("Only approved templates can be sent; this one is %(status)s.") % {
            "status": template.status or _("not reviewed")
        }
    context["tpl_reason"] = reason
    if not reason:
        context["tpl_fields"] = [
            {
                "parameter": parameter,
                "name": f"{PARAM_PREFIX}{parameter.field}",
                "id": f"tp-{parameter.field}",
                "value": values.get(parameter.field, ""),
                "errors": field_errors.get(parameter.field, []),
            }
            for parameter in required_parameters(template)
        ]
        context["tpl_preview"] = preview_parts(
            template, {k: v.strip() for k, v in values.items() if isinstance(v, str)}
        )
    return context


def respond(request, conversation, context, status=200):
    """The panel alone for htmx; else the whole conversation page with the panel open."""
    if request.htmx:
        return render(request, PANEL, context, status=status)
    cursor = services.current_cursor()  # before the content: see current_cursor
    filters = ListFilters.from_query(request.GET)
    page = (
        list_context(request, filters, conversation)
        | conversation_context(request, conversation)
        | context
        | cursor_context(cursor)
    )
    return render(request, "inbox/inbox.html", page, status=status)


def back_to_conversation(request, conversation):
    filters = ListFilters.from_query(request.GET)
    url = reverse("inbox:conversation", args=[conversation.pk])
    return redirect(f"{url}?{urlencode(filters.as_query())}")


@view_required
@require_GET
def template_panel(request, pk):
    """Open the panel (?template=<id> picks one; ?language= narrows the list; ?cancel=1
    closes it)."""
    conversation = replier_conversation(request, pk)
    if request.GET.get("cancel"):
        if request.htmx:
            return render(request, PANEL, base_context(request, conversation))
        return back_to_conversation(request, conversation)
    template = chosen_template(request.GET.get("template"))
    return respond(request, conversation, panel_context(request, conversation, template))


@view_required
@require_POST
def template_preview(request, pk):
    """What the customer will read with the values typed so far (placeholders stay visible
    where a value is missing)."""
    conversation = replier_conversation(request, pk)
    template = chosen_template(request.POST.get("template"))
    values = submitted_values(request.POST)
    context = panel_context(request, conversation, template, values)
    if request.htmx and request.htmx.target == "template-preview":
        return render(request, f"{PANEL}#template-preview", context)
    return respond(request, conversation, context)


@view_required
@require_POST
def template_send(request, pk):
    conversation = replier_conversation(request, pk)
    template = chosen_template(request.POST.get("template"))
    values = submitted_values(request.POST)
    try:
        token = uuid.UUID(request.POST.get("client_token", ""))
    except ValueError:
        token = None
    if template is None:
        error = ValidationError({"__all__": [_("Choose a template first.")]})
        return respond(
            request, conversation, panel_context(request, conversation, errors=error), 422
        )
    try:
        queue_template_message(conversation, request.user, template, values, client_token=token)
    except ReplyRefused as refusal:
        # A template that is not approved already says so in the panel.
        approved = template.status == "APPROVED"
        error = ValidationError({"__all__": [str(refusal)]}) if approved else None
        context = panel_context(request, conversation, template, values, error)
        return respond(request, conversation, context, 422)
    except ValidationError as error:
        context = panel_context(request, conversation, template, values, error)
        return respond(request, conversation, context, 422)
    if request.htmx:
        # The panel closes; the new message itself arrives with the poll this triggers.
        context = base_context(request, conversation) | {"tpl_notice": _("Template sent.")}
        response = render(request, PANEL, context)
        response["HX-Trigger"] = "inbox:poll"
        return response
    return back_to_conversation(request, conversation)
