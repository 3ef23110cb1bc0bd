"""messaging.media and messaging.uploads: checking attachments, keeping them until the sending
task uploads them to Meta, and the media object of a send-by-id request."""

import os
import time
import uuid
from datetime import timedelta

import pytest
import responses
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from messaging import payloads as p
from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.ingest import receive
from messaging.media import AttachmentRefused, check_attachment, clean_filename, queue_media_message
from messaging.models import Conversation, Message
from messaging.outbound import graph_payload
from messaging.sending import ReplyRefused
from messaging.tasks import send_message
from messaging.uploads import (
    OUTBOX_DIR,
    delete_stale_uploads,
    discard_upload,
    media_payload,
    prepare_media,
)
from tests import media_files as f

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
GRAPH = "https://graph.facebook.com/v23.0"


def conversation(*, hours_ago=0.1, sender=p.USER_WA_ID):
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=sender, name="Amina Khalid")],
            messages=[
                p.text_message(
                    "Hello", sender=sender, timestamp=timezone.now() - timedelta(hours=hours_ago)
                )
            ],
        )
    )
    receive(p.encode(body))
    return Conversation.objects.select_related("business_number", "contact").get(
        contact__wa_id=sender
    )


def upload(content, name="file.bin", content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files():
    try:
        return default_storage.listdir(OUTBOX_DIR)[1]
    except FileNotFoundError:
        return []


# Checking files


@pytest.mark.parametrize(
    ("content", "name", "content_type", "message_type", "mime_type"),
    [
        (f.JPEG, "photo.jpg", "image/jpeg", "image", "image/jpeg"),
        (f.png(), "screen.png", "image/png", "image", "image/png"),
        (f.MP4, "clip.mp4", "video/mp4", "video", "video/mp4"),
        (f.THREE_GP, "clip.3gp", "video/3gpp", "video", "video/3gpp"),
        (f.M4A, "note.m4a", "audio/x-m4a", "audio", "audio/mp4"),
        (f.MP3, "song.mp3", "audio/mpeg", "audio", "audio/mpeg"),
        (f.MP3_NO_TAG, "song.mp3", "audio/mp3", "audio", "audio/mpeg"),
        (f.AAC, "note.aac", "audio/aac", "audio", "audio/aac"),
        (f.AMR, "call.amr", "audio/amr", "audio", "audio/amr"),
        (f.OGG_OPUS, "voice.ogg", "audio/ogg", "audio", "audio/ogg"),
        (f.PDF, "invoice.pdf", "application/pdf", "document", "application/pdf"),
        (f.OLE, "letter.doc", "application/msword", "document", "application/msword"),
        (f.OLE, "sheet.xls", "application/vnd.ms-excel", "document", "application/vnd.ms-excel"),
        (
            f.office("docx"),
            "letter.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            f.office("xlsx"),
            "sheet.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            f.office("pptx"),
            "slides.pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "document",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (f.TEXT, "notes.txt", "text/plain", "document", "text/plain"),
        (f.webp(), "sticker.webp", "image/webp", "sticker", "image/webp"),
    ],
)
def test_it_accepts_each_kind_whatsapp_sends_by_type_and_signature(
    content, name, content_type, message_type, mime_type
):
    attachment = check_attachment(upload(content, name, content_type))

    assert attachment.message_type == message_type
    assert attachment.mime_type == mime_type
    assert attachment.filename == name
    assert attachment.size == len(content)


def test_it_goes_by_the_extension_when_the_browser_sends_no_type():
    attachment = check_attachment(upload(f.PDF, "scan.PDF", ""))

    assert (attachment.message_type, attachment.mime_type) == ("document", "application/pdf")


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (f.HTML, "invoice.pdf", "application/pdf"),  # a web page renamed
        (f.EXE, "photo.jpg", "image/jpeg"),  # a program renamed
        (f.png(), "photo.jpg", "image/jpeg"),  # a PNG is not a JPEG either
        (f.OGG_VORBIS, "song.ogg", "audio/ogg"),  # WhatsApp takes Opus only
        (
            f.plain_zip(),
            "letter.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            f.office("xlsx"),
            "letter.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (f.EXE, "notes.txt", "text/plain"),  # binary is not text
        (f.PDF, "clip.mp4", "application/octet-stream"),  # extension says video
    ],
)
def test_it_refuses_a_file_whose_contents_do_not_match_its_type(content, name, content_type):
    with pytest.raises(AttachmentRefused, match="contents of the file do not match"):
        check_attachment(upload(content, name, content_type))


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (f.GIF, "funny.gif", "image/gif"),
        (f.SVG, "logo.svg", "image/svg+xml"),
        (f.HTML, "page.html", "text/html"),
        (f.EXE, "setup.exe", "application/octet-stream"),
        (f.EXE, "setup", ""),
    ],
)
def test_it_refuses_types_whatsapp_cannot_send(content, name, content_type):
    with pytest.raises(AttachmentRefused, match="WhatsApp cannot send this kind of file"):
        check_attachment(upload(content, name, content_type))


@pytest.mark.parametrize(
    ("content", "name", "content_type", "message"),
    [
        (f.padded(f.JPEG, 5 * MB + 1), "big.jpg", "image/jpeg", "Images can be at most 5.0"),
        (f.padded(f.MP4, 16 * MB + 1), "big.mp4", "video/mp4", "Videos can be at most 16.0"),
        (f.padded(f.MP3, 16 * MB + 1), "big.mp3", "audio/mpeg", "Audio can be at most 16.0"),
        (f.webp(size=100 * 1024 + 1), "big.webp", "image/webp", "Stickers can be at most 100"),
        (
            f.webp(animated=True, size=500 * 1024 + 1),
            "big.webp",
            "image/webp",
            "Animated stickers can be at most 500",
        ),
    ],
)
def test_it_refuses_files_over_metas_limit_for_their_kind(content, name, content_type, message):
    with pytest.raises(AttachmentRefused, match=message):
        check_attachment(upload(content, name, content_type))


def test_documents_may_be_far_larger_than_images_and_animated_stickers_than_static_ones():
    document = check_attachment(upload(f.padded(f.PDF, 20 * MB), "report.pdf", "application/pdf"))
    sticker = check_attachment(
        upload(f.webp(animated=True, size=300 * 1024), "a.webp", "image/webp")
    )

    assert document.size == 20 * MB
    assert (sticker.message_type, sticker.animated) == ("sticker", True)


def test_it_refuses_an_empty_file_and_no_file():
    with pytest.raises(AttachmentRefused, match="empty"):
        check_attachment(upload(b"", "nothing.pdf", "application/pdf"))
    with pytest.raises(AttachmentRefused, match="Choose a file"):
        check_attachment(None)


def test_file_names_lose_their_path_and_control_characters_and_keep_their_extension():
    assert clean_filename("C:\\Users\\amina\\Desktop\\فاتورة.pdf") == "فاتورة.pdf"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("bad\x00name\n.txt") == "badname.txt"
    long = clean_filename("x" * 300 + ".docx")
    assert len(long) == 200
    assert long.endswith(".docx")


# Queueing


def test_it_queues_a_pending_media_message_and_keeps_the_file_privately(staff_user):
    chat = conversation()

    message = queue_media_message(
        chat, staff_user, upload(f.JPEG, "receipt.jpg", "image/jpeg"), caption=" Your receipt "
    )

    message.refresh_from_db()
    assert (message.type, message.direction, message.status) == ("image", "out", "pending")
    assert message.text == "Your receipt"
    assert message.sent_by == staff_user
    path = message.data["upload"]
    assert path.startswith(f"{OUTBOX_DIR}/")
    assert "receipt" not in path  # the stored name says nothing about the file
    assert default_storage.open(path).read() == f.JPEG
    assert message.data | {"upload": "…"} == {
        "mime_type": "image/jpeg",
        "filename": "receipt.jpg",
        "file_size": len(f.JPEG),
        "upload": "…",
    }
    assert "media_id" not in message.data


def test_a_reply_to_a_customer_message_is_recorded(staff_user):
    chat = conversation()
    original = chat.messages.get()

    message = queue_media_message(
        chat, staff_user, upload(f.PDF, "a.pdf", "application/pdf"), reply_to=original
    )

    assert message.reply_to_wamid == original.wamid


def test_a_double_submit_returns_the_first_message_and_keeps_one_file(staff_user):
    chat = conversation()
    token = uuid.uuid4()

    first = queue_media_message(
        chat, staff_user, upload(f.JPEG, "a.jpg", "image/jpeg"), client_token=token
    )
    again = queue_media_message(
        chat, staff_user, upload(f.JPEG, "a.jpg", "image/jpeg"), client_token=token
    )

    assert again.pk == first.pk
    assert Message.objects.filter(direction="out").count() == 1
    assert len(stored_files()) == 1


def test_nothing_is_stored_when_the_24_hour_window_has_closed(staff_user):
    chat = conversation(hours_ago=25)

    with pytest.raises(ReplyRefused, match="24-hour window"):
        queue_media_message(chat, staff_user, upload(f.JPEG, "a.jpg", "image/jpeg"))

    assert stored_files() == []
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [(f.MP3, "a.mp3", "audio/mpeg"), (f.webp(), "s.webp", "image/webp")],
)
def test_audio_and_stickers_cannot_carry_a_caption(staff_user, content, name, content_type):
    chat = conversation()

    with pytest.raises(AttachmentRefused, match="cannot have a caption"):
        queue_media_message(chat, staff_user, upload(content, name, content_type), caption="Hi")

    assert stored_files() == []


def test_captions_are_limited_to_1024_characters(staff_user):
    chat = conversation()

    with pytest.raises(AttachmentRefused, match="1024"):
        queue_media_message(
            chat, staff_user, upload(f.JPEG, "a.jpg", "image/jpeg"), caption="x" * 1025
        )


# Uploading from the sending task


def queued(staff_user, content=f.PDF, name="تقرير.pdf", content_type="application/pdf", caption=""):
    message = queue_media_message(
        conversation(), staff_user, upload(content, name, content_type), caption=caption
    )
    return Message.objects.select_related("conversation__business_number").get(pk=message.pk)


def test_prepare_media_uploads_once_records_the_id_and_deletes_the_file(staff_user):
    message = queued(staff_user)
    path = message.data["upload"]

    media_id = prepare_media(message)

    assert locmem.media[media_id] == {
        "content": f.PDF,
        "mime_type": "application/pdf",
        "filename": "تقرير.pdf",
    }
    assert message.data["media_id"] == media_id
    stored = Message.objects.get(pk=message.pk).data
    assert stored["media_id"] == media_id
    assert "upload" not in stored
    assert stored["filename"] == "تقرير.pdf"
    assert not default_storage.exists(path)

    again = prepare_media(Message.objects.get(pk=message.pk))

    assert again == media_id
    assert len(locmem.media) == 1  # uploaded once


@responses.activate
def test_prepare_media_posts_the_file_to_the_numbers_media_endpoint(staff_user, settings):
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "cloud", "OPTIONS": {}}
    settings.WHATSAPP_ACCESS_TOKEN = "test-token"
    message = queued(staff_user, content=f.JPEG, name="photo.jpg", content_type="image/jpeg")
    upload_call = responses.post(
        f"{GRAPH}/{p.PHONE_NUMBER_ID}/media", json={"id": "4490709327384033"}
    )

    assert prepare_media(message) == "4490709327384033"

    request = upload_call.calls[0].request
    assert request.headers["Authorization"] == "Bearer test-token"
    assert b'name="messaging_product"\r\n\r\nwhatsapp' in request.body
    assert b'name="type"\r\n\r\nimage/jpeg' in request.body
    assert b'filename="photo.jpg"' in request.body
    assert f.JPEG in request.body
    assert stored_files() == []


def test_a_failed_upload_keeps_the_file_for_a_retry(staff_user):
    message = queued(staff_user)
    locmem.failures.append(SendError("Rate limited", code=130429, retryable=True))

    with pytest.raises(SendError) as raised:
        prepare_media(message)

    assert raised.value.retryable
    assert default_storage.exists(message.data["upload"])
    assert "media_id" not in Message.objects.get(pk=message.pk).data
    assert prepare_media(message)  # the retry works


def test_an_ambiguous_upload_may_simply_be_retried(staff_user):
    message = queued(staff_user)
    locmem.failures.append(SendError("Timed out", ambiguous=True))

    with pytest.raises(SendError) as raised:
        prepare_media(message)

    assert raised.value.retryable
    assert not raised.value.ambiguous


def test_prepare_media_fails_for_good_when_the_file_is_gone(staff_user):
    message = queued(staff_user)
    default_storage.delete(message.data["upload"])

    with pytest.raises(SendError, match="attach it again") as raised:
        prepare_media(message)

    assert raised.value.permanent
    assert locmem.media == {}


def test_prepare_media_leaves_other_messages_alone(staff_user):
    text = conversation().messages.get()

    assert prepare_media(text) is None


def test_discard_upload_deletes_the_waiting_file(staff_user):
    message = queued(staff_user)
    path = message.data["upload"]

    discard_upload(message)

    assert not default_storage.exists(path)
    assert "upload" not in Message.objects.get(pk=message.pk).data


# The request body


def media_message(type, *, text="", **data):
    chat = conversation()
    return Message.objects.create(
        conversation=chat,
        direction="out",
        type=type,
        text=text,
        data=data,
        timestamp=timezone.now(),
        status="pending",
    )


@pytest.mark.parametrize(
    ("type", "text", "data", "expected"),
    [
        ("image", "", {"media_id": "1"}, {"id": "1"}),
        ("image", "Look", {"media_id": "1", "filename": "a.jpg"}, {"id": "1", "caption": "Look"}),
        ("video", "Clip", {"media_id": "2"}, {"id": "2", "caption": "Clip"}),
        ("audio", "", {"media_id": "3", "filename": "a.mp3"}, {"id": "3"}),
        ("sticker", "", {"media_id": "4"}, {"id": "4"}),
        (
            "document",
            "Your invoice",
            {"media_id": "5", "filename": "invoice.pdf"},
            {"id": "5", "caption": "Your invoice", "filename": "invoice.pdf"},
        ),
    ],
)
def test_media_payload_is_metas_media_object_by_id(type, text, data, expected):
    assert media_payload(media_message(type, text=text, **data)) == expected


def test_media_payload_refuses_a_message_whose_file_was_never_uploaded():
    with pytest.raises(SendError, match="not uploaded"):
        media_payload(media_message("image", upload="outbox-media/x"))


def test_the_whole_request_body_of_an_uploaded_document(staff_user):
    message = queued(staff_user, caption="Your report")
    prepare_media(message)

    body = graph_payload(message)

    assert body["type"] == "document"
    assert body["document"] == {
        "id": message.data["media_id"],
        "caption": "Your report",
        "filename": "تقرير.pdf",
    }


# Retention


def test_delete_stale_uploads_removes_old_files_but_not_those_still_waiting(staff_user):
    waiting = queued(staff_user).data["upload"]
    failed = queued(staff_user)
    Message.objects.filter(pk=failed.pk).update(status="failed")
    orphan = default_storage.save(f"{OUTBOX_DIR}/{uuid.uuid4().hex}", upload(b"left over"))
    fresh = default_storage.save(f"{OUTBOX_DIR}/{uuid.uuid4().hex}", upload(b"just arrived"))
    two_days_ago = time.time() - 2 * 24 * 3600
    for path in (waiting, failed.data["upload"], orphan):
        os.utime(default_storage.path(path), (two_days_ago, two_days_ago))

    deleted = delete_stale_uploads(timedelta(days=1))

    assert deleted == 2
    assert default_storage.exists(waiting)
    assert default_storage.exists(fresh)
    assert not default_storage.exists(orphan)
    assert not default_storage.exists(failed.data["upload"])


def test_delete_stale_uploads_copes_with_no_folder_at_all():
    assert delete_stale_uploads(timedelta(0)) == 0


# With the sending task


def test_the_sending_task_uploads_the_file_sends_it_by_id_and_keeps_no_copy(staff_user):
    message = queued(staff_user, content=f.JPEG, name="receipt.jpg", content_type="image/jpeg")
    path = message.data["upload"]

    send_message.call(message.pk)

    message.refresh_from_db()
    assert message.wamid
    assert not default_storage.exists(path)
    [(phone_number_id, body)] = [sent for sent in locmem.outbox if sent[1].get("type") == "image"]
    assert phone_number_id == p.PHONE_NUMBER_ID
    assert body["image"] == {"id": message.data["media_id"]}
    assert locmem.media[message.data["media_id"]]["content"] == f.JPEG
