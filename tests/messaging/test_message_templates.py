"""messaging.message_templates: syncing from Meta, reading parameters, validating, previewing,
sending."""

import json

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from responses import matchers

from messaging import payloads as p
from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.backends.cloud import TEMPLATE_FIELDS
from messaging.message_templates.filling import render_preview, template_payload, validate
from messaging.message_templates.outbox import queue_template_message as queue
from messaging.message_templates.reading import required_parameters, unsupported_reason
from messaging.message_templates.sync import TemplateSyncError, sync_templates
from messaging.models import BusinessNumber, Message, MessageTemplate
from messaging.sending import ReplyRefused
from messaging.tasks import send_message
from tests.template_helpers import (
    HELLO_WORLD,
    ORDER_UPDATE,
    WELCOME_BACK,
    deliver_text,
    make_template,
    meta_template,
)

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.facebook.com/v23.0"
WABA = "102290129340398"
TEMPLATES_URL = f"{GRAPH}/{WABA}/message_templates"
# The first request: Meta's largest page, and the fields we store.
FIRST_PAGE = {"limit": "100", "fields": ",".join(TEMPLATE_FIELDS)}


@pytest.fixture
def cloud(cloud, waba):
    """The real transport, for the account whose templates these are."""
    return cloud


@pytest.fixture
def waba(settings):
    settings.WHATSAPP_WABA_ID = WABA
    return WABA


# Synchronising


def test_it_follows_metas_paging_and_stores_every_template(cloud):
    cloud.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher(FIRST_PAGE, strict_match=True)],
        json={
            "data": [
                meta_template("hello_world", HELLO_WORLD, id="1192339204654487"),
                meta_template(
                    "welcome_back_ar",
                    WELCOME_BACK,
                    language="ar",
                    category="MARKETING",
                    parameter_format="NAMED",
                ),
            ],
            "paging": {
                "cursors": {"before": "MAZDZD", "after": "MjQZD"},
                "next": f"{TEMPLATES_URL}?after=MjQZD",
            },
        },
    )
    cloud.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher({"after": "MjQZD"}, strict_match=False)],
        json={
            "data": [
                meta_template(
                    "2023_april_promo",
                    ORDER_UPDATE,
                    status="REJECTED",
                    rejected_reason="INVALID_FORMAT",
                ),
            ],
            "paging": {"cursors": {"before": "MjQZD", "after": "MjRZD"}},
        },
    )

    assert sync_templates() == (3, 0, 0)

    rows = {t.name: t for t in MessageTemplate.objects.all()}
    assert set(rows) == {"hello_world", "welcome_back_ar", "2023_april_promo"}
    hello = rows["hello_world"]
    assert (hello.waba_id, hello.template_id, hello.language, hello.status) == (
        WABA,
        "1192339204654487",
        "en_US",
        "APPROVED",
    )
    assert hello.components == HELLO_WORLD
    assert hello.parameter_format == "POSITIONAL"
    assert hello.synced_at is not None
    assert rows["welcome_back_ar"].parameter_format == "NAMED"
    assert rows["2023_april_promo"].rejected_reason == "INVALID_FORMAT"
    assert cloud.calls[0].request.headers["Authorization"] == "Bearer test-token"


def test_it_counts_new_changed_and_removed_templates(waba):
    make_template("kept", HELLO_WORLD)
    make_template("edited", HELLO_WORLD, status="PENDING")
    make_template("deleted_on_meta", HELLO_WORLD)
    locmem.template_pages.append(
        [
            meta_template("kept", HELLO_WORLD),
            meta_template("edited", HELLO_WORLD, status="APPROVED"),
            meta_template("brand_new", ORDER_UPDATE),
        ]
    )

    assert sync_templates() == (1, 1, 1)

    assert set(MessageTemplate.objects.values_list("name", "status")) == {
        ("kept", "APPROVED"),
        ("edited", "APPROVED"),
        ("brand_new", "APPROVED"),
    }


def test_it_keeps_the_templates_of_other_accounts(waba):
    make_template("other_account", HELLO_WORLD, waba_id="999")
    locmem.template_pages.append([])

    assert sync_templates() == (0, 0, 0)
    assert MessageTemplate.objects.filter(name="other_account").exists()


def test_a_failure_half_way_changes_nothing(cloud):
    make_template("existing", HELLO_WORLD, waba_id=WABA)
    cloud.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher(FIRST_PAGE, strict_match=True)],
        json={
            "data": [meta_template("first_page", HELLO_WORLD)],
            "paging": {"cursors": {"after": "X"}, "next": f"{TEMPLATES_URL}?after=X"},
        },
    )
    cloud.get(
        TEMPLATES_URL,
        match=[matchers.query_param_matcher({"after": "X"}, strict_match=False)],
        json={"error": {"message": "Service temporarily unavailable", "code": 2}},
        status=503,
    )

    with pytest.raises(TemplateSyncError, match="Service temporarily unavailable"):
        sync_templates()

    assert list(MessageTemplate.objects.values_list("name", flat=True)) == ["existing"]


def test_it_needs_a_whatsapp_business_account_id(settings):
    settings.WHATSAPP_WABA_ID = ""

    with pytest.raises(TemplateSyncError, match="WHATSAPP_WABA_ID"):
        sync_templates()


def test_it_guesses_named_parameters_when_meta_does_not_say(waba):
    locmem.template_pages.append([meta_template("welcome_back_ar", WELCOME_BACK, language="ar")])

    sync_templates()

    assert MessageTemplate.objects.get().parameter_format == "NAMED"


def test_it_skips_items_it_cannot_read(waba):
    locmem.template_pages.append([{"id": "1", "status": "APPROVED"}, meta_template("ok", [])])

    assert sync_templates() == (1, 0, 0)


def test_a_transport_error_is_reported_as_a_sync_error(waba):
    locmem.failures.append(SendError("Unsupported get request", code=100))

    with pytest.raises(TemplateSyncError, match=r"Unsupported get request \(100\)"):
        sync_templates()

    assert not BusinessNumber.objects.filter(sending_paused_at__isnull=False).exists()


def test_a_rejected_access_token_pauses_sending_from_the_accounts_numbers(cloud, staff_client):
    deliver_text()  # registers the business number of WABA p.WABA_ID
    other = BusinessNumber.objects.create(phone_number_id="999", waba_id="another-account")
    BusinessNumber.objects.exclude(pk=other.pk).update(waba_id=WABA)
    cloud.get(
        TEMPLATES_URL,
        status=401,
        json={"error": {"message": "Error validating access token", "code": 190}},
    )

    with pytest.raises(TemplateSyncError, match=r"Error validating access token \(190\)"):
        sync_templates()

    paused = BusinessNumber.objects.filter(sending_paused_at__isnull=False)
    assert list(paused.values_list("waba_id", "paused_reason")) == [
        (WABA, "Error validating access token (code 190)")
    ]
    assert "Sending from" in staff_client.get("/").content.decode()


# Reading parameters


def test_it_lists_the_parameters_of_header_body_and_buttons_in_order():
    template = make_template(components=ORDER_UPDATE)

    parameters = required_parameters(template)

    assert [(x.component, x.key, x.index, x.sub_type) for x in parameters] == [
        ("header", "1", None, ""),
        ("body", "1", None, ""),
        ("body", "2", None, ""),
        ("body", "3", None, ""),
        ("button", "1", 1, "url"),
    ]
    assert [x.field for x in parameters] == [
        "header-1",
        "body-1",
        "body-2",
        "body-3",
        "button1-1",
    ]
    assert [x.example for x in parameters] == [
        "4567",
        "Amina",
        "4567",
        "on its way",
        "4567",  # Meta's example is the whole URL; staff type only its end
    ]
    # "Order " takes 6 of the header's 60 characters.
    assert parameters[0].max_length == 54


def test_it_reads_named_parameters_once_each_in_order_of_appearance():
    template = make_template(
        "named",
        [{"type": "BODY", "text": "{{topic}} for {{customer_name}}: {{topic}}"}],
        parameter_format="NAMED",
    )

    assert [x.key for x in required_parameters(template)] == ["topic", "customer_name"]


def test_positional_parameters_are_ordered_by_number():
    template = make_template("numbers", [{"type": "BODY", "text": "{{2}} then {{10}} then {{1}}"}])

    assert [x.key for x in required_parameters(template)] == ["1", "2", "10"]


def test_a_copy_code_button_needs_a_coupon_code():
    template = make_template(
        "coupon",
        [
            {"type": "BODY", "text": "Your discount"},
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "250FF"}]},
        ],
    )

    [coupon] = required_parameters(template)
    assert (coupon.field, coupon.sub_type, coupon.max_length) == ("button0-1", "copy_code", 15)


@pytest.mark.parametrize(
    ("components", "category", "expected"),
    [
        (ORDER_UPDATE, "UTILITY", ""),
        (WELCOME_BACK, "MARKETING", "parameter format"),
        ([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}], "MARKETING", ""),
        (
            [{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Hi"}],
            "UTILITY",
            "needs a location",
        ),
        ([{"type": "BODY", "text": "{{1}} is your code."}], "AUTHENTICATION", "one-time codes"),
        (
            [{"type": "CAROUSEL", "cards": []}, {"type": "BODY", "text": "x"}],
            "MARKETING",
            "CAROUSEL",
        ),
        (
            [{"type": "BODY", "text": "x"}, {"type": "BUTTONS", "buttons": [{"type": "FLOW"}]}],
            "MARKETING",
            "FLOW",
        ),
        ([{"type": "FOOTER", "text": "only a footer"}], "UTILITY", "no body"),
    ],
)
def test_it_says_which_templates_the_inbox_cannot_send(components, category, expected):
    # WELCOME_BACK has named placeholders but is stored as POSITIONAL here: a mismatch.
    template = make_template("t", components, category=category)

    reason = unsupported_reason(template)

    assert (expected in reason) if expected else reason == ""


# Validating


def order_values(**changes):
    values = {
        "header-1": "4567",
        "body-1": "Amina",
        "body-2": "4567",
        "body-3": "on its way",
        "button1-1": "4567",
    }
    return {**values, **changes}


def messages_of(error):
    return error.value.message_dict


def test_valid_values_come_back_stripped():
    template = make_template()

    cleaned = validate(template, order_values(**{"body-1": "  Amina  "}))

    assert cleaned == order_values()


def test_it_lists_every_missing_and_unexpected_parameter():
    template = make_template()
    values = order_values(**{"body-4": "surplus", "header-1": "  "})
    del values["body-2"]

    with pytest.raises(ValidationError) as error:
        validate(template, values)

    problems = messages_of(error)
    assert problems["header-1"] == ["{{1}} in the header is missing."]
    assert problems["body-2"] == ["{{2}} in the body is missing."]
    assert problems[NON_FIELD_ERRORS] == ["This template has no parameters called body-4."]
    assert set(problems) == {"header-1", "body-2", NON_FIELD_ERRORS}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("two\nlines", "cannot contain line breaks"),
        ("a\ttab", "cannot contain tabs"),
        ("five     spaces", "more than four spaces in a row"),
        ("x" * 1025, "is 1025 characters long; WhatsApp allows at most 1024"),
    ],
)
def test_it_refuses_body_values_meta_would_refuse(value, problem):
    template = make_template()

    with pytest.raises(ValidationError) as error:
        validate(template, order_values(**{"body-1": value}))

    assert problem in messages_of(error)["body-1"][0]


def test_four_spaces_and_the_longest_body_value_are_fine():
    template = make_template()

    validate(template, order_values(**{"body-1": "four    spaces", "body-2": "x" * 1024}))


def test_the_whole_header_must_fit_in_sixty_characters():
    template = make_template()

    validate(template, order_values(**{"header-1": "x" * 54}))
    with pytest.raises(ValidationError) as error:
        validate(template, order_values(**{"header-1": "x" * 55}))

    assert (
        "the whole header may have at most 60, so this may have at most 54"
        in (messages_of(error)["header-1"][0])
    )


def test_a_template_the_inbox_cannot_send_does_not_validate():
    template = make_template("where", [{"type": "HEADER", "format": "LOCATION"}, HELLO_WORLD[1]])

    with pytest.raises(ValidationError) as error:
        validate(template, {})

    assert "needs a location" in messages_of(error)[NON_FIELD_ERRORS][0]


# Media headers: a link to the file, which Meta fetches

SPRING_SALE = [
    {"type": "HEADER", "format": "IMAGE",
     "example": {"header_handle": ["https://scontent.whatsapp.net/v/sample.jpg"]}},
    {"type": "BODY", "text": "Hello {{1}}, our spring sale starts today.",
     "example": {"body_text": [["Amina"]]}},
]  # fmt: skip


@pytest.mark.parametrize("kind", ["IMAGE", "VIDEO", "DOCUMENT"])
def test_a_media_header_asks_for_a_link_before_the_body_values(kind):
    template = make_template("spring", [{**SPRING_SALE[0], "format": kind}, SPRING_SALE[1]])

    header, body = required_parameters(template)

    assert (header.field, header.sub_type, header.max_length) == (
        "header-media",
        kind.lower(),
        2000,
    )
    assert header.where.startswith(f"Header {kind.lower()}: a link")
    assert body.field == "body-1"
    assert unsupported_reason(template) == ""


@pytest.mark.parametrize(
    "link",
    [
        "http://example.org/sale.jpg",  # would travel unencrypted
        "example.org/sale.jpg",
        "https://",
        "https://example.org/spring sale.jpg",
        "javascript:alert(1)",
    ],
)
def test_a_media_header_needs_a_full_https_link(link):
    template = make_template("spring", SPRING_SALE)

    with pytest.raises(ValidationError) as error:
        validate(template, {"header-media": link, "body-1": "Amina"})

    assert messages_of(error)["header-media"] == [
        "The link to the header image must be a full https:// address that WhatsApp can fetch."
    ]


def test_a_missing_media_link_is_named_like_any_missing_value():
    template = make_template("spring", SPRING_SALE)

    with pytest.raises(ValidationError) as error:
        validate(template, {"body-1": "Amina"})

    assert messages_of(error)["header-media"] == ["The link to the header image is missing."]


def test_the_preview_shows_which_file_the_header_carries():
    template = make_template("spring", SPRING_SALE)
    link = "https://cdn.example.org/spring.jpg"

    assert render_preview(template, {"header-media": link, "body-1": "Amina"}) == (
        f"🖼️ Image: {link}\n\nHello Amina, our spring sale starts today."
    )
    assert render_preview(template, {}).startswith("🖼️ Image: …")


def test_an_image_header_is_sent_by_link(staff_user):
    conversation = deliver_text()
    link = "https://cdn.example.org/spring.jpg"
    template = make_template("spring", SPRING_SALE)

    message = queue(conversation, staff_user, template, {"header-media": link, "body-1": "Amina"})

    assert template_payload(message)["components"] == [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Amina"}]},
    ]


def test_a_document_header_is_named_after_the_file_it_links_to(staff_user):
    conversation = deliver_text()
    template = make_template("invoice", [{"type": "HEADER", "format": "DOCUMENT"}, HELLO_WORLD[1]])
    link = "https://files.example.org/invoices/Invoice%202026-04.pdf?sig=abc"

    message = queue(conversation, staff_user, template, {"header-media": link})

    [header] = template_payload(message)["components"]
    assert header["parameters"] == [
        {"type": "document", "document": {"link": link, "filename": "Invoice 2026-04.pdf"}}
    ]


# Previewing


def test_the_preview_is_what_the_customer_reads():
    template = make_template()

    assert render_preview(template, order_values()) == (
        "Order 4567\n\nHello Amina, your order 4567 is on its way.\n\nAl Qalam Books"
    )


def test_missing_values_stay_visible_as_placeholders_in_the_preview():
    template = make_template("welcome_back_ar", WELCOME_BACK, parameter_format="NAMED")

    assert render_preview(template, {"body-customer_name": "أمينة"}) == (
        "مرحباً أمينة، هل ما زلت مهتماً بـ {{topic}}؟"
    )


# Sending


def test_a_template_is_queued_with_its_preview_text_even_after_the_window_closed(staff_user):
    conversation = deliver_text(hours_ago=30)
    template = make_template()

    message = queue(conversation, staff_user, template, order_values())

    assert not conversation.window_is_open()
    assert (message.type, message.status, message.direction) == ("template", "pending", "out")
    assert message.text.startswith("Order 4567\n\nHello Amina")
    assert message.data["template"]["name"] == "order_update"
    assert message.data["template"]["values"] == order_values()


def test_the_payload_carries_positional_parameters_and_the_url_button(staff_user):
    conversation = deliver_text()
    message = queue(conversation, staff_user, make_template(), order_values())

    assert template_payload(message) == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "4567"}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Amina"},
                    {"type": "text", "text": "4567"},
                    {"type": "text", "text": "on its way"},
                ],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": 1,
                "parameters": [{"type": "text", "text": "4567"}],
            },
        ],
    }


def test_named_parameters_carry_their_names(staff_user):
    conversation = deliver_text()
    template = make_template(
        "welcome_back_ar", WELCOME_BACK, language="ar", parameter_format="NAMED"
    )

    message = queue(
        conversation,
        staff_user,
        template,
        {"body-customer_name": "أمينة", "body-topic": "الخط العربي"},
    )

    assert template_payload(message) == {
        "name": "welcome_back_ar",
        "language": {"code": "ar"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "customer_name", "text": "أمينة"},
                    {"type": "text", "parameter_name": "topic", "text": "الخط العربي"},
                ],
            }
        ],
    }


def test_a_template_without_parameters_sends_no_components(staff_user):
    conversation = deliver_text()
    message = queue(conversation, staff_user, make_template("hello_world", HELLO_WORLD), {})

    assert template_payload(message) == {"name": "hello_world", "language": {"code": "en_US"}}


def test_a_coupon_code_is_sent_as_a_coupon_code_parameter(staff_user):
    conversation = deliver_text()
    template = make_template(
        "coupon",
        [
            {"type": "BODY", "text": "Your discount"},
            {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "250FF"}]},
        ],
    )

    message = queue(conversation, staff_user, template, {"button0-1": "SAVE25"})

    assert template_payload(message)["components"] == [
        {
            "type": "button",
            "sub_type": "copy_code",
            "index": 0,
            "parameters": [{"type": "coupon_code", "coupon_code": "SAVE25"}],
        }
    ]


def test_the_payload_does_not_change_when_the_template_does_later(staff_user):
    conversation = deliver_text()
    template = make_template()
    message = queue(conversation, staff_user, template, order_values())

    template.delete()

    assert template_payload(Message.objects.get(pk=message.pk))["name"] == "order_update"


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "PAUSED", "DISABLED"])
def test_only_approved_templates_can_be_sent(staff_user, status):
    conversation = deliver_text()
    template = make_template(status=status)

    with pytest.raises(ReplyRefused, match="Only approved templates"):
        queue(conversation, staff_user, template, order_values())

    assert not Message.objects.filter(direction="out").exists()


def test_a_template_of_another_business_account_is_refused(staff_user):
    conversation = deliver_text()
    template = make_template(waba_id="another-waba")

    with pytest.raises(ReplyRefused, match="another WhatsApp Business Account"):
        queue(conversation, staff_user, template, order_values())


def test_bad_values_queue_nothing(staff_user):
    conversation = deliver_text()

    with pytest.raises(ValidationError):
        queue(conversation, staff_user, make_template(), order_values(**{"body-1": ""}))

    assert not Message.objects.filter(direction="out").exists()


def test_a_double_submit_queues_one_message(staff_user):
    import uuid

    conversation = deliver_text()
    template = make_template()
    token = uuid.uuid4()

    first = queue(conversation, staff_user, template, order_values(), client_token=token)
    second = queue(conversation, staff_user, template, order_values(), client_token=token)

    assert first.pk == second.pk
    assert Message.objects.filter(direction="out").count() == 1


def test_the_queued_template_reaches_the_graph_api_as_meta_expects(cloud, staff_user):
    conversation = deliver_text(hours_ago=30)
    message = queue(conversation, staff_user, make_template(), order_values())
    cloud.post(
        f"{GRAPH}/{p.PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.TEMPLATE"}]},
    )

    send_message.call(message.pk)

    body = json.loads(cloud.calls[0].request.body)
    assert body["type"] == "template"
    assert body["to"] == p.USER_WA_ID
    assert body["template"]["name"] == "order_update"
    assert body["template"]["components"][1]["parameters"][0] == {"type": "text", "text": "Amina"}
    message.refresh_from_db()
    assert (message.status, message.wamid) == ("sent", "wamid.TEMPLATE")
