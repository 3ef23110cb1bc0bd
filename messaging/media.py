"""Outbound media on the staff's side: Meta's limits, and checking an attachment before it
is queued.

Staff attach a file → `queue_media_message()` checks it (type by the browser's word *and* the
file's own signature, size against Meta's limit for that type), keeps it in private storage
(`outbox-media/<uuid>`, never served by any URL) and queues a pending message whose
`data["upload"]` names the file; from there the sending task takes it (messaging.uploads).
"""

import mimetypes
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, cast
from uuid import UUID

from django.contrib.auth.models import User
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.models import Conversation, Message
from messaging.sending import ReplyRefused, queue_outbound
from messaging.uploads import CAPTION_TYPES, delete_file, store_upload

# Meta allows captions of up to 1,024 characters (on the types in CAPTION_TYPES).
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
    conversation: Conversation,
    user: User | None,
    uploaded_file: File | None,
    caption: str = "",
    client_token: UUID | None = None,
    reply_to: Message | None = None,
) -> Message:
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
    path = store_upload(cast(File, uploaded_file))  # check_attachment refused None
    data: dict[str, Any] = {
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
        delete_file(path)
        raise
    if message.data.get("upload") != path:
        delete_file(path)  # a double submit: the first one's message (and file) stands
    return message


def check_attachment(uploaded_file: File | None) -> Attachment:
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


def declared_type(content_type: str | None, filename: str) -> str | None:
    """The supported MIME type the browser declared, else the one the extension suggests."""
    base = (content_type or "").split(";")[0].strip().lower()
    base = ALIASES.get(base, base)
    if base in SUPPORTED:
        return base
    extension = PurePosixPath(filename.lower()).suffix
    if base in {"", "application/octet-stream", "binary/octet-stream"}:
        return EXTENSIONS.get(extension)
    return None


def clean_filename(name: str) -> str:
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


def _head(uploaded_file: File, size: int = HEAD_BYTES) -> bytes:
    uploaded_file.seek(0)
    head = uploaded_file.read(size)
    uploaded_file.seek(0)
    return head


def sniff(uploaded_file: File) -> str | None:
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


def _office_open_xml(uploaded_file: File) -> str | None:
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


def _looks_like_text(uploaded_file: File) -> bool:
    sample = _head(uploaded_file, TEXT_SAMPLE_BYTES)
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte-order mark
    return bool(sample) and not _BINARY_BYTES.search(sample)


def webp_is_animated(head: bytes) -> bool:
    """True for an animated WebP (an extended VP8X header with the animation flag)."""
    return head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)
