"""The media proxy (/media/<message id>/): streams the media Meta holds to staff, storing
nothing and letting no cache store it, with headers that never let active content run."""

from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import Message
from tests import media_files as f

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"
MEDIA_URL = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1234&ext=1&hash=abc"


def deliver_media(kind, *, media_id=None, content=None, meta_mime=None, **options):
    """An inbound media message through the webhook pipeline; with `content`, Meta (the
    locmem transport) still holds the file."""
    media_id = media_id or p.new_media_id()
    item = p.media_message(
        kind, media_id, timestamp=timezone.now() - timedelta(minutes=1), **options
    )
    receive(
        p.encode(p.envelope(p.value(contacts=[p.contact(wa_id=p.USER_WA_ID)], messages=[item])))
    )
    if content is not None:
        locmem.media[media_id] = {
            "content": content,
            "mime_type": meta_mime or options.get("mime_type") or p.MEDIA_MIME_TYPES[kind],
            "filename": options.get("filename", ""),
        }
    return Message.objects.get(wamid=item["id"])


def url(message):
    return reverse("inbox:media", args=[message.pk])


def body(response):
    return b"".join(response.streaming_content)


def test_it_streams_an_image_inline_and_lets_no_cache_keep_it(staff_client):
    image = f.png()
    message = deliver_media("image", content=image, mime_type="image/png")

    response = staff_client.get(url(message))

    assert response.status_code == 200
    assert response.streaming
    assert body(response) == image
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("ETag")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("kind", "mime_type"),
    [("audio", "audio/ogg; codecs=opus"), ("video", "video/mp4"), ("sticker", "image/webp")],
)
def test_audio_video_and_stickers_play_inline_too(staff_client, kind, mime_type):
    message = deliver_media(kind, content=b"bytes", mime_type=mime_type)

    response = staff_client.get(url(message))

    assert response["Content-Type"] == mime_type
    assert response["Content-Disposition"] == "inline"


def test_documents_download_under_their_own_name(staff_client):
    message = deliver_media(
        "document", content=f.PDF, mime_type="application/pdf", filename="فاتورة مارس.pdf"
    )

    response = staff_client.get(url(message))

    assert body(response) == f.PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''"
        "%D9%81%D8%A7%D8%AA%D9%88%D8%B1%D8%A9%20%D9%85%D8%A7%D8%B1%D8%B3.pdf"
    )


@pytest.mark.parametrize(
    ("kind", "mime_type", "content", "filename"),
    [
        ("image", "image/svg+xml", f.SVG, "whatsapp-image-{pk}."),
        ("document", "text/html", f.HTML, "page.html"),
        ("image", "text/html", f.HTML, "whatsapp-image-{pk}."),
        ("video", "application/x-shockwave-flash", b"FWS", "whatsapp-video-{pk}"),
    ],
)
def test_active_content_is_never_shown_inline(staff_client, kind, mime_type, content, filename):
    extra = {"filename": "page.html"} if kind == "document" else {}
    message = deliver_media(kind, content=content, mime_type=mime_type, **extra)

    response = staff_client.get(url(message))

    assert response["Content-Disposition"].startswith(
        f'attachment; filename="{filename.format(pk=message.pk)}'
    )
    assert body(response) == content
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_it_streams_through_the_graph_api_with_the_access_token(staff_client, cloud):
    image = f.png()
    message = deliver_media("image", media_id="2621233374848975", mime_type="image/jpeg")
    # Meta's example answer to GET /{media-id} ("Retrieve Media URL").
    info = cloud.get(
        f"{GRAPH}/2621233374848975",
        json={
            "messaging_product": "whatsapp",
            "url": MEDIA_URL,
            "mime_type": "image/png",
            "sha256": "<HASH>",
            "file_size": str(len(image)),
            "id": "2621233374848975",
        },
    )
    download = cloud.get(MEDIA_URL, body=image, content_type="image/png")

    response = staff_client.get(url(message))

    assert body(response) == image
    assert response["Content-Type"] == "image/png"  # Meta's word over the webhook's
    assert info.calls[0].request.headers["Authorization"] == "Bearer test-token"
    assert download.calls[0].request.headers["Authorization"] == "Bearer test-token"


def test_it_falls_back_to_the_messages_type_when_meta_gives_none(staff_client, cloud):
    message = deliver_media("audio", media_id="55", mime_type="audio/ogg; codecs=opus")
    cloud.get(f"{GRAPH}/55", json={"url": MEDIA_URL, "id": "55"})
    cloud.get(MEDIA_URL, body=b"OggS")

    response = staff_client.get(url(message))

    assert response["Content-Type"] == "audio/ogg; codecs=opus"
    assert response["Content-Disposition"] == "inline"


def test_expired_media_gets_a_friendly_page_not_an_error(staff_client, cloud):
    message = deliver_media("image", media_id="77")
    cloud.get(
        f"{GRAPH}/77",
        status=400,
        json={
            "error": {
                "message": "Unsupported get request. Object with ID '77' does not exist",
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
                "fbtrace_id": "A1b2",
            }
        },
    )

    response = staff_client.get(url(message))

    assert response.status_code == 410
    assert "no longer available" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_media_meta_no_longer_holds_is_gone_with_the_locmem_transport_too(staff_client):
    message = deliver_media("document", filename="old.pdf")  # nothing in locmem.media

    response = staff_client.get(url(message))

    assert response.status_code == 410
    assert "no longer available" in response.content.decode()


def test_a_refused_download_url_is_gone_as_well(staff_client, cloud):
    message = deliver_media("video", media_id="88")
    cloud.get(f"{GRAPH}/88", json={"url": MEDIA_URL, "mime_type": "video/mp4", "id": "88"})
    cloud.get(MEDIA_URL, status=404)

    assert staff_client.get(url(message)).status_code == 410


def test_an_unreachable_graph_api_is_a_temporary_failure_not_a_500(staff_client, cloud):
    message = deliver_media("image", media_id="99")
    cloud.get(f"{GRAPH}/99", body=requests.ConnectionError("network down"))

    response = staff_client.get(url(message))

    assert response.status_code == 503
    assert response["Retry-After"]
    assert "Try again" in response.content.decode()


def test_media_larger_than_the_limit_is_refused_without_downloading(staff_client, cloud, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 1000
    message = deliver_media("video", media_id="66")
    cloud.get(f"{GRAPH}/66", json={"url": MEDIA_URL, "mime_type": "video/mp4", "file_size": "1001"})

    response = staff_client.get(url(message))

    assert response.status_code == 410
    assert "larger than the inbox may download" in response.content.decode()
    assert len(cloud.calls) == 1  # the file itself was never asked for


def test_media_larger_than_announced_is_refused_too(staff_client, cloud, settings):
    settings.WHATSAPP_MEDIA_MAX_BYTES = 1000
    message = deliver_media("video", media_id="67")
    cloud.get(f"{GRAPH}/67", json={"url": MEDIA_URL, "mime_type": "video/mp4"})
    cloud.get(MEDIA_URL, body=b"x" * 1001, headers={"Content-Length": "1001"})

    response = staff_client.get(url(message))

    assert response.status_code == 410


def test_each_request_asks_meta_again_for_no_copy_is_kept(staff_client):
    message = deliver_media("image", content=f.png(), mime_type="image/png")
    body(staff_client.get(url(message)))
    locmem.media.clear()  # expired at Meta since

    again = staff_client.get(url(message), headers={"If-None-Match": '"anything"'})

    assert again.status_code == 410


def test_a_rejected_access_token_pauses_sending_and_says_so_instead_of_gone(staff_client, cloud):
    message = deliver_media("image", media_id="55")
    cloud.get(
        f"{GRAPH}/55",
        status=401,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
                "fbtrace_id": "A1b2",
            }
        },
    )

    response = staff_client.get(url(message))

    assert response.status_code == 503
    page = response.content.decode()
    assert "rejected the inbox&#x27;s access token" in page
    assert "no longer available" not in page
    number = message.conversation.business_number
    number.refresh_from_db()
    assert number.sending_paused_at is not None
    assert "(code 190)" in number.paused_reason
    assert "Sending from" in staff_client.get("/").content.decode()


def test_a_media_url_that_is_not_https_never_gets_the_token(staff_client, cloud):
    message = deliver_media("image", media_id="44")
    cloud.get(f"{GRAPH}/44", json={"url": "http://lookaside.fbsbx.com/x", "mime_type": "image/png"})

    response = staff_client.get(url(message))

    assert response.status_code == 502
    assert "refused to fetch this file" in response.content.decode()
    assert [call.request.url for call in cloud.calls] == [f"{GRAPH}/44"]


def test_it_refuses_a_media_id_that_is_not_a_graph_id_with_a_page_and_no_request(
    staff_client, cloud
):
    message = deliver_media("document", media_id="../../../v23.0/106540352242922/messages?x=")

    response = staff_client.get(url(message))

    assert len(cloud.calls) == 0
    assert response.status_code == 502
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "refused to fetch this file" in page
    assert "no longer available" not in page
    assert "Back to the conversation" in page


def test_it_refuses_a_media_url_that_redirects_with_a_page_and_sends_nothing_further(
    staff_client, cloud
):
    message = deliver_media("image", media_id="45")
    cloud.get(f"{GRAPH}/45", json={"url": MEDIA_URL, "mime_type": "image/png"})
    cloud.get(MEDIA_URL, status=302, headers={"Location": f"{GRAPH}/106540352242922/messages"})

    response = staff_client.get(url(message))

    assert response.status_code == 502
    assert "refused to fetch this file" in response.content.decode()
    assert [call.request.url for call in cloud.calls] == [f"{GRAPH}/45", MEDIA_URL]


def test_messages_without_media_are_not_found(staff_client):
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=p.USER_WA_ID)], messages=[p.text_message("Hi")])
            )
        )
    )
    text = Message.objects.get(type="text")

    assert staff_client.get(url(text)).status_code == 404
    assert staff_client.get(reverse("inbox:media", args=[text.pk + 1000])).status_code == 404


def test_a_deleted_message_keeps_its_media_hidden(staff_client):
    message = deliver_media("image", content=f.png())
    Message.objects.filter(pk=message.pk).update(revoked_at=timezone.now())

    assert staff_client.get(url(message)).status_code == 404


def test_an_outbound_attachment_waiting_for_upload_is_not_served(staff_client, staff_user):
    message = deliver_media("image", content=f.png())
    waiting = Message.objects.create(
        conversation=message.conversation,
        direction="out",
        type="document",
        data={"upload": "outbox-media/abc", "filename": "a.pdf"},
        timestamp=timezone.now(),
        status="pending",
    )

    assert staff_client.get(url(waiting)).status_code == 404


def test_non_staff_users_are_refused(client, non_staff_user):
    message = deliver_media("image", content=f.png())
    client.force_login(non_staff_user)

    assert client.get(url(message)).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    message = deliver_media("image", content=f.png())

    response = client.get(url(message))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_only_get_is_allowed(staff_client):
    message = deliver_media("image", content=f.png())

    assert staff_client.post(url(message)).status_code == 405


def test_attachments_waiting_for_upload_are_served_by_no_url(staff_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("outbox-media/0123456789abcdef", ContentFile(b"private"))

    for path in (f"/media/{name}", f"/{name}", f"/media/{name.split('/')[-1]}/"):
        response = staff_client.get(path)
        assert response.status_code == 404, path
        assert b"private" not in response.content
