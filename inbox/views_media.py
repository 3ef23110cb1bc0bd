"""Media in the inbox: a same-origin proxy for the media Meta holds, and attaching files.

The proxy: Meta keeps inbound media (for 7 days) behind URLs that need our access token and
expire after five minutes, so the browser cannot load them itself. Staff's browsers ask us;
we ask Meta for a fresh URL and stream the bytes through, storing nothing (the privacy policy
promises no content beyond operational needs), and neither may the browser: customers' photos
and documents are personal data, and staff laptops and phones are often shared. The price is
a fetch from Meta each time a conversation is opened.
"""

import logging
import mimetypes
import re
import uuid

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import filesizeformat
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from inbox import services
from inbox.views import back_to, get_conversation
from messaging.backends import get_backend
from messaging.backends.base import SendError, UnsafeRequest
from messaging.ids import parse_id
from messaging.media import MAX_UPLOAD_BYTES, queue_media_message
from messaging.models import Message
from messaging.sending import ReplyRefused
from messaging.tasks import pause_sending
from staff import permissions
from staff.permissions import view_required

logger = logging.getLogger(__name__)

# Neither the browser nor any cache on the way keeps a copy (see above).
NO_STORE = "no-store"
# Types a browser may show inside the page. Anything else (text/html, image/svg+xml, …) is
# only ever downloaded: inline, it could run script on our origin.
INLINE_TYPES = frozenset(
    {
        "image/jpeg", "image/png", "image/webp", "image/gif",
        "audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg", "audio/opus",
        "video/mp4", "video/3gpp",
    }
)  # fmt: skip
INLINE_MESSAGE_TYPES = frozenset({"image", "sticker", "audio", "video"})
# type/subtype with optional parameters, e.g. "audio/ogg; codecs=opus".
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=(\"[\w .+-]*\"|[\w.+-]+))*$")
# The multipart form around an attachment: fields, boundaries, headers.
FORM_OVERHEAD_BYTES = 64 * 1024


def get_visible_message(request, pk):
    """The media message `pk` if `request.user` may see its conversation, else Http404."""
    message = get_object_or_404(
        Message.objects.visible_to(request.user),
        pk=pk,
        type__in=Message.MEDIA_TYPES,
        revoked_at__isnull=True,
    )
    if not (message.data or {}).get("media_id"):
        raise Http404("This message has no media.")
    return message


@view_required
@require_GET
def media(request, message_pk):
    """Stream the media of message `message_pk` from Meta to a staff member's browser."""
    message = get_visible_message(request, message_pk)
    media_id = message.data["media_id"]
    backend = get_backend()
    limit = settings.WHATSAPP_MEDIA_MAX_BYTES
    try:
        info = backend.media_info(media_id)
        if info.file_size and info.file_size > limit:
            return unavailable(request, message, too_large=True)
        chunks = backend.download_media(info.url, limit)
        # The first chunk makes the request: a refusal surfaces here, before any header is
        # sent, as a page rather than a broken download.
        first = next(chunks, b"")
    except SendError as error:
        logger.warning(
            "media of message %s unavailable: %s (code %s)", message.pk, error.title, error.code
        )
        if error.stop_sending:
            # The token is what failed, not the media: every Graph call fails alike.
            pause_sending(message.conversation.business_number, error)
            return unavailable(request, message, token_rejected=True)
        if isinstance(error, UnsafeRequest):
            return unavailable(request, message, refused=True)
        return unavailable(request, message, temporary=not error.permanent)

    content_type = media_type(info.mime_type) or media_type(message.data.get("mime_type"))
    content_type = content_type or "application/octet-stream"
    base_type = content_type.split(";")[0].strip().lower()
    inline = message.type in INLINE_MESSAGE_TYPES and base_type in INLINE_TYPES
    response = StreamingHttpResponse(stream(message.pk, first, chunks), content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(not inline, "" if inline else download_name(message, base_type))
        or "inline"
    )
    response["Cache-Control"] = NO_STORE
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own (a new tab), the file may run nothing and load nothing.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def stream(message_pk, first, chunks):
    try:
        if first:
            yield first
        yield from chunks
    except SendError as error:
        # Headers are gone: all we can do is cut the response short, so the browser sees an
        # incomplete download rather than a complete-looking truncated file.
        logger.warning("media of message %s cut short: %s", message_pk, error.title)
        raise
    finally:
        chunks.close()


def media_type(value):
    """`value` if it is a well-formed MIME type (parameters allowed), else ""."""
    value = (value or "").strip()
    return value if _MIME.match(value) else ""


def download_name(message, base_type):
    filename = (message.data.get("filename") or "").strip()
    if filename:
        return filename
    extension = mimetypes.guess_extension(base_type) or ""
    return f"whatsapp-{message.type}-{message.pk}{extension}"


def unavailable(
    request, message, *, too_large=False, temporary=False, token_rejected=False, refused=False
):
    """A small page instead of the file: expired (410), too large (410), Meta unreachable
    for now (503, try again), our access token refused (503, until staff replace it), or
    what Meta gave for the file refused by the transport (502: an id or a URL the access
    token must not be sent to; the log says which)."""
    heading = _("Media no longer available")
    status = 410
    retry_after = False
    if refused:
        heading = _("Media not available")
        status = 502
        reason = _(
            "The inbox refused to fetch this file: WhatsApp gave an id or an address that the "
            "inbox does not send its access token to. The server log has the details."
        )
    elif token_rejected:
        heading = _("Media not available right now")
        status = 503
        reason = _(
            "WhatsApp rejected the inbox's access token, so media cannot be fetched until an "
            "administrator replaces the token."
        )
    elif too_large:
        reason = _("This file is larger than the inbox may download (%(limit)s).") % {
            "limit": filesizeformat(settings.WHATSAPP_MEDIA_MAX_BYTES)
        }
    elif temporary:
        heading = _("Media not available right now")
        status = 503
        retry_after = True
        reason = _("WhatsApp could not be reached to fetch this file. Try again in a moment.")
    else:
        reason = _(
            "This media is no longer available: WhatsApp keeps media for a limited time only."
        )
    response = render(
        request,
        "inbox/media_unavailable.html",
        {"message": message, "reason": reason, "heading": heading},
        status=status,
    )
    response["Cache-Control"] = NO_STORE
    if retry_after:
        response["Retry-After"] = "30"
    return response


@view_required
@csrf_exempt  # checked below, once we know the body is not too large to read
@require_POST
def attach(request, pk):
    """Queue a media message from the composer's attachment form."""
    conversation = get_conversation(request, pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES:
        # Refused before Django reads (and spools to disk) a body this large.
        return refused(
            request,
            conversation,
            _("This file is too large for WhatsApp (documents up to %(limit)s).")
            % {"limit": filesizeformat(MAX_UPLOAD_BYTES)},
        )
    return _attach(request, conversation)


@csrf_protect
def _attach(request, conversation):
    try:
        token = uuid.UUID(request.POST.get("client_token", ""))
    except ValueError:
        token = None
    reply_to = None
    if pk := parse_id(request.POST.get("reply_to")):
        reply_to = conversation.messages.filter(pk=pk).first()
    try:
        message = queue_media_message(
            conversation,
            request.user,
            request.FILES.get("file"),
            caption=request.POST.get("caption", ""),
            client_token=token,
            reply_to=reply_to,
        )
    except ReplyRefused as refusal:
        return refused(request, conversation, str(refusal), request.POST.get("caption", ""))
    if request.htmx:
        # A fresh form, and the new message at the end of the timeline at once (the poll
        # brings its later changes and replaces it in place).
        response = render(
            request,
            "inbox/composer_attachment.html",
            attach_context(request, conversation)
            | {"new_messages": services.messages_by_id(conversation, {message.pk})},
        )
        response["HX-Trigger"] = "inbox:poll"
        return response
    return back_to(request, conversation)


def attach_context(request, conversation):
    return {
        "conversation": conversation,
        "can_reply": permissions.can_reply(request.user),
        "attach_response": True,
    }


def refused(request, conversation, reason, caption=""):
    if request.htmx:
        return render(
            request,
            "inbox/composer_attachment.html",
            attach_context(request, conversation) | {"attach_error": reason, "caption": caption},
            status=422,
        )
    flash.error(request, reason)
    return back_to(request, conversation)
