"""Media in a real browser: an inbound photo, delivered through the real webhook endpoint,
is drawn through the media proxy; a photo attached in the composer as a reply joins the
timeline, and the worker uploads it to Meta and sends it by media id, quoting the message."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from messaging import payloads as p
from messaging.backends import locmem
from messaging.models import Message
from tests import media_files as f
from tests.live_support import database, post_webhook_over_http

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 10_000
AMINA = "966501234567"


@pytest.fixture(autouse=True)
def _media(settings):
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "locmem", "OPTIONS": {}}


def deliver(live_server, item):
    """A customer's message, posted and signed as Meta posts it."""
    post_webhook_over_http(
        live_server,
        p.envelope(
            p.value(contacts=[p.contact(wa_id=AMINA, name="Amina Khalid")], messages=[item])
        ),
    )


def sign_in_and_open(page, password):
    page.goto("/")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#conversation-list .conversation-row", has_text="Amina Khalid").get_by_role(
        "link"
    ).click()
    expect(page.locator("#conversation-header h2")).to_have_text("Amina Khalid", timeout=SLOW)


def run_worker():
    """Process the task queue once: the locmem transport uploads and sends."""
    with database():
        call_command(
            "db_worker",
            "--batch",
            "--no-reload",
            "--no-startup-delay",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def test_an_inbound_photo_is_drawn_through_the_media_proxy(
    page, page_errors, staff_user, password, live_server
):
    photo = f.png(width=40, height=30)
    media_id = p.new_media_id()
    locmem.media[media_id] = {"content": photo, "mime_type": "image/png", "filename": ""}
    deliver(
        live_server,
        p.media_message(
            "image",
            media_id,
            mime_type="image/png",
            caption="My receipt",
            sender=AMINA,
            timestamp=timezone.now(),
        ),
    )
    message = Message.objects.get(type="image")

    with page.expect_response(f"**/media/{message.pk}/") as proxied:
        sign_in_and_open(page, password)

    assert proxied.value.status == 200
    assert proxied.value.headers["cache-control"] == "no-store"
    image = page.locator(f"#m-{message.pk} img.media-image")
    expect(image).to_have_attribute("src", f"/media/{message.pk}/")
    expect(image).to_have_attribute("alt", "Photo")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 40", arg=image.element_handle(), timeout=SLOW
    )
    expect(page.locator(f"#m-{message.pk}")).to_contain_text("My receipt")
    assert page_errors == []


def test_a_photo_attached_as_a_reply_is_uploaded_and_sent_by_media_id(
    page, page_errors, staff_user, password, live_server
):
    deliver(live_server, p.text_message("Can you send the receipt?", sender=AMINA))
    with database():
        question = Message.objects.get(direction="in")
    photo = f.png()

    sign_in_and_open(page, password)
    page.locator(f"#m-{question.pk}").get_by_role("link", name="Reply").click()
    quote = page.locator("#composer .reply-preview")
    expect(quote).to_be_visible()
    expect(quote).to_contain_text("Can you send the receipt?")
    form = page.locator("#attach-form")
    # The composer sends the file, its text the caption: the form's own stay hidden.
    expect(form.get_by_role("button", name="Send file")).to_be_hidden()
    form.locator("input[type=file]").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": photo}
    )
    preview = page.locator("#composer [data-attach-preview]")
    expect(preview).to_contain_text("receipt.png")
    expect(preview.locator("img")).to_be_visible()
    expect(form.get_by_role("button", name="Send file")).to_be_hidden()
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type("Here it is")
    page.keyboard.press("Enter")

    sent = page.locator("#timeline article.msg-out", has_text="Here it is")
    expect(sent).to_be_visible(timeout=SLOW)
    expect(sent.locator(".msg-media-image")).to_contain_text("Photo")
    expect(sent.locator(".msg-quote")).to_contain_text("Can you send the receipt?")
    expect(sent.locator(".tick-pending")).to_be_visible()
    expect(page.locator("#attach-form [data-attach-name]")).to_have_text("")  # a fresh form
    expect(preview).to_be_hidden()
    expect(page.locator("#reply-text")).to_have_value("")
    expect(quote).to_be_hidden()  # the reply it answered is done
    assert not Message.objects.filter(direction="out", type="text").exists()
    with database():
        message = Message.objects.get(direction="out")
        waiting = message.data["upload"]
        assert default_storage.exists(waiting)

    run_worker()

    expect(sent.locator(".tick-sent")).to_be_visible(timeout=SLOW)
    [(media_id, uploaded)] = locmem.media.items()
    assert uploaded == {"content": photo, "mime_type": "image/png", "filename": "receipt.png"}
    # Opening the conversation also sent a read receipt.
    [(phone_number_id, payload)] = [request for request in locmem.outbox if "to" in request[1]]
    assert phone_number_id == p.PHONE_NUMBER_ID
    assert (payload["to"], payload["type"]) == (AMINA, "image")
    assert payload["image"] == {"id": media_id, "caption": "Here it is"}
    assert payload["context"] == {"message_id": question.wamid}
    with database():
        message.refresh_from_db()
    assert (message.data["media_id"], "upload" in message.data) == (media_id, False)
    assert not default_storage.exists(waiting)  # the file left with the upload
    assert page.locator(f"#m-{message.pk}").count() == 1
    assert page_errors == []


def test_a_picture_pasted_into_the_composer_or_dropped_on_the_conversation_is_attached(
    page, page_errors, staff_user, password, live_server
):
    deliver(live_server, p.text_message("Send me a photo", sender=AMINA))
    sign_in_and_open(page, password)
    preview = page.locator("#composer [data-attach-preview]")
    files = "([bytes, name]) => { const data = new DataTransfer(); " + (
        "data.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'})); "
        "return data; }"
    )
    photo = list(f.png())

    page.locator("#reply-text").focus()
    page.evaluate(
        "([bytes]) => { const data = new DataTransfer(); data.items.add(new File("
        "[new Uint8Array(bytes)], 'pasted.png', {type: 'image/png'})); document.getElementById("
        "'reply-text').dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, "
        "bubbles: true, cancelable: true})); }",
        [photo],
    )
    expect(preview).to_contain_text("pasted.png")
    expect(page.locator("#reply-text")).to_have_value("")  # attached, not pasted as text
    preview.get_by_role("button", name="Remove file").click()
    expect(preview).to_be_hidden()
    assert page.locator("#attach-form input[type=file]").evaluate("(i) => i.files.length") == 0

    dropped = page.evaluate_handle(files, [photo, "dropped.png"])
    page.locator("#timeline").dispatch_event("drop", {"dataTransfer": dropped})
    expect(preview).to_contain_text("dropped.png")
    assert page.locator("#attach-form input[type=file]").evaluate("(i) => i.files[0].name") == (
        "dropped.png"
    )
    assert page_errors == []
