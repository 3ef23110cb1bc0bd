"""Outbound media files on the worker's side: kept in private storage from the web request
until the sending task uploads them to Meta, then sent by id.

The request keeps the file (`store_upload()`, from messaging.media) and names it in the pending
message's `data["upload"]` → the sending task calls `prepare_media()`, which uploads it to
`/{phone-number-id}/media`, records Meta's `media_id` and deletes the file → the request body
sends the message by id (`media_payload()`). Files of messages that never got that far are
removed by `delete_stale_uploads()`, from the retention job.
"""

import logging
import mimetypes
import uuid
from datetime import timedelta

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from messaging.backends import get_backend
from messaging.backends.base import SendError
from messaging.models import Message

logger = logging.getLogger(__name__)

# Where attachments wait for the sending task, inside the default storage: MEDIA_ROOT on this
# machine's disk, or the bucket MEDIA_STORAGE_URL names (messaging.storage). Only the storage
# API reaches them, never a path, so that both work alike.
OUTBOX_DIR = "outbox-media"
# Meta: captions are allowed on images, videos and documents, up to 1,024 characters.
CAPTION_TYPES = frozenset({"image", "video", "document"})


def store_upload(uploaded_file: File) -> str:
    """Keep the file in private storage until the sending task uploads it; its storage name."""
    uploaded_file.seek(0)
    return default_storage.save(f"{OUTBOX_DIR}/{uuid.uuid4().hex}", uploaded_file)


def delete_file(path: str) -> None:
    """Delete a waiting file; a storage error is logged, never raised (delete_stale_uploads
    removes what is left)."""
    try:
        default_storage.delete(path)
    except OSError:
        logger.warning("could not delete a temporary attachment", exc_info=True)


def prepare_media(message: Message) -> str | None:
    """Upload a media message's file to Meta once, before its request body is built.

    `message`: a Message row, with `conversation.business_number` loaded (or loadable). Does
    nothing for other types, or when `data["media_id"]` is already there (an earlier attempt
    uploaded it). Otherwise reads the file named by `data["upload"]`, uploads it with
    `get_backend().upload_media()`, records the id in `message.data["media_id"]` (in the
    database and on the instance), drops `data["upload"]` and deletes the file. Returns the
    media id (None for non-media messages).

    Raises SendError: the backend's own on a failed upload (its `retryable`, `stop_sending`
    and `code` as classified; an *ambiguous* upload is re-raised as retryable, since uploading
    again sends nothing to the customer), a permanent one when the file is gone (deleted by
    retention, or never stored), or a retryable one when the storage could not be read. The
    file is kept after a failure that will be retried; one that fails for good has it deleted
    (messaging.tasks.record_failure → discard_upload()).
    """
    if message.type not in Message.MEDIA_TYPES:
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
    except FileNotFoundError:
        raise SendError("The attached file is no longer kept; attach it again to send it") from None
    except OSError:
        # The storage (a bucket, over the network) failed, not the file: it is still there.
        logger.warning("could not read a waiting attachment", exc_info=True)
        raise SendError(
            "The attached file could not be read; trying again", retryable=True
        ) from None
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
    delete_file(path)
    logger.info("media of message %s uploaded", message.pk)
    return media_id


def discard_upload(message: Message) -> None:
    """Delete a message's waiting file, if any (erasure, or a send that failed for good)."""
    path = (message.data or {}).get("upload")
    if not path:
        return
    delete_file(path)
    data = {key: value for key, value in message.data.items() if key != "upload"}
    Message.objects.filter(pk=message.pk).update(data=data)
    message.data = data


def media_payload(message: Message) -> dict[str, str]:
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


def delete_stale_uploads(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete waiting attachment files last written more than `older_than` (a timedelta)
    ago, except those of messages still pending upload. Returns how many were deleted.

    Files normally leave at upload; what is left belongs to messages that failed, were
    erased, or to requests that crashed between storing the file and committing. It lists the
    storage, so with a bucket it sees the files of every machine. A storage that fails is
    logged and skipped: the next run tries again.
    """
    try:
        _dirs, names = default_storage.listdir(OUTBOX_DIR)
    except FileNotFoundError:
        return 0
    except OSError:
        logger.warning("could not list waiting attachments", exc_info=True)
        return 0
    cutoff = timezone.now() - older_than
    waiting = set(
        Message.objects.filter(
            status=Message.Status.PENDING, type__in=Message.MEDIA_TYPES, data__has_key="upload"
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
        except OSError:
            logger.warning("could not date a waiting attachment", exc_info=True)
            continue
        delete_file(path)
        deleted += 1
    return deleted
