"""Media in the conversation: previews through the proxy, and the composer's attachment form
(/c/<id>/attach/), with and without JavaScript (htmx)."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Conversation, Message
from messaging.uploads import OUTBOX_DIR
from tests import media_files as f
from tests.staff_support import grant

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def deliver(*items, hours_ago=0.1):
    stamp = timezone.now() - timedelta(hours=hours_ago)
    messages = [
        item(stamp) if callable(item) else item
        for item in items or [lambda t: p.text_message("Hi", timestamp=t)]
    ]
    receive(
        p.encode(
            p.envelope(
                p.value(contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")], messages=messages)
            )
        )
    )
    return Conversation.objects.get(contact__wa_id=p.USER_WA_ID)


def attach_url(conversation):
    return reverse("inbox:attach", args=[conversation.pk])


def page(client, conversation):
    return client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()


def upload(content=f.JPEG, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files():
    try:
        return default_storage.listdir(OUTBOX_DIR)[1]
    except FileNotFoundError:
        return []


# Media in the timeline


def test_images_and_stickers_show_a_lazy_thumbnail_through_the_proxy(staff_client):
    chat = deliver(
        lambda t: p.media_message("image", caption="*Receipt* attached", timestamp=t),
        lambda t: p.media_message("sticker", animated=False, timestamp=t),
    )
    image, sticker = chat.messages.order_by("pk")

    html = page(staff_client, chat)

    assert f'<img class="media-image" loading="lazy" src="/media/{image.pk}/" alt="Photo">' in html
    assert (
        f'<img class="media-image" loading="lazy" src="/media/{sticker.pk}/" alt="Sticker">' in html
    )
    assert "<strong>Receipt</strong> attached" in html  # the caption, formatted as before
    assert 'class="media-label"' in html
    assert "style=" not in html.split('id="timeline"')[1]


def test_audio_and_video_get_players_that_load_nothing_until_played(staff_client):
    chat = deliver(
        lambda t: p.media_message("audio", voice=True, timestamp=t),
        lambda t: p.media_message("video", timestamp=t),
    )
    audio, video = chat.messages.order_by("pk")

    html = page(staff_client, chat)

    assert (
        f'<audio class="media-preview media-audio" controls preload="none" '
        f'src="/media/{audio.pk}/" aria-label="Voice message">'
    ) in html
    assert (
        f'<video class="media-preview media-player" controls preload="none" '
        f'src="/media/{video.pk}/"'
    ) in html
    assert "Voice message" in html


def test_documents_link_to_a_download_with_their_name_and_size(staff_client):
    chat = deliver(lambda t: p.media_message("document", filename="تقرير.pdf", timestamp=t))
    document = chat.messages.get()
    Message.objects.filter(pk=document.pk).update(data=document.data | {"file_size": 2048})

    html = page(staff_client, chat)

    assert (
        f'<a class="media-download" href="/media/{document.pk}/" dir="auto">تقرير.pdf</a>' in html
    )
    assert "2.0\xa0KB" in html


def test_an_attachment_waiting_for_upload_shows_its_label_but_no_preview(staff_client, staff_user):
    chat = deliver()
    staff_client.post(attach_url(chat), {"file": upload(f.PDF, "plan.pdf", "application/pdf")})
    waiting = Message.objects.get(direction="out")

    html = page(staff_client, chat)

    assert f"/media/{waiting.pk}/" not in html
    assert '<span dir="auto">plan.pdf</span>' in html


# The attachment form


def test_the_conversation_offers_a_multipart_attachment_form(staff_client):
    chat = deliver()

    html = page(staff_client, chat)

    form = html[html.index('<form id="attach-form"') :]
    form = form[: form.index("</form>")]
    assert 'enctype="multipart/form-data"' in form
    assert f'action="{attach_url(chat)}?' in form
    assert 'hx-encoding="multipart/form-data"' in form
    assert 'type="file" name="file"' in form
    assert "image/jpeg" in form
    assert ".pdf" in form
    assert "csrfmiddlewaretoken" in form
    assert 'name="caption"' in form
    assert "hx-swap-oob" not in form
    assert "js/media." in form
    # Not nested inside the text composer: a form in a form is dropped by browsers.
    composer = html[html.index('<form id="composer"') :]
    assert composer.index("</form>") < composer.index('<form id="attach-form"')


def test_readers_without_the_reply_permission_get_no_attachment_controls(client, django_user_model):
    reader = django_user_model.objects.create_user(username="reader", password="x", is_staff=True)
    reader = grant(reader, "view_conversation")
    client.force_login(reader)
    chat = deliver()

    html = page(client, chat)

    assert 'id="attach-form"' in html
    assert 'name="file"' not in html


def test_the_controls_are_disabled_once_the_window_has_closed(staff_client):
    chat = deliver(hours_ago=25)

    html = page(staff_client, chat)

    assert re.search(r'name="file" required\s+accept="[^"]*" disabled>', html)


def test_without_javascript_it_queues_the_file_and_goes_back_to_the_conversation(staff_client):
    chat = deliver()

    response = staff_client.post(
        f"{attach_url(chat)}?state=open",
        {"file": upload(), "caption": "Your receipt", "client_token": str(uuid.uuid4())},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('inbox:conversation', args=[chat.pk])}?state=open"
    message = Message.objects.get(direction="out")
    assert (message.type, message.text, message.status) == ("image", "Your receipt", "pending")
    assert default_storage.exists(message.data["upload"])


def test_over_htmx_it_answers_a_fresh_form_and_the_new_message_and_asks_for_a_poll(staff_client):
    chat = deliver()

    response = staff_client.post(attach_url(chat), {"file": upload()}, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "inbox:poll"
    html = response.content.decode()
    message = Message.objects.get(direction="out")
    assert '<form id="attach-form"' in html
    assert 'data-sent="1"' in html
    form = html[: html.index("</form>")]
    assert "hx-swap-oob" not in form  # the main content of this answer
    assert '<div hx-swap-oob="beforeend:#timeline">' in html
    assert f'id="m-{message.pk}"' in html


def test_a_double_submit_sends_once(staff_client):
    chat = deliver()
    token = str(uuid.uuid4())

    staff_client.post(attach_url(chat), {"file": upload(), "client_token": token})
    staff_client.post(attach_url(chat), {"file": upload(), "client_token": token})

    assert Message.objects.filter(direction="out").count() == 1
    assert len(stored_files()) == 1


def test_a_reply_chosen_in_the_composer_applies_to_the_file(staff_client):
    chat = deliver()
    original = chat.messages.get()

    staff_client.post(attach_url(chat), {"file": upload(), "reply_to": str(original.pk)})

    assert Message.objects.get(direction="out").reply_to_wamid == original.wamid


def test_a_refused_file_is_explained_in_the_form_over_htmx(staff_client):
    chat = deliver()

    response = staff_client.post(
        attach_url(chat),
        {"file": upload(f.EXE, "photo.jpg", "image/jpeg"), "caption": "keep me"},
        headers=HTMX,
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "contents of the file do not match" in html
    assert 'value="keep me"' in html
    assert not Message.objects.filter(direction="out").exists()
    assert stored_files() == []


def test_a_refused_file_is_explained_after_the_redirect_without_javascript(staff_client):
    chat = deliver()

    response = staff_client.post(
        attach_url(chat), {"file": upload(f.GIF, "a.gif", "image/gif")}, follow=True
    )

    assert "WhatsApp cannot send this kind of file" in response.content.decode()


def test_no_file_at_all_is_refused_politely(staff_client):
    chat = deliver()

    response = staff_client.post(attach_url(chat), {"caption": "x"}, headers=HTMX)

    assert response.status_code == 422
    assert "Choose a file to send." in response.content.decode()


def test_the_24_hour_window_rule_applies_to_files(staff_client):
    chat = deliver(hours_ago=25)

    response = staff_client.post(attach_url(chat), {"file": upload()}, headers=HTMX)

    assert response.status_code == 422
    assert "24-hour window" in response.content.decode()
    assert stored_files() == []


def test_a_request_too_large_for_any_attachment_is_refused_before_it_is_read(staff_client):
    chat = deliver()

    response = staff_client.post(
        attach_url(chat),
        {"file": upload()},
        headers=HTMX,
        CONTENT_LENGTH=str(200 * 1024 * 1024),
    )

    assert response.status_code == 422
    assert "too large" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_staff_without_the_reply_permission_are_refused(client, django_user_model):
    reader = django_user_model.objects.create_user(username="reader", password="x", is_staff=True)
    reader = grant(reader, "view_conversation")
    client.force_login(reader)
    chat = deliver()

    response = client.post(attach_url(chat), {"file": upload()})

    assert response.status_code == 403
    assert stored_files() == []


def test_the_form_needs_its_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    chat = deliver()

    response = client.post(attach_url(chat), {"file": upload()})

    assert response.status_code == 403
    assert not Message.objects.filter(direction="out").exists()


def test_non_staff_and_anonymous_users_cannot_attach(client, non_staff_user):
    chat = deliver()

    assert client.post(attach_url(chat), {"file": upload()}).status_code == 302
    client.force_login(non_staff_user)
    assert client.post(attach_url(chat), {"file": upload()}).status_code == 403
    assert stored_files() == []


def test_only_post_is_allowed(staff_client):
    chat = deliver()

    assert staff_client.get(attach_url(chat)).status_code == 405


def test_an_htmx_text_reply_brings_the_attachment_form_back_out_of_band(staff_client):
    chat = deliver()

    response = staff_client.post(
        reverse("inbox:reply", args=[chat.pk]), {"text": "Hello"}, headers=HTMX
    )

    html = response.content.decode()
    # Replaces the form on the page instead of adding a second one after the new composer.
    assert re.search(r'<form id="attach-form"[^>]*hx-swap-oob="outerHTML"', html)
    assert html.count('id="attach-form"') == 1


@pytest.mark.parametrize("tampered", ["²", "abc", "-1", "1e3"])
def test_a_tampered_reply_to_sends_the_file_without_a_quote(staff_client, tampered):
    chat = deliver()

    response = staff_client.post(attach_url(chat), {"file": upload(), "reply_to": tampered})

    assert response.status_code == 302
    assert Message.objects.get(direction="out").reply_to_wamid == ""
