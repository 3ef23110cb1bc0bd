"""Templates in the composer: the offer, the picker, the live preview and sending."""

import re
import uuid

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from messaging.models import Message
from tests.staff_support import grant
from tests.template_helpers import (
    HELLO_WORLD,
    ORDER_UPDATE,
    WELCOME_BACK,
    deliver_text,
    make_template,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def closed():
    """A conversation whose customer wrote 30 hours ago: free text can no longer be sent."""
    return deliver_text(hours_ago=30)


@pytest.fixture
def order_update():
    return make_template()


def url(conversation, name="inbox:template"):
    return reverse(name, args=[conversation.pk])


def order_values(**changes):
    values = {
        "param-header-1": "4567",
        "param-body-1": "Amina",
        "param-body-2": "4567",
        "param-body-3": "on its way",
        "param-button1-1": "4567",
    }
    return {**values, **changes}


def send(client, conversation, template, values=None, headers=None, **fields):
    return client.post(
        url(conversation, "inbox:template_send"),
        {
            "template": template.pk,
            "client_token": str(uuid.uuid4()),
            **(order_values() if values is None else values),
            **fields,
        },
        headers=headers or {},
    )


# The offer


def test_a_closed_window_offers_to_send_a_template(staff_client, closed):
    html = staff_client.get(reverse("inbox:conversation", args=[closed.pk])).content.decode()

    assert re.search(r'<textarea id="reply-text"[^>]*disabled', html, re.S)
    assert 'id="template-composer"' in html
    assert 'data-window-open="0"' in html
    assert f'href="{url(closed)}?' in html
    assert "Send a template" in html
    assert re.search(r'<link rel="stylesheet" href="/static/css/templates\.\w+\.css" nonce=', html)
    assert re.search(r'<script src="/static/js/templates\.\w+\.js" defer nonce=', html)


def test_an_open_window_offers_templates_too(staff_client):
    conversation = deliver_text(hours_ago=1)

    html = staff_client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()

    assert 'data-window-open="1"' in html
    assert f'href="{url(conversation)}?' in html


def test_people_who_cannot_reply_are_not_offered_templates(client, closed, django_user_model):
    reader = django_user_model.objects.create_user("reader", password="x" * 20, is_staff=True)
    reader = grant(reader, "view_conversation")
    client.force_login(reader)

    html = client.get(reverse("inbox:conversation", args=[closed.pk])).content.decode()

    assert "template-composer" not in html


# The picker


def test_the_picker_lists_approved_templates_of_the_numbers_account(staff_client, closed):
    make_template("order_update", ORDER_UPDATE)
    make_template("still_pending", HELLO_WORLD, status="PENDING")
    make_template("rejected_one", HELLO_WORLD, status="REJECTED")
    make_template("other_account", HELLO_WORLD, waba_id="999")
    make_template("with_location", [{"type": "HEADER", "format": "LOCATION"}, HELLO_WORLD[1]])

    html = staff_client.get(url(closed)).content.decode()

    assert "order_update · en_US" in html
    assert "still_pending" not in html
    assert "rejected_one" not in html
    assert "other_account" not in html
    assert re.search(r'<option value="\d+" disabled>with_location · en_US \(cannot be sent', html)


def test_without_javascript_the_picker_is_the_whole_conversation_page(staff_client, closed):
    make_template()

    html = staff_client.get(url(closed)).content.decode()

    assert "<html" in html
    assert 'id="timeline"' in html
    assert 'class="template-composer is-open"' in html
    assert '<form class="template-pick" method="get"' in html


def test_with_htmx_only_the_panel_comes_back(staff_client, closed):
    make_template()

    html = staff_client.get(url(closed), headers=HTMX).content.decode()

    assert html.lstrip().startswith('<section id="template-composer"')
    assert "<html" not in html
    assert "templates.js" not in html  # loaded once, with the page


def test_picking_a_template_shows_a_field_per_parameter_and_the_preview(
    staff_client, closed, order_update
):
    html = staff_client.get(url(closed), {"template": order_update.pk}, headers=HTMX)
    html = html.content.decode()

    fields = re.findall(r'<input id="tp-([\w-]+)" name="param-\1" type="text" dir="auto"', html)
    assert fields == ["header-1", "body-1", "body-2", "body-3", "button1-1"]
    assert '<span class="template-placeholder" dir="ltr">{{2}}</span>' in html
    assert 'placeholder="e.g. on its way"' in html
    assert "Hello {{1}}, your order {{2}} is {{3}}." in html  # placeholders still visible
    assert "Track" in html  # the buttons are previewed too
    assert f'hx-post="{url(closed, "inbox:template_preview")}"' in html
    assert 'hx-trigger="input changed delay:300ms"' in html


def test_named_parameters_are_labelled_by_name(staff_client, closed):
    template = make_template("welcome_back_ar", WELCOME_BACK, parameter_format="NAMED")

    html = staff_client.get(url(closed), {"template": template.pk}, headers=HTMX).content.decode()

    assert "{{customer_name}}" in html
    assert 'name="param-body-topic"' in html


def test_the_list_can_be_narrowed_to_one_language(staff_client, closed):
    make_template("order_update", ORDER_UPDATE)
    make_template("welcome_back_ar", WELCOME_BACK, language="ar", parameter_format="NAMED")

    html = staff_client.get(url(closed), {"language": "ar"}, headers=HTMX).content.decode()

    assert "welcome_back_ar · ar" in html
    assert "order_update · en_US" not in html
    assert '<option value="ar" selected>' in html


def test_a_template_the_inbox_cannot_fill_says_why(staff_client, closed):
    template = make_template("where", [{"type": "HEADER", "format": "LOCATION"}, HELLO_WORLD[1]])

    html = staff_client.get(url(closed), {"template": template.pk}, headers=HTMX).content.decode()

    assert "This template&#x27;s header needs a location" in html
    assert "template-form" not in html


VIDEO_HEADER = [{"type": "HEADER", "format": "VIDEO"}, HELLO_WORLD[1]]


def test_a_media_header_template_asks_for_a_link_to_the_file(staff_client, closed):
    template = make_template("with_video", VIDEO_HEADER)

    html = staff_client.get(url(closed), {"template": template.pk}, headers=HTMX).content.decode()

    assert 'name="param-header-media"' in html
    assert "Header video: a link to the file (https)" in html
    assert "🎬 Video: …" in html  # the preview, until a link is typed


def test_a_media_header_template_is_sent_with_its_link(staff_client, closed):
    template = make_template("with_video", VIDEO_HEADER)
    link = "https://cdn.example.org/tour.mp4"

    response = send(staff_client, closed, template, {"param-header-media": link}, headers=HTMX)

    assert response.status_code == 200
    message = Message.objects.get(direction="out")
    assert message.data["template"]["components"] == [
        {"type": "header", "parameters": [{"type": "video", "video": {"link": link}}]}
    ]
    assert message.text.startswith(f"🎬 Video: {link}")


def test_a_media_header_link_that_is_not_https_is_refused_in_the_form(staff_client, closed):
    template = make_template("with_video", VIDEO_HEADER)

    response = send(
        staff_client, closed, template, {"param-header-media": "http://x.example/a.mp4"}, HTMX
    )

    assert response.status_code == 422
    assert "must be a full https:// address" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_cancel_closes_the_panel(staff_client, closed):
    response = staff_client.get(url(closed), {"cancel": "1"}, headers=HTMX)

    assert "is-open" not in response.content.decode()
    no_js = staff_client.get(url(closed), {"cancel": "1", "state": "all"})
    assert no_js.status_code == 302
    assert no_js["Location"] == reverse("inbox:conversation", args=[closed.pk]) + (
        "?assigned=all&state=all"
    )


# The preview


def test_the_live_preview_fills_in_what_was_typed(staff_client, closed, order_update):
    response = staff_client.post(
        url(closed, "inbox:template_preview"),
        {"template": order_update.pk, "param-body-1": "<b>Amina</b>", "param-body-2": "4567"},
        headers={**HTMX, "HX-Target": "template-preview"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="template-preview"')
    assert "Hello &lt;b&gt;Amina&lt;/b&gt;, your order 4567 is {{3}}." in html


def test_without_javascript_the_preview_button_keeps_the_values(staff_client, closed, order_update):
    response = staff_client.post(
        url(closed, "inbox:template_preview"),
        {"template": order_update.pk, "param-body-1": "Amina"},
    )

    html = response.content.decode()
    assert "<html" in html
    assert 'name="param-body-1" type="text" dir="auto" value="Amina"' in html
    assert "Hello Amina, your order {{2}}" in html


# Sending


def test_sending_queues_the_template_outside_the_window(
    staff_client, staff_user, closed, order_update, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(staff_client, closed, order_update, headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "inbox:poll"
    html = response.content.decode()
    assert "is-open" not in html
    assert "Template sent." in html
    message = Message.objects.get(direction="out")
    assert (message.type, message.status, message.sent_by) == ("template", "pending", staff_user)
    assert message.text == (
        "Order 4567\n\nHello Amina, your order 4567 is on its way.\n\nAl Qalam Books"
    )
    assert DBTaskResult.objects.filter(task_path="messaging.tasks.send_message").count() == 1


def test_without_javascript_sending_goes_back_to_the_conversation(staff_client, closed):
    template = make_template("hello_world", HELLO_WORLD)

    response = send(staff_client, closed, template, values={})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("inbox:conversation", args=[closed.pk]))
    page = staff_client.get(response["Location"]).content.decode()
    assert 'Template · <span dir="auto">hello_world</span>' in page
    assert "Welcome and congratulations!!" in page


def test_missing_and_bad_values_are_shown_and_nothing_is_sent(staff_client, closed, order_update):
    values = order_values(**{"param-body-2": "", "param-body-3": "two\nlines"})

    response = send(staff_client, closed, order_update, values=values, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert 'aria-invalid="true" aria-describedby="tp-body-2-error"' in html
    assert "{{2}} in the body is missing." in html
    assert "{{3}} in the body cannot contain line breaks." in html
    assert 'value="Amina"' in html  # what was typed stays
    assert not Message.objects.filter(direction="out").exists()


def test_an_unexpected_parameter_is_refused(staff_client, closed, order_update):
    response = send(staff_client, closed, order_update, **{"param-body-9": "sneaky"})

    assert response.status_code == 422
    assert "This template has no parameters called body-9." in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED"])
def test_a_template_that_is_not_approved_is_refused(staff_client, closed, status):
    template = make_template(status=status)

    response = send(staff_client, closed, template, headers=HTMX)

    assert response.status_code == 422
    assert "Only approved templates can be sent" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_no_template_chosen_is_refused(staff_client, closed, order_update):
    response = staff_client.post(
        url(closed, "inbox:template_send"), {"template": "", **order_values()}, headers=HTMX
    )

    assert response.status_code == 422
    assert "Choose a template first." in response.content.decode()


def test_a_double_submit_sends_once(staff_client, closed, order_update):
    token = str(uuid.uuid4())

    send(staff_client, closed, order_update, client_token=token)
    send(staff_client, closed, order_update, client_token=token)

    assert Message.objects.filter(direction="out").count() == 1


def test_people_who_cannot_reply_cannot_use_templates(
    client, closed, order_update, django_user_model
):
    reader = django_user_model.objects.create_user("reader", password="x" * 20, is_staff=True)
    reader = grant(reader, "view_conversation")
    client.force_login(reader)

    assert client.get(url(closed)).status_code == 403
    assert client.post(url(closed, "inbox:template_preview")).status_code == 403
    assert send(client, closed, order_update).status_code == 403
    assert not Message.objects.exists() or not Message.objects.filter(direction="out").exists()

    allowed = grant(reader, "reply_conversation")
    client.force_login(allowed)
    assert send(client, closed, order_update).status_code == 302


def test_a_text_reply_re_renders_the_composer_without_touching_the_panel(staff_client):
    conversation = deliver_text(hours_ago=1)

    response = staff_client.post(
        reverse("inbox:reply", args=[conversation.pk]),
        {"text": "Hi", "client_token": str(uuid.uuid4())},
        headers=HTMX,
    )

    assert response.status_code == 200
    assert "template-composer" not in response.content.decode()


def test_an_unknown_conversation_is_not_found(staff_client):
    assert staff_client.get(reverse("inbox:template", args=[999999])).status_code == 404
