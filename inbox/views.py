import uuid

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from automation.notifications import notify_assignment
from inbox import search, services
from inbox.forms import AssignForm, ReplyForm, StateForm
from inbox.language import set_language
from inbox.services import ChangeCursor, ListFilters
from inbox.views_settings import viewers_or_landing
from messaging.ids import parse_id
from messaging.models import BusinessNumber, Conversation, Message
from messaging.sending import ReplyRefused, queue_reaction, queue_text_reply
from messaging.tasks import retry_message
from privacy.audit import Action, record
from staff import permissions
from staff.permissions import view_required

# The quick reactions offered on each message (WhatsApp's own default set).
REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"]


def reaction_buttons():
    """The buttons of the reaction menu, the same under every message: built once per page
    rather than once per message and emoji."""
    return format_html_join(
        "",
        '<button type="submit" name="emoji" value="{}" aria-label="{}">{}</button>',
        ((emoji, _("React with %(emoji)s") % {"emoji": emoji}, emoji) for emoji in REACTIONS),
    )


def list_context(request, filters, open_conversation=None):
    after = request.GET.get("after")
    # Built once: the page and the count of hidden matches share it (a query on PostgreSQL).
    matching = services.search_condition(filters.q) if filters.q else None
    rows, next_cursor = services.conversation_page(request.user, filters, after, matching)
    hidden = None if after else search.hidden_matches(request.user, filters, matching)
    return {
        "assignment_choices": [
            ("all", _("All")),
            ("mine", _("Mine")),
            ("unassigned", _("Unassigned")),
        ],
        "filters": filters,
        "filter_query": urlencode(filters.as_query()),
        "conversations": rows,
        "next_cursor": next_cursor,
        "hidden_matches": hidden,
        "numbers": list(BusinessNumber.objects.visible_to(request.user)),
        "open_conversation": open_conversation,
        "open_pk": open_conversation.pk if open_conversation else None,
        "unread_total": services.unread_total(request.user),
    }


def header_context(request, conversation):
    """What the conversation header and each message's controls need."""
    can_assign_others = permissions.can_assign_others(request.user)
    staff = list(services.staff_choices(conversation)) if can_assign_others else []
    # Assigned before they lost access (a role or a number taken away): the menu says so
    # rather than showing the conversation unassigned.
    stranded = conversation.assignee_id and conversation.assignee_id not in {p.pk for p in staff}
    return {
        "conversation": conversation,
        "can_reply": permissions.can_reply(request.user),
        "can_assign_others": can_assign_others,
        "can_close": permissions.can_close(request.user, conversation),
        "staff": staff,
        "stranded_assignee": conversation.assignee if stranded and can_assign_others else None,
        "reactions": reaction_buttons(),
        "filter_query": urlencode(ListFilters.from_query(request.GET).as_query()),
    }


def conversation_context(request, conversation, before=None):
    page, older = services.timeline_page(conversation, before=before)
    return header_context(request, conversation) | {
        "timeline": page,
        "older_cursor": older,
        "client_token": uuid.uuid4(),
    }


def cursor_context(cursor):
    """The poller's cursor (inbox/poller.html)."""
    return {"change_cursor": cursor.after, "change_gaps": cursor.gaps_param or None}


def get_conversation(request, pk):
    """The conversation, if this person may see its business number; else 404."""
    # With its priority: the header shows it (inbox.filters.priority_of).
    conversations = Conversation.objects.select_related(
        "contact", "business_number", "assignee", "priority"
    )
    return get_object_or_404(conversations.visible_to(request.user), pk=pk)


def conversation_page(request, conversation, cursor, *, before=None, status=200, **extra):
    """The whole inbox page with `conversation` open (its newest messages, or those before
    the `before` cursor); `extra` goes to the template (a refused draft, a quote)."""
    filters = ListFilters.from_query(request.GET)
    context = (
        list_context(request, filters, conversation)
        | conversation_context(request, conversation, before)
        | cursor_context(cursor)
        | {"paged_back": before is not None}
        | extra
    )
    return render(request, "inbox/inbox.html", context, status=status)


def quoted_message(conversation, pk):
    """The message a reply quotes: one of this conversation's that WhatsApp can point to."""
    if pk is None:
        return None
    return conversation.messages.filter(pk=pk, wamid__isnull=False, revoked_at=None).first()


def refuse(form):
    """400 for a form no page of ours sends (tampered with, or very stale), saying why."""
    reasons = [str(error) for errors in form.errors.values() for error in errors]
    return HttpResponseBadRequest(" ".join(reasons), content_type="text/plain; charset=utf-8")


# Signing in lands here: someone whose work is elsewhere (a privacy officer's deletion
# requests) goes there rather than to "no access".
@viewers_or_landing
@require_GET
def index(request):
    filters = ListFilters.from_query(request.GET)
    if request.htmx and request.GET.get("after"):
        return render(request, "inbox/inbox.html#list-page", list_context(request, filters))
    cursor = services.current_cursor()  # before the content: see current_cursor
    context = list_context(request, filters) | cursor_context(cursor)
    return render(request, "inbox/inbox.html", context)


@view_required
@require_GET
def conversation(request, pk):
    cursor = services.current_cursor()
    conversation = get_conversation(request, pk)
    # Seeing personal data is what the audit is for; reading it for the team and telling the
    # customer wait for the page to post that it was shown (mark_read): with SameSite=Lax
    # cookies a link on another site reaches this GET signed in.
    record(Action.VIEW_CONVERSATION, actor=request.user, obj=conversation)
    # A message's "Reply" link, followed without JavaScript, quotes it in the composer.
    reply_to = quoted_message(conversation, parse_id(request.GET.get("reply_to")))
    # Opened from a search: the page scrolls to the newest message it found (search.js).
    match = search.newest_match(conversation, ListFilters.from_query(request.GET).q)
    return conversation_page(request, conversation, cursor, reply_to=reply_to, search_match=match)


@view_required
@require_GET
def older_messages(request, pk):
    conversation = get_conversation(request, pk)
    before = request.GET.get("before")
    if not request.htmx:
        # A link followed without JavaScript: the whole page, showing the older messages.
        return conversation_page(request, conversation, services.current_cursor(), before=before)
    page, older = services.timeline_page(conversation, before=before)
    return render(
        request,
        "inbox/inbox.html#timeline-page",
        header_context(request, conversation) | {"timeline": page, "older_cursor": older},
    )


def composer_refused(request, conversation, reason, draft, reply_to=None):
    """The composer again with the reason, keeping the draft and what it quoted."""
    refused = {"composer_error": reason, "draft": draft, "reply_to": reply_to}
    if request.htmx:
        return render(
            request,
            "inbox/inbox.html#composer",
            conversation_context(request, conversation) | refused,
            status=422,
        )
    return conversation_page(
        request, conversation, services.current_cursor(), status=422, **refused
    )


def back_to(request, conversation):
    return redirect(
        f"{reverse('inbox:conversation', args=[conversation.pk])}?{request.GET.urlencode()}"
    )


def poll_now(request, conversation):
    """The end of an action whose outcome the next poll shows: htmx has nothing to swap and
    polls at once; a plain form post goes back to the conversation."""
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Trigger": "inbox:poll"})
    return back_to(request, conversation)


@view_required
@require_POST
def reply(request, pk):
    conversation = get_conversation(request, pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return refuse(form)
    text, quoting = form.cleaned_data["text"], form.cleaned_data["reply_to"]
    reply_to = quoted_message(conversation, quoting)
    if quoting and reply_to is None:
        reason = _("The message you are replying to is no longer available.")
        return composer_refused(request, conversation, reason, text)
    try:
        queue_text_reply(
            conversation,
            request.user,
            text,
            client_token=form.cleaned_data["client_token"],
            reply_to=reply_to,
        )
    except ReplyRefused as refusal:
        return composer_refused(request, conversation, str(refusal), text, reply_to)
    if request.htmx:
        # A fresh composer; the new message itself arrives with the next poll.
        response = render(
            request, "inbox/inbox.html#composer", conversation_context(request, conversation)
        )
        response["HX-Trigger"] = "inbox:poll"
        return response
    return back_to(request, conversation)


@view_required
@require_POST
def retry(request, pk, message_pk):
    conversation = get_conversation(request, pk)
    message = get_object_or_404(conversation.messages, pk=message_pk, direction="out")
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    unconfirmed = message.status == Message.Status.UNCONFIRMED  # "Send again", not "Retry"
    if message.type != "template" and not conversation.window_is_open():
        flash.error(request, _("The 24-hour window has closed: send a template instead."))
    elif not retry_message(message, request.user):
        if unconfirmed:
            refusal = _(
                "This message can no longer be sent again (it was resent already or "
                "WhatsApp reported on it)."
            )
        else:
            refusal = _("This message is no longer marked as failed, so it was not resent.")
        flash.info(request, refusal)
    return poll_now(request, conversation)


@view_required
@require_POST
def react(request, pk, message_pk):
    conversation = get_conversation(request, pk)
    target = get_object_or_404(conversation.messages, pk=message_pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    emoji = request.POST.get("emoji", "")
    if emoji not in REACTIONS and emoji != "":
        return HttpResponseBadRequest("unknown reaction")
    try:
        queue_reaction(conversation, request.user, target, emoji)
    except ReplyRefused as refusal:
        flash.error(request, str(refusal))
    return poll_now(request, conversation)


@view_required
@require_POST
def assign(request, pk):
    conversation = get_conversation(request, pk)
    form = AssignForm(request.POST, user=request.user, staff=services.staff_choices(conversation))
    if not form.is_valid():
        return refuse(form)
    assignee = form.cleaned_data["assignee"]
    if not permissions.can_assign(request.user, conversation, assignee):
        raise PermissionDenied
    previous = conversation.assignee_id
    services.assign(conversation, assignee)
    if assignee is not None and assignee.pk != previous:
        notify_assignment(conversation, assignee, actor=request.user)  # e-mailed by a task
    return after_action(request, conversation)


@view_required
@require_POST
def set_state(request, pk):
    conversation = get_conversation(request, pk)
    form = StateForm(request.POST)
    if not form.is_valid():
        return refuse(form)
    if not permissions.can_close(request.user, conversation):
        raise PermissionDenied
    services.set_state(conversation, form.cleaned_data["state"])
    return after_action(request, conversation)


@view_required
@require_POST
def mark_read(request, pk):
    """Read the conversation for the team and send the customer a read receipt: posted by the
    page once it is looked at (inbox.js), or by its "Mark read" button without JavaScript."""
    conversation = get_object_or_404(Conversation.objects.visible_to(request.user), pk=pk)
    if not services.mark_read(conversation) and request.htmx:
        return HttpResponse(status=204)  # nothing was unread: nothing for the page to show
    # The poll brings the row, the header and the total back read.
    return poll_now(request, conversation)


@view_required
@require_POST
def mark_unread(request, pk):
    conversation = get_conversation(request, pk)
    services.mark_unread(conversation)
    # Staying on the page would read it again at once: go back to the list.
    return redirect(f"{reverse('inbox:index')}?{request.GET.urlencode()}")


def after_action(request, conversation):
    if request.htmx:
        response = render(
            request,
            "inbox/inbox.html#conversation-header",
            header_context(request, conversation),
        )
        response["HX-Trigger"] = "inbox:poll"
        return response
    return back_to(request, conversation)


@require_POST
def choose_language(request):
    language = request.POST.get("language")
    if language not in {code for code, _name in settings.LANGUAGES}:
        return HttpResponseBadRequest("unknown language")
    set_language(request, language)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("inbox:index")
    return redirect(next_url)


@require_GET
def poll(request):
    """What changed since the page's cursor: 204 when nothing did (one query), else
    fragments that the page puts in place: the changed list rows (inbox.js moves, inserts or
    drops each), the open conversation's header and new or changed messages. It changes
    nothing, not even the read state of what it shows: the page posts that (mark_read)."""
    # First, like every view: even "nothing changed" is news about the inbox.
    if not permissions.can_view(request.user):
        raise PermissionDenied
    try:
        cursor = ChangeCursor.parse(request.GET.get("since", ""), request.GET.get("gaps", ""))
    except ValueError:
        return HttpResponseBadRequest("since and gaps must be a change cursor")
    open_pk = parse_id(request.GET.get("open"))
    changes, next_cursor = services.changes_after(cursor, request.user)
    if not changes:
        return HttpResponse(status=204)
    filters = ListFilters.from_query(request.GET)
    changed = {conversation_id for conversation_id, _ in changes}
    context = {"open_pk": open_pk, "changed_messages": []}
    if open_pk in changed:
        open_conversation = (
            Conversation.objects.visible_to(request.user)
            .select_related("contact", "business_number", "assignee", "priority")
            .filter(pk=open_pk)
            .first()
        )
        if open_conversation:
            ids = {m for c, m in changes if c == open_pk and m}
            context |= header_context(request, open_conversation) | {
                "changed_messages": services.messages_by_id(open_conversation, ids),
            }
    rows = services.changed_rows(request.user, filters, changed)
    context |= cursor_context(next_cursor) | {
        "rows": rows,
        "removed_rows": sorted(changed - {row.pk for row in rows}),
        "filters": filters,
        "filter_query": urlencode(filters.as_query()),
        "numbers": list(BusinessNumber.objects.visible_to(request.user)),
        "unread_total": services.unread_total(request.user),
    }
    return render(request, "inbox/poll.html", context)
