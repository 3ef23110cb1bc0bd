"""Teamwork in the inbox: labels on a conversation and internal notes. Labels and quick replies
are set up on the settings pages (inbox.views_settings); business hours, automatic replies and
routing rules in the admin (automation/admin.py)."""

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from automation.labels import add_label, remove_label
from automation.models import Label
from automation.notes import NoteRefused, add_note
from inbox.views import after_action, back_to, get_conversation
from messaging.ids import parse_id
from staff.permissions import view_required


def can_label(user):
    return user.has_perm("automation.apply_label")


def can_note(user):
    return user.has_perm("automation.add_note")


@view_required
@require_POST
def label(request, pk):
    """Add a label to the conversation, or remove one (`action` add or remove)."""
    conversation = get_conversation(request, pk)
    if not can_label(request.user):
        raise PermissionDenied
    label_id = parse_id(request.POST.get("label"))
    if label_id is None:
        return HttpResponseBadRequest("label must be a label id")
    chosen = get_object_or_404(Label, pk=label_id)
    action = request.POST.get("action")
    if action == "add":
        add_label(conversation, chosen, by=request.user)
    elif action == "remove":
        remove_label(conversation, chosen)
    else:
        return HttpResponseBadRequest("action must be add or remove")
    return after_action(request, conversation)


@view_required
@require_POST
def note(request, pk):
    """Add an internal note to the conversation's timeline (never sent to WhatsApp)."""
    conversation = get_conversation(request, pk)
    if not can_note(request.user):
        raise PermissionDenied
    text = request.POST.get("text", "")
    try:
        new_note = add_note(conversation, request.user, text)
    except NoteRefused as refusal:
        if request.htmx:
            return render(
                request,
                "inbox/teamwork/note_composer.html",
                {
                    "conversation": conversation,
                    "note_view": True,
                    "note_open": True,
                    "note_error": str(refusal),
                    "note_draft": text,
                },
                status=422,
            )
        flash.error(request, str(refusal))
        return back_to(request, conversation)
    if request.htmx:
        # A fresh form, and the note in the timeline at once (the poll re-sends it to
        # everyone else who has the conversation open).
        response = render(
            request,
            "inbox/teamwork/note_composer.html",
            {
                "conversation": conversation,
                "note_view": True,
                "note_open": True,
                "new_note": new_note,
            },
        )
        response["HX-Trigger"] = "inbox:poll"
        return response
    return back_to(request, conversation)
