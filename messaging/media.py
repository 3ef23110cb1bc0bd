"""Outbound media: Meta's limits, the file's wait between the web request and the sending task,
and the request body for sending media by id.

Staff attach a file → `queue_media_message()` checks it (type by the browser's word *and* the
file's own signature, size against Meta's limit for that type), keeps it in private storage
(`outbox-media/<uuid>`, never served by any URL) and queues a pending message whose
`data["upload"]` names the file → the sending task calls `prepare_media()`, which uploads it to
`/{phone-number-id}/media`, records Meta's `media_id` and deletes the file → `graph_payload()`
sends the message by id (`media_payload()`). Files of messages that never got that far are
removed by `delete_stale_uploads()`, from the retention job.
"""

import logging
import mimetypes
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath, PureWindowsPath

from django.core.files.storage import default_storage
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.models import Message
from messaging.sending import ReplyRefused, queue_outbound

logger = logging.getLogger(__name__)

# Where attachments wait for the sending task, inside the default storage (MEDIA_ROOT).
OUTBOX_DIR = "outbox-media"
MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})
# Meta: captions are allowed on images, videos and documents, up to 1,024 characters.
CAPTION_TYPES = frozenset({"image", "video", "document"})
MAX_CAPTION_LENGTH = 1024
MAX_FILENAME_LENGTH = 200
KB = 1024
MB = 1024 * KB

# Meta's supported media (Cloud API, "Supported media types"): MIME type → (message type,
# largest file). Stickers are WebP: 100 KB static, 500 KB animated (see check_attachment()).
SUPPORTED = {
    "image/jpeg": ("image", 5 * MB),
    "image/png": ("image", 5 * MB),
    "video/mp4": ("video", 16 * MB),
    "video/3gpp": ("video", 16 * MB),
    "audio/aac": ("audio", 16 * MB),
    "audio/mp4": ("audio", 16 * MB),
    "audio/mpeg": ("audio", 16 * MB),
    "audio/amr": ("audio", 16 * MB),
    "audio/ogg": ("audio", 16 * MB),  # Opus only
    "text/plain": ("document", 100 * MB),
    "application/pdf": ("document", 100 * MB),
    "application/msword": ("document", 100 * MB),
    "application/vnd.ms-excel": ("document", 100 * MB),
    "application/vnd.ms-powerpoint": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "document", 100 * MB,
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("document", 100 * MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "document", 100 * MB,
    ),
    "image/webp": ("sticker", 500 * KB),
}  # fmt: skip
STATIC_STICKER_MAX = 100 * KB
ANIMATED_STICKER_MAX = 500 * KB
# The largest attachment of any kind: requests bigger than this (plus the form's other fields)
# are refused before their body is read.
MAX_UPLOAD_BYTES = max(limit for _kind, limit in SUPPORTED.values())

# What browsers and operating systems call some of these types.
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "video/3gp": "video/3gpp",
    "audio/x-aac": "audio/aac",
    "audio/aacp": "audio/aac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/opus": "audio/ogg",
    "audio/x-opus+ogg": "audio/ogg",
    "audio/amr-nb": "audio/amr",
}
# Extensions, for browsers that send no type (or application/octet-stream).
EXTENSIONS = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".3gp": "video/3gpp",
    ".aac": "audio/aac",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".amr": "audio/amr",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".txt": "text/plain",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# The extensions the file picker offers (the `accept` attribute).
ACCEPT = ",".join([*EXTENSIONS, *SUPPORTED])

# Which file signatures (see sniff()) may carry each type.
SIGNATURES = {
    "image/jpeg": {"jpeg"},
    "image/png": {"png"},
    "image/webp": {"webp"},
    "video/mp4": {"iso-bmff"},
    "video/3gpp": {"iso-bmff"},
    "audio/mp4": {"iso-bmff"},
    "audio/aac": {"adts", "adif", "id3"},
    "audio/mpeg": {"mpeg-audio", "id3"},
    "audio/amr": {"amr"},
    "audio/ogg": {"ogg-opus"},
    "text/plain": {"text"},
    "application/pdf": {"pdf"},
    "application/msword": {"ole"},
    "application/vnd.ms-excel": {"ole"},
    "application/vnd.ms-powerpoint": {"ole"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"docx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"xlsx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {"pptx"},
}

TOO_LARGE = {
    "image": gettext_lazy("Images can be at most %(limit)s on WhatsApp; this one is %(size)s."),
    "video": gettext_lazy("Videos can be at most %(limit)s on WhatsApp; this one is %(size)s."),
    "audio": gettext_lazy("Audio can be at most %(limit)s on WhatsApp; this file is %(size)s."),
    "document": gettext_lazy(
        "Documents can be at most %(limit)s on WhatsApp; this one is %(size)s."
    ),
    "sticker": gettext_lazy("Stickers can be at most %(limit)s on WhatsApp; this one is %(size)s."),
    "animated-sticker": gettext_lazy(
        "Animated stickers can be at most %(limit)s on WhatsApp; this one is %(size)s."
    ),
}
NO_CAPTION = {
    "audio": gettext_lazy("Audio messages cannot have a caption on WhatsApp."),
    "sticker": gettext_lazy("Stickers cannot have a caption on WhatsApp."),
}
# Enough of the file to recognise every signature above (an Ogg page header is 27-282 bytes).
HEAD_BYTES = 4096
TEXT_SAMPLE_BYTES = 64 * KB


class AttachmentRefused(ReplyRefused):
    """The file cannot be sent on WhatsApp; the text says why, for the person who tried."""


@dataclass(frozen=True)
class Attachment:
    """A file that passed the checks: what to tell Meta about it."""

    message_type: str
    mime_type: str
    filename: str
    size: int
    animated: bool = False


def queue_media_message(
    conversation, user, uploaded_file, caption="", client_token=None, reply_to=None
):
    """Check `uploaded_file` (a Django UploadedFile, or any File with `.name`, `.size` and
    `.content_type`), keep it until the sending task uploads it, and queue a pending message.

    Raises AttachmentRefused (a ReplyRefused) for a file WhatsApp would refuse, and
    ReplyRefused when the 24-hour window is closed. A repeated `client_token` returns the
    message the first call created, storing nothing.
    """
    if client_token and (existing := Message.objects.filter(client_token=client_token).first()):
        return existing
    attachment = check_attachment(uploaded_file)
    caption = (caption or "").strip()
    if caption and attachment.message_type not in CAPTION_TYPES:
        raise AttachmentRefused(str(NO_CAPTION[attachment.message_type]))
    if len(caption) > MAX_CAPTION_LENGTH:
        raise AttachmentRefused(
            _("Captions can be at most %(limit)d characters.") % {"limit": MAX_CAPTION_LENGTH}
        )
    path = store_upload(uploaded_file)
    data = {
        "mime_type": attachment.mime_type,
        "filename": attachment.filename,
        "file_size": attachment.size,
        "upload": path,
    }
    if attachment.message_type == "sticker":
        data["animated"] = attachment.animated
    try:
        message = queue_outbound(
            conversation,
            user,
            type=attachment.message_type,
            text=caption,
            data=data,
            client_token=client_token,
            reply_to=reply_to,
        )
    except BaseException:
        _delete_file(path)
        raise
    if message.data.get("upload") != path:
        _delete_file(path)  # a double submit: the first one's message (and file) stands
    return message


def check_attachment(uploaded_file):
    """An Attachment for a file WhatsApp accepts; AttachmentRefused saying why otherwise."""
    if uploaded_file is None:
        raise AttachmentRefused(_("Choose a file to send."))
    size = uploaded_file.size or 0
    if size <= 0:
        raise AttachmentRefused(_("The file is empty."))
    filename = clean_filename(getattr(uploaded_file, "name", "") or "")
    mime_type = declared_type(getattr(uploaded_file, "content_type", ""), filename)
    if mime_type is None:
        raise AttachmentRefused(
            _(
                "WhatsApp cannot send this kind of file. Send a JPEG or PNG image, an MP4 or "
                "3GP video, AAC, M4A, MP3, AMR or Opus audio, a PDF, Word, Excel, PowerPoint "
                "or text document, or a WebP sticker."
            )
        )
    signature = sniff(uploaded_file)
    if signature not in SIGNATURES[mime_type]:
        raise AttachmentRefused(
            _(
                "The contents of the file do not match its type (%(type)s): it may be damaged, or "
                "renamed from another kind of file."
            )
            % {"type": mime_type}
        )
    message_type, limit = SUPPORTED[mime_type]
    animated = False
    if message_type == "sticker":
        animated = webp_is_animated(_head(uploaded_file))
        limit = ANIMATED_STICKER_MAX if animated else STATIC_STICKER_MAX
    if size > limit:
        raise AttachmentRefused(
            str(TOO_LARGE["animated-sticker" if animated else message_type])
            % {"limit": filesizeformat(limit), "size": filesizeformat(size)}
        )
    if not filename:
        filename = f"{message_type}{mimetypes.guess_extension(mime_type) or ''}"
    return Attachment(message_type, mime_type, filename, size, animated)


def declared_type(content_type, filename):
    """The supported MIME type the browser declared, else the one the extension suggests."""
    base = (content_type or "").split(";")[0].strip().lower()
    base = ALIASES.get(base, base)
    if base in SUPPORTED:
        return base
    extension = PurePosixPath(filename.lower()).suffix
    if base in {"", "application/octet-stream", "binary/octet-stream"}:
        return EXTENSIONS.get(extension)
    return None


def clean_filename(name):
    """The last path component, without control characters, at most 200 characters (keeping
    the extension): what the recipient sees as a document's name."""
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def _head(uploaded_file, size=HEAD_BYTES):
    uploaded_file.seek(0)
    head = uploaded_file.read(size)
    uploaded_file.seek(0)
    return head


def sniff(uploaded_file):
    """The kind of file its first bytes say it is ("jpeg", "iso-bmff", "docx", …), or None."""
    head = _head(uploaded_file)
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        return "iso-bmff"  # MP4, M4A, 3GP: the container WhatsApp's video and audio/mp4 use
    if head.startswith(b"OggS"):
        # The first Ogg page holds the codec's identification header.
        return "ogg-opus" if b"OpusHead" in head[:300] else "ogg"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head.startswith(b"ID3"):
        return "id3"
    if head.startswith(b"ADIF"):
        return "adif"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF0 == 0xF0 and head[1] & 0x06 == 0:
        return "adts"  # AAC frame sync, layer 0
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mpeg-audio"  # MP3 frame sync, layer 1-3
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"  # .doc, .xls, .ppt (one container for all three)
    if head.startswith(b"PK\x03\x04"):
        return _office_open_xml(uploaded_file)
    if _looks_like_text(uploaded_file):
        return "text"
    return None


def _office_open_xml(uploaded_file):
    """The Office Open XML kind of a zip (docx, xlsx or pptx), or None for any other zip."""
    parts = {
        "word/document.xml": "docx",
        "xl/workbook.xml": "xlsx",
        "ppt/presentation.xml": "pptx",
    }
    try:
        uploaded_file.seek(0)
        with zipfile.ZipFile(uploaded_file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        uploaded_file.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in parts.items() if part in names), None)


# C0 control characters that never occur in text (tab, newlines, form feed, escape and the
# DOS end-of-file mark do).
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f]")


def _looks_like_text(uploaded_file):
    sample = _head(uploaded_file, TEXT_SAMPLE_BYTES)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte-order mark
    return bool(sample) and not _BINARY_BYTES.search(sample)


def webp_is_animated(head):
    """True for an animated WebP (an extended VP8X header with the animation flag)."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)


def store_upload(uploaded_file):
    """Keep the file in private storage until the sending task uploads it; its storage name."""
    uploaded_file.seek(0)
    return default_storage.save(f"{OUTBOX_DIR}/{uuid.uuid4().hex}", uploaded_file)


def _delete_file(path):
    try:
        default_storage.delete(path)
    except OSError:
        logger.warning("could not delete a temporary attachment", exc_info=True)


def prepare_media(message):
    """Upload a media message's file to Meta once, before its request body is built.

    `message`: a Message row, with `conversation.business_number` loaded (or loadable). Does
    nothing for other types, or when `data["media_id"]` is already there (an earlier attempt
    uploaded it). Otherwise reads the file named by `data["upload"]`, uploads it with
    `get_backend().upload_media()`, records the id in `message.data["media_id"]` (in the
    database and on the instance), drops `data["upload"]` and deletes the file. Returns the
    media id (None for non-media messages).

    Raises SendError: the backend's own on a failed upload (its `retryable`, `stop_sending`
    and `code` as classified; an *ambiguous* upload is re-raised as retryable, since uploading
    again sends nothing to the customer), or a permanent one when the file is gone (deleted by
    retention, or never stored). The file is kept after a failure that will be retried; one
    that fails for good has it deleted (messaging.tasks.record_failure → discard_upload()).
    """
    if message.type not in MEDIA_TYPES:
        return None
    data = dict(message.data or {})
    if data.get("media_id"):
        return data["media_id"]
    path = data.get("upload")
    if not path:
        raise SendError("The message has no file to send")
    try:
        with default_storage.open(path, "rb") as file:
            content = file.read()
    except (FileNotFoundError, OSError):
        raise SendError("The attached file is no longer kept; attach it again to send it") from None
    mime_type = data.get("mime_type") or "application/octet-stream"
    filename = data.get("filename") or f"{message.type}{mimetypes.guess_extension(mime_type) or ''}"
    phone_number_id = message.conversation.business_number.phone_number_id
    try:
        media_id = get_backend().upload_media(phone_number_id, filename, content, mime_type)
    except SendError as error:
        if not error.ambiguous:
            raise
        raise SendError(
            error.title,
            code=error.code,
            subcode=error.subcode,
            details=error.details,
            retryable=True,
            stop_sending=error.stop_sending,
            fbtrace_id=error.fbtrace_id,
        ) from error
    data.pop("upload")
    data["media_id"] = media_id
    Message.objects.filter(pk=message.pk).update(data=data)
    message.data = data
    _delete_file(path)
    logger.info("media of message %s uploaded", message.pk)
    return media_id


def discard_upload(message):
    """Delete a message's waiting file, if any (erasure, or a send that failed for good)."""
    path = (message.data or {}).get("upload")
    if not path:
        return
    _delete_file(path)
    data = {key: value for key, value in message.data.items() if key != "upload"}
    Message.objects.filter(pk=message.pk).update(data=data)
    message.data = data


def media_payload(message):
    """The media object of a Cloud API "send media by id" request: {"id", "caption",
    "filename"}, the last two only where Meta allows them and we have them.

    Raises SendError (permanent) when the file was never uploaded (prepare_media() first).
    """
    media_id = (message.data or {}).get("media_id")
    if not media_id:
        raise SendError("The attachment was not uploaded to WhatsApp")
    body = {"id": media_id}
    if message.text and message.type in CAPTION_TYPES:
        body["caption"] = message.text
    if message.type == "document" and message.data.get("filename"):
        body["filename"] = message.data["filename"]
    return body


def delete_stale_uploads(older_than=timedelta(days=1)):
    """Delete waiting attachment files last written more than `older_than` (a timedelta)
    ago, except those of messages still pending upload. Returns how many were deleted.

    Files normally leave at upload; what is left belongs to messages that failed, were
    erased, or to requests that crashed between storing the file and committing.
    """
    try:
        _dirs, names = default_storage.listdir(OUTBOX_DIR)
    except FileNotFoundError:
        return 0
    cutoff = timezone.now() - older_than
    waiting = set(
        Message.objects.filter(
            status=Message.Status.PENDING, type__in=MEDIA_TYPES, data__has_key="upload"
        ).values_list("data__upload", flat=True)
    )
    deleted = 0
    for name in names:
        path = f"{OUTBOX_DIR}/{name}"
        if path in waiting:
            continue
        try:
            if default_storage.get_modified_time(path) >= cutoff:
                continue
        except FileNotFoundError:
            continue
        _delete_file(path)
        deleted += 1
    return deleted
