"""Attachments in an S3-compatible bucket (MEDIA_STORAGE_URL; messaging.storage), against a
local S3 server on loopback (moto, tests/conftest.py): what one machine stores, a worker on
another sends; nothing is public; a failing bucket is a temporary failure.

The Graph API is mocked with `responses`, which patches `requests` only: boto3 talks to the
S3 server through its own urllib3 connections, untouched, as the first test shows.
"""

import socket
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.media_storage import media_storage
from messaging import payloads as p
from messaging.backends.base import SendError
from messaging.media import queue_media_message
from messaging.models import Message
from messaging.uploads import OUTBOX_DIR, delete_stale_uploads, prepare_media, store_upload
from tests import media_files as f
from tests.storage_support import S3_BUCKET, S3_KEYS, S3_REGION, keys_in
from tests.teamwork_support import run_queued

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"
SEND_TASK = "messaging.tasks.send_message"


def jpeg(name="receipt.jpg"):
    return SimpleUploadedFile(name, f.JPEG, content_type="image/jpeg")


def files_under(folder):
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def loaded(message):
    return Message.objects.select_related("conversation__business_number").get(pk=message.pk)


def attach_on_the_web_machine(client, conversation, capture):
    """Staff attach a photo through the inbox; the task row it queues is what a worker runs."""
    with capture(execute=True):
        response = client.post(
            reverse("inbox:attach", args=[conversation.pk]), {"file": jpeg(), "caption": "Paid"}
        )
    assert response.status_code == 302
    return Message.objects.get(direction="out", type="image")


def test_a_file_attached_on_the_web_machine_is_sent_by_a_worker_on_another(
    staff_client,
    conversation,
    cloud,
    s3_storage,
    s3_bucket,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    web_disk, worker_disk = tmp_path / "web", tmp_path / "worker"
    settings.MEDIA_ROOT = web_disk
    message = attach_on_the_web_machine(
        staff_client, conversation, django_capture_on_commit_callbacks
    )
    path = message.data["upload"]

    assert keys_in(s3_bucket, s3_storage) == [f"{s3_storage}/{path}"]
    assert files_under(web_disk) == []

    # The worker: another machine, another MEDIA_ROOT, the same bucket.
    settings.MEDIA_ROOT = worker_disk
    upload = cloud.post(f"{GRAPH}/{p.PHONE_NUMBER_ID}/media", json={"id": "4490709327384033"})
    send = cloud.post(
        f"{GRAPH}/{p.PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.SENT"}]},
    )
    run_queued(SEND_TASK)

    message.refresh_from_db()
    assert (message.status, message.wamid) == ("sent", "wamid.SENT")
    assert f.JPEG in upload.calls[0].request.body
    assert b'"id": "4490709327384033"' in send.calls[0].request.body
    assert b'"caption": "Paid"' in send.calls[0].request.body
    assert keys_in(s3_bucket, s3_storage) == []  # Meta has it: the bucket keeps no copy
    assert files_under(worker_disk) == []


def test_with_local_disks_the_worker_on_another_machine_cannot_find_the_file(
    staff_client, conversation, cloud, settings, tmp_path, django_capture_on_commit_callbacks
):
    web_disk, worker_disk = tmp_path / "web", tmp_path / "worker"
    settings.MEDIA_ROOT = web_disk
    message = attach_on_the_web_machine(
        staff_client, conversation, django_capture_on_commit_callbacks
    )

    settings.MEDIA_ROOT = worker_disk
    run_queued(SEND_TASK)  # `cloud` fails the test on any request to Meta: none is made

    message.refresh_from_db()
    assert message.status == "failed"
    assert "attach it again" in message.error_title
    # Why a bucket exists: the file is still there, on the other machine's disk.
    assert [file.name for file in files_under(web_disk)] == [message.data["upload"][-32:]]


def test_the_bucket_holds_waiting_files_privately_and_gives_no_url(s3_storage, s3_bucket):
    path = store_upload(jpeg())

    acl = s3_bucket.get_object_acl(Bucket=S3_BUCKET, Key=f"{s3_storage}/{path}")
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["Type"] == "CanonicalUser"  # the owner, nobody else
    with pytest.raises(ValueError, match="private"):
        default_storage.url(path)
    assert default_storage.open(path).read() == f.JPEG


def test_a_bucket_out_of_reach_is_a_temporary_failure_and_the_file_is_kept(
    s3_storage, s3_bucket, settings, staff_user, conversation
):
    message = queue_media_message(conversation, staff_user, jpeg())
    path = message.data["upload"]
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": media_storage(
                f"s3://{S3_BUCKET}/{s3_storage}?endpoint_url={unreachable}&region={S3_REGION}",
                *S3_KEYS,
            ),
        }

        with pytest.raises(SendError) as raised:
            prepare_media(loaded(message))
        stale = delete_stale_uploads(timedelta(0))

    assert raised.value.retryable
    assert stale == 0  # the bucket could not be listed: logged, tried again next run
    assert keys_in(s3_bucket, s3_storage) == [f"{s3_storage}/{path}"]


def test_a_file_gone_from_the_bucket_fails_for_good(s3_storage, staff_user, conversation):
    message = queue_media_message(conversation, staff_user, jpeg())
    default_storage.delete(message.data["upload"])

    with pytest.raises(SendError, match="attach it again") as raised:
        prepare_media(loaded(message))

    assert raised.value.permanent


def test_stale_upload_cleanup_lists_the_bucket_and_keeps_recent_and_waiting_files(
    s3_storage, s3_bucket, settings, tmp_path, staff_user, conversation
):
    settings.MEDIA_ROOT = tmp_path / "one"
    waiting = queue_media_message(conversation, staff_user, jpeg()).data["upload"]
    settings.MEDIA_ROOT = tmp_path / "two"
    orphan = store_upload(jpeg())

    assert delete_stale_uploads(timedelta(days=1)) == 0  # both just written
    # Everything written before now counts as old: the orphan goes, the waiting file stays.
    assert delete_stale_uploads(-timedelta(minutes=1)) == 1

    assert keys_in(s3_bucket, s3_storage) == [f"{s3_storage}/{waiting}"]
    assert default_storage.listdir(OUTBOX_DIR)[1] == [waiting.removeprefix(f"{OUTBOX_DIR}/")]
    assert not default_storage.exists(orphan)
