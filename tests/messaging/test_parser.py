"""parse_webhook: Meta's webhook bodies → normalised events, one rule at a time."""

import json
from datetime import UTC, datetime

import pytest

from messaging import payloads as p
from messaging.events import (
    AccountUpdate,
    BusinessRef,
    ContactChange,
    ContactRef,
    IgnoredField,
    InboundMessage,
    StatusUpdate,
    TemplateUpdate,
    WebhookError,
)
from messaging.parser import is_bsuid, parse_webhook

BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"
PHONE = "16505551234"
MESSAGE_PATH = "entry[0].changes[0].value.messages[0]"
STATUS_PATH = "entry[0].changes[0].value.statuses[0]"


def parse(messages=None, *, contacts=None, statuses=None, errors=None):
    """Parse one "messages" change holding these items."""
    body = p.envelope(
        p.value(contacts=contacts, messages=messages, statuses=statuses, errors=errors)
    )
    return parse_webhook(body)


def parse_one(message, contacts=None) -> InboundMessage:
    events = parse([message], contacts=contacts)
    assert [type(e) for e in events] == [InboundMessage], events
    return events[0]


def malformed(events):
    return [e for e in events if isinstance(e, WebhookError) and e.malformed]


def raw_message(kind, content, **fields):
    """A message item written out by hand, for shapes the builders do not make."""
    return (
        {"from": PHONE, "id": "wamid.A", "timestamp": "1750000000", "type": kind}
        | ({kind: content} if content is not None else {})
        | fields
    )


# Text, timestamps, business and path.


def test_it_reads_a_text_message_with_its_business_contact_and_path():
    event = parse_one(
        p.text_message("Hello", wamid="wamid.T1", timestamp=1750000000),
        contacts=[p.contact(wa_id=PHONE, name="Sheena Nelson")],
    )

    assert event.business == BusinessRef(
        phone_number_id=p.PHONE_NUMBER_ID,
        display_phone_number=p.DISPLAY_PHONE_NUMBER,
        waba_id=p.WABA_ID,
    )
    assert event.contact == ContactRef(wa_id=PHONE, profile_name="Sheena Nelson")
    assert event.wamid == "wamid.T1"
    assert event.type == "text"
    assert event.text == "Hello"
    assert event.data == {}
    assert event.path == MESSAGE_PATH


@pytest.mark.parametrize(
    "timestamp", ["1750000000", 1750000000, "1750000000.0", 1750000000.9, " 1750000000 "]
)
def test_it_turns_unix_seconds_as_string_or_number_into_aware_utc(timestamp):
    event = parse_one(raw_message("text", {"body": "x"}, timestamp=timestamp))

    assert event.timestamp == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)


def test_it_keeps_arabic_text_and_emoji_through_metas_escaped_encoding():
    text = "السلام عليكم 👋🏽 https://example.org/a/b"
    wire = p.encode(p.envelope(p.value(messages=[p.text_message(text)])))

    assert b"\\u0627" in wire  # escaped as Meta sends it
    (event,) = parse_webhook(json.loads(wire))
    assert event.text == text


# Media.


@pytest.mark.parametrize("kind", ["image", "video", "audio", "document", "sticker"])
def test_it_reads_media_id_mime_type_and_sha256(kind):
    event = parse_one(raw_message(kind, {"id": "123", "mime_type": "x/y", "sha256": "abc="}))

    assert event.type == kind
    assert event.data == {"media_id": "123", "mime_type": "x/y", "sha256": "abc="}
    assert event.text == ""


def test_it_uses_a_media_caption_as_the_text_and_keeps_filename_and_url():
    event = parse_one(
        p.media_message(
            "document",
            "987",
            caption="Invoice",
            filename="invoice.pdf",
            url="https://lookaside.fbsbx.com/x",
        )
    )

    assert event.text == "Invoice"
    assert event.data["caption"] == "Invoice"
    assert event.data["filename"] == "invoice.pdf"
    assert event.data["url"] == "https://lookaside.fbsbx.com/x"
    assert event.data["mime_type"] == "application/pdf"


def test_it_marks_voice_notes_and_animated_stickers():
    voice = parse_one(p.media_message("audio", "1", voice=True))
    music = parse_one(p.media_message("audio", "2", voice=False))
    sticker = parse_one(p.media_message("sticker", "3", animated=True))

    assert voice.data["voice"] is True
    assert music.data["voice"] is False
    assert sticker.data["animated"] is True
    assert "voice" not in sticker.data


# Location, shared contacts, orders.


def test_it_reads_coordinates_sent_as_numeric_strings_as_numbers():
    event = parse_one(raw_message("location", {"latitude": "24.7", "longitude": " 46.68"}))

    assert (event.data["latitude"], event.data["longitude"]) == (24.7, 46.68)
    assert "not_understood" not in event.data


def test_it_reads_a_location_with_its_name_and_address():
    event = parse_one(
        p.location_message(
            21.4225, 39.8262, name="Masjid al-Haram", address="Makkah", url="https://x.example"
        )
    )

    assert event.data == {
        "latitude": 21.4225,
        "longitude": 39.8262,
        "name": "Masjid al-Haram",
        "address": "Makkah",
        "url": "https://x.example",
    }


def test_it_keeps_shared_contact_cards_as_given():
    cards = [
        {
            "name": {"formatted_name": "Lucía Gómez", "first_name": "Lucía"},
            "phones": [{"phone": "+1 555 0100", "wa_id": "15550100", "type": "MOBILE"}],
            "emails": [{"email": "lucia@example.org", "type": "WORK"}],
            "org": {"company": "Al Qalam"},
            "urls": [{"url": "https://example.org", "type": "WORK"}],
        }
    ]
    event = parse_one(raw_message("contacts", cards))

    assert event.data == {"contacts": cards}


def test_it_reads_an_order_with_its_items_and_text():
    items = [{"product_retailer_id": "BOOK", "quantity": 2, "item_price": 30, "currency": "SAR"}]
    event = parse_one(
        raw_message("order", {"catalog_id": "354", "text": "Two please", "product_items": items})
    )

    assert event.text == "Two please"
    assert event.data == {"catalog_id": "354", "product_items": items, "text": "Two please"}


# Interactive replies and template buttons.


def test_it_reads_a_reply_button_tap():
    event = parse_one(p.interactive_reply("yes-1", "Yes", reply_to="wamid.Q"))

    assert event.text == "Yes"
    assert event.reply_to_wamid == "wamid.Q"
    assert event.data == {
        "interactive_type": "button_reply",
        "reply_id": "yes-1",
        "title": "Yes",
        "description": "",
    }


def test_it_reads_a_list_choice_with_its_description():
    event = parse_one(
        p.interactive_reply("express", "Express", description="Next day", kind="list_reply")
    )

    assert event.data["interactive_type"] == "list_reply"
    assert event.data["description"] == "Next day"
    assert event.text == "Express"


def test_it_parses_a_flow_response_json_string_into_a_dict():
    reply = {"name": "flow", "body": "Sent", "response_json": '{"rating": "4", "flow_token": "t"}'}
    event = parse_one(raw_message("interactive", {"type": "nfm_reply", "nfm_reply": reply}))

    assert event.text == "Sent"
    assert event.data == {
        "interactive_type": "nfm_reply",
        "name": "flow",
        "body": "Sent",
        "response_json": {"rating": "4", "flow_token": "t"},
    }


def test_it_keeps_a_flow_response_that_is_not_json_as_the_string():
    reply = {"body": "Sent", "response_json": "{not json"}
    event = parse_one(raw_message("interactive", {"type": "nfm_reply", "nfm_reply": reply}))

    assert event.data["response_json"] == "{not json"


def test_it_keeps_an_unknown_interactive_reply_whole():
    reply = {"response": "accept", "response_source": "user_action"}
    event = parse_one(
        raw_message(
            "interactive", {"type": "call_permission_reply", "call_permission_reply": reply}
        )
    )

    assert event.data == {"interactive_type": "call_permission_reply", "payload": reply}


def test_it_reads_a_template_quick_reply_button():
    event = parse_one(raw_message("button", {"payload": "STOP_PROMOS", "text": "Stop"}))

    assert event.text == "Stop"
    assert event.data == {"payload": "STOP_PROMOS", "text": "Stop"}


# Reactions, edits, revokes.


def test_it_points_a_reaction_at_its_target_message():
    event = parse_one(p.reaction_message("wamid.TARGET", "❤️"))

    assert event.target_wamid == "wamid.TARGET"
    assert event.data == {"emoji": "❤️"}


@pytest.mark.parametrize("emoji", ["", None], ids=["empty-emoji", "no-emoji-key"])
def test_it_reads_both_forms_of_an_unreaction_as_emoji_removed(emoji):
    event = parse_one(p.reaction_message("wamid.TARGET", emoji))

    assert event.target_wamid == "wamid.TARGET"
    assert event.data == {"emoji": ""}


def test_it_reads_an_edit_with_the_new_content_normalised_like_a_message():
    edit = {
        "original_message_id": "wamid.ORIGINAL",
        "message": {
            "type": "image",
            "image": {"caption": "Better caption", "id": "55", "mime_type": "image/jpeg"},
        },
    }
    event = parse_one(raw_message("edit", edit))

    assert event.target_wamid == "wamid.ORIGINAL"
    assert event.text == "Better caption"
    assert event.data == {
        "message": {
            "type": "image",
            "text": "Better caption",
            "data": {
                "media_id": "55",
                "mime_type": "image/jpeg",
                "sha256": "",
                "caption": "Better caption",
            },
        }
    }


def test_it_points_a_revoke_at_the_deleted_message():
    event = parse_one(raw_message("revoke", {"original_message_id": "wamid.GONE"}))

    assert event.target_wamid == "wamid.GONE"
    assert event.text == ""


@pytest.mark.parametrize(
    ("kind", "content", "problem"),
    [
        ("reaction", {"emoji": "👍"}, "reaction has no message_id"),
        ("edit", {"message": {}}, "edit has no original_message_id"),
        ("revoke", {}, "revoke has no original_message_id"),
    ],
)
def test_it_keeps_a_reaction_edit_or_revoke_without_a_target_as_not_understood(
    kind, content, problem
):
    event = parse_one(raw_message(kind, content))

    assert (event.type, event.target_wamid, event.data["not_understood"]) == (kind, "", problem)


# System messages and identity changes.


def test_it_follows_a_number_change_notice_with_a_contact_change():
    notice = p.system_number_change(
        "16505551234",
        "12195555358",
        new_user_id="US.NEW1",
        previous_user_id=BSUID,
        timestamp=1750000000,
    )

    message, change = parse([notice])

    assert isinstance(message, InboundMessage)
    assert message.type == "system"
    assert message.text.startswith("User ")
    assert message.data["system_type"] == "user_changed_number"
    assert message.data["new_wa_id"] == "12195555358"
    assert message.data["new_user_id"] == "US.NEW1"
    assert change == ContactChange(
        business=message.business,
        kind="number_changed",
        contact=ContactRef(wa_id="16505551234", user_id=BSUID),
        timestamp=message.timestamp,
        new_wa_id="12195555358",
        new_user_id="US.NEW1",
        path=MESSAGE_PATH,
    )


def test_it_reads_a_bsuid_change_notice_that_has_no_sender_phone():
    notice = raw_message(
        "system",
        {
            "body": "User changed from US.1 to US.2",
            "type": "user_changed_user_id",
            "user_id": "US.2",
            "previous_user_id": "US.1",
        },
    )
    del notice["from"]

    message, change = parse([notice])

    assert message.contact == ContactRef(user_id="US.1")
    assert (change.kind, change.contact.user_id, change.new_user_id) == (
        "user_id_changed",
        "US.1",
        "US.2",
    )


def test_it_reads_an_identity_change_and_keeps_the_identity_data():
    identity = {"acknowledged": True, "created_timestamp": "1697044706", "hash": "xyz"}
    notice = raw_message(
        "system",
        {"body": "User identity changed", "type": "customer_identity_changed"},
        identity=identity,
    )

    message, change = parse([notice])

    assert message.data["identity"] == identity
    assert change.kind == "identity_changed"
    assert change.contact.wa_id == PHONE


def test_it_treats_any_system_notice_carrying_a_new_user_id_as_a_user_id_change():
    notice = raw_message("system", {"type": "something_new", "user_id": "US.9"})

    _message, change = parse([notice])

    assert change.kind == "user_id_changed"
    assert change.new_user_id == "US.9"


def test_it_adds_no_contact_change_for_other_system_notices():
    events = parse([raw_message("system", {"type": "something_new", "body": "Hi"})])

    assert [type(e) for e in events] == [InboundMessage]


# Other types.


def test_it_reads_a_request_welcome_without_data():
    event = parse_one(raw_message("request_welcome", None))

    assert (event.type, event.text, event.data) == ("request_welcome", "", {})


def test_it_keeps_an_unsupported_message_with_its_errors_and_kind():
    error = p.error(131051, "Message type unknown", details="Message type is not supported.")
    event = parse_one(
        raw_message("unsupported", None, errors=[error], unsupported={"type": "poll"})
    )

    assert event.type == "unsupported"
    assert event.data == {
        "unsupported": {"type": "poll"},
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "details": "Message type is not supported.",
            }
        ],
    }


def test_it_keeps_a_message_of_an_unknown_type_with_its_payload():
    event = parse_one(raw_message("hologram", {"shape": "cube"}))

    assert event.type == "hologram"
    assert event.data == {"payload": {"shape": "cube"}}


def test_it_keeps_an_unknown_type_that_has_no_object_of_its_own():
    event = parse_one(raw_message("hologram", None))

    assert event.data == {"payload": None}


# Context, referrals, errors on any message.


def test_it_reads_reply_context_forward_flags_and_referred_product():
    product = {"catalog_id": "1948", "product_retailer_id": "di9o"}
    context = {
        "from": p.DISPLAY_PHONE_NUMBER,
        "id": "wamid.ASKED",
        "forwarded": True,
        "frequently_forwarded": True,
        "referred_product": product,
    }
    event = parse_one(raw_message("text", {"body": "Still available?"}, context=context))

    assert event.reply_to_wamid == "wamid.ASKED"
    assert event.data == {
        "forwarded": True,
        "frequently_forwarded": True,
        "referred_product": product,
    }


def test_it_leaves_reply_to_empty_for_a_forwarded_message_without_context_id():
    event = parse_one(p.text_message("fwd", forwarded=True))

    assert event.reply_to_wamid == ""
    assert event.data == {"forwarded": True}


def test_it_keeps_the_ad_referral_a_conversation_started_from():
    referral = {"source_url": "https://fb.me/x", "source_type": "ad", "ctwa_clid": "Aff"}
    event = parse_one(raw_message("text", {"body": "Info?"}, referral=referral))

    assert event.data == {"referral": referral}


# Who sent it: phone numbers, BSUIDs, usernames.


def test_it_takes_the_username_from_the_profile_or_the_contact_itself():
    in_profile = {"profile": {"name": "Amina", "username": "amina.q"}, "user_id": BSUID}
    beside = {"profile": {"name": "Amina"}, "username": "amina.q", "user_id": BSUID}

    for contact in (in_profile, beside):
        event = parse_one(p.text_message("hi", sender=BSUID), contacts=[contact])
        assert event.contact.username == "amina.q"


def test_it_reads_a_username_only_sender_whose_from_is_a_bsuid():
    event = parse_one(
        p.text_message("hi", sender=BSUID),
        contacts=[p.contact(user_id=BSUID, username="amina", parent_user_id=PARENT_BSUID)],
    )

    assert event.contact == ContactRef(
        wa_id="", user_id=BSUID, parent_user_id=PARENT_BSUID, username="amina"
    )


def test_it_reads_a_sender_with_only_from_user_id():
    event = parse_one(p.text_message("hi", sender=None, sender_user_id=BSUID))

    assert event.contact == ContactRef(user_id=BSUID)


def test_it_pairs_phone_and_bsuid_when_the_same_user_later_writes_with_a_phone():
    first = parse_one(p.text_message("hi", sender=BSUID), contacts=[p.contact(user_id=BSUID)])
    later = parse_one(
        p.text_message("hi again", sender=PHONE, sender_user_id=BSUID),
        contacts=[p.contact(wa_id=PHONE, user_id=BSUID)],
    )

    assert first.contact == ContactRef(user_id=BSUID)
    assert later.contact == ContactRef(wa_id=PHONE, user_id=BSUID)


def test_it_treats_a_bsuid_in_a_contacts_wa_id_as_a_user_id():
    event = parse_one(p.text_message("hi", sender=BSUID), contacts=[{"wa_id": BSUID}])

    assert event.contact == ContactRef(user_id=BSUID)


def test_it_matches_each_message_to_its_own_contact_in_a_batch():
    contacts = [
        p.contact(wa_id="111", name="One"),
        p.contact(user_id="US.2", name="Two"),
        p.contact(wa_id="333", user_id="US.3", name="Three"),
    ]
    messages = [
        p.text_message("a", sender="333"),
        p.text_message("b", sender="111"),
        p.text_message("c", sender=None, sender_user_id="US.2"),
        p.text_message("d", sender="444"),
    ]

    names = [(e.contact.profile_name, e.contact.wa_id) for e in parse(messages, contacts=contacts)]

    assert names == [("Three", "333"), ("One", "111"), ("Two", ""), ("", "444")]


def test_it_uses_a_lone_contact_unless_its_ids_contradict_the_sender():
    agreeing = parse_one(
        p.text_message("hi", sender=PHONE), contacts=[p.contact(user_id=BSUID, name="A")]
    )
    contradicting = parse_one(
        p.text_message("hi", sender=PHONE), contacts=[p.contact(wa_id="999", name="B")]
    )

    assert agreeing.contact == ContactRef(wa_id=PHONE, user_id=BSUID, profile_name="A")
    assert contradicting.contact == ContactRef(wa_id=PHONE)


def test_it_rejects_a_message_with_no_sender_at_all():
    events = parse([p.text_message("who?", sender=None)])

    assert [(e.path, e.title) for e in malformed(events)] == [
        (MESSAGE_PATH, "message has no sender")
    ]


def test_it_recognises_bsuids_by_shape():
    assert is_bsuid(BSUID)
    assert is_bsuid(PARENT_BSUID)
    assert not is_bsuid(PHONE)
    assert not is_bsuid("")
    assert not is_bsuid("us.123")


# Statuses.


def test_it_reads_a_status_with_conversation_and_pricing():
    conversation = {"id": "c1", "expiration_timestamp": "1698339900", "origin": {"type": "service"}}
    pricing = {"billable": True, "pricing_model": "CBP", "category": "service"}

    (event,) = parse(
        statuses=[
            p.status(
                "wamid.OUT",
                "DELIVERED",
                timestamp=1750000000,
                conversation=conversation,
                pricing=pricing,
            )
        ],
        contacts=[p.contact(wa_id=PHONE, user_id=BSUID, name="Sheena")],
    )

    assert event == StatusUpdate(
        business=event.business,
        wamid="wamid.OUT",
        status="delivered",
        timestamp=datetime.fromtimestamp(1750000000, tz=UTC),
        recipient=ContactRef(wa_id=PHONE, user_id=BSUID, profile_name="Sheena"),
        conversation=conversation,
        pricing=pricing,
        errors=[],
        path=STATUS_PATH,
    )


def test_it_keeps_the_errors_of_a_failed_status():
    error = p.error(131047, "Re-engagement message", details="More than 24 hours have passed.")

    (event,) = parse(statuses=[p.status("wamid.OUT", "failed", errors=[error])])

    assert event.status == "failed"
    assert event.errors == [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "details": "More than 24 hours have passed.",
        }
    ]
    assert (event.conversation, event.pricing) == ({}, {})


def test_it_reads_a_status_for_a_recipient_known_only_by_bsuid():
    (by_id,) = parse(statuses=[p.status("wamid.A", "read", recipient=BSUID)])
    (by_field,) = parse(
        statuses=[p.status("wamid.B", "read", recipient=None, recipient_user_id=BSUID)]
    )

    assert by_id.recipient == ContactRef(user_id=BSUID)
    assert by_field.recipient == ContactRef(user_id=BSUID)


def test_it_ignores_statuses_of_group_messages():
    group_status = p.status("wamid.G", "read", recipient="groupid") | {"recipient_type": "group"}

    assert parse(statuses=[group_status]) == [IgnoredField(field="groups", path=STATUS_PATH)]


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"id": None}, "status has no id"),
        ({"status": ""}, "status has no status"),
        ({"timestamp": "soon"}, "status timestamp is missing or unreadable"),
    ],
)
def test_it_rejects_an_unreadable_status_alone(change, title):
    bad = p.status("wamid.BAD", "sent") | change
    events = parse(statuses=[bad, p.status("wamid.GOOD", "sent")])

    assert events[0] == WebhookError(path=STATUS_PATH, title=title, malformed=True)
    assert events[1].wamid == "wamid.GOOD"


def test_it_keeps_a_status_whose_details_are_odd_without_them():
    odd = p.status("wamid.OUT", "failed") | {
        "pricing": "free",
        "conversation": ["c0ffee"],
        "errors": [{"code": 131026, "title": "Undeliverable"}, "junk"],
        "biz_opaque_callback_data": {"x": 1},
    }

    (event,) = parse(statuses=[odd])

    assert (event.wamid, event.status, event.pricing, event.conversation) == (
        "wamid.OUT",
        "failed",
        {},
        {},
    )
    assert [error["code"] for error in event.errors] == [131026]
    assert event.callback_data == ""


# Errors Meta reports for a whole value.


def test_it_reports_value_level_errors_as_webhook_errors():
    events = parse(
        messages=[p.text_message("hi")],
        errors=[p.error(131000, "Something went wrong", details="Unsupported webhook payload")],
    )

    assert isinstance(events[0], InboundMessage)
    assert events[1] == WebhookError(
        path="entry[0].changes[0].value.errors[0]",
        code=131000,
        title="Something went wrong",
        message="Something went wrong",
        details="Unsupported webhook payload",
        malformed=False,
    )


def test_it_reads_a_value_with_errors_and_nothing_else():
    events = parse(errors=[{"code": "130429", "title": "Rate limit hit"}])

    assert [(e.code, e.title, e.malformed) for e in events] == [(130429, "Rate limit hit", False)]


# Batches: every entry, every change, every item, in order.


def test_it_reads_every_item_of_every_change_of_every_entry_in_order():
    entries = []
    for e in range(3):
        changes = []
        for c in range(2):
            messages = [
                p.text_message(f"{e}-{c}-{m}", wamid=f"wamid.{e}.{c}.{m}") for m in range(50)
            ]
            statuses = [p.status(f"wamid.out.{e}.{c}.{s}", "read") for s in range(50)]
            changes.append(p.change(p.value(messages=messages, statuses=statuses)))
        entries.append(p.entry(*changes, waba_id=f"waba-{e}"))

    events = parse_webhook(p.envelope(*entries))

    assert len(events) == 3 * 2 * 100
    assert not malformed(events)
    expected_paths = [
        f"entry[{e}].changes[{c}].value.{key}[{i}]"
        for e in range(3)
        for c in range(2)
        for key in ("messages", "statuses")
        for i in range(50)
    ]
    assert [event.path for event in events] == expected_paths
    texts = [event.text for event in events if isinstance(event, InboundMessage)]
    assert texts == [f"{e}-{c}-{m}" for e in range(3) for c in range(2) for m in range(50)]
    assert {event.business.waba_id for event in events} == {"waba-0", "waba-1", "waba-2"}


def test_it_reads_a_thousand_messages_in_one_post():
    messages = [p.text_message(str(i), wamid=f"wamid.{i}") for i in range(1000)]

    events = parse(messages)

    assert [e.wamid for e in events] == [f"wamid.{i}" for i in range(1000)]


def test_it_produces_json_serialisable_data_for_every_type():
    messages = [
        p.text_message("t"),
        p.media_message("image", caption="c"),
        p.location_message(1.5, 2.5),
        p.reaction_message("wamid.X", "👍"),
        p.interactive_reply("a", "A"),
        p.system_number_change("1", "2"),
        raw_message("contacts", [{"name": {"formatted_name": "N"}}]),
        raw_message("order", {"product_items": []}),
        raw_message("edit", {"original_message_id": "wamid.X", "message": {"type": "text"}}),
        raw_message("unknown_kind", {"any": ["thing", 1, None]}),
    ]

    for event in parse(messages):
        if isinstance(event, InboundMessage):
            json.dumps(event.data)


# One bad item does not stop the others.


@pytest.mark.parametrize(
    ("bad", "title"),
    [
        ("not a message", "message is not an object"),
        (None, "message is not an object"),
        (raw_message("text", {"body": "secret"}, id=""), "message has no id"),
        (raw_message("text", {"body": "secret"}, id=["x"]), "id is not a string"),
        (
            raw_message("text", {"body": "secret"}, timestamp="yesterday"),
            "message timestamp is missing or unreadable",
        ),
        (
            raw_message("text", {"body": "secret"}, timestamp=10**30),
            "message timestamp is missing or unreadable",
        ),
        (
            raw_message("text", {"body": "secret"}, timestamp=True),
            "message timestamp is missing or unreadable",
        ),
        (
            raw_message("text", {"body": "secret"}, timestamp="nan"),
            "message timestamp is missing or unreadable",
        ),
        (raw_message("text", {"body": "secret"}, **{"from": {"x": 1}}), "from is not a string"),
    ],
)
def test_it_isolates_one_message_it_cannot_place_among_good_ones(bad, title):
    good = [p.text_message(str(i), wamid=f"wamid.{i}") for i in range(3)]

    events = parse([good[0], bad, good[1], good[2]])

    assert events[1] == WebhookError(
        path="entry[0].changes[0].value.messages[1]", title=title, malformed=True
    )
    assert [e.wamid for e in events if isinstance(e, InboundMessage)] == [
        "wamid.0",
        "wamid.1",
        "wamid.2",
    ]
    assert "secret" not in events[1].title


@pytest.mark.parametrize(
    ("bad", "kind", "problem"),
    [
        (raw_message("text", "secret"), "text", "text is not an object"),
        (raw_message("text", {"body": {"nested": "secret"}}), "text", "body is not a string"),
        (raw_message("", {"body": "secret"}), "unknown", "message has no type"),
        (raw_message(None, None, text={"body": "secret"}), "unknown", "message has no type"),
        (
            raw_message("text", {"body": "secret"}, context="wamid.X"),
            "text",
            "context is not an object",
        ),
        (raw_message("location", {"latitude": "north"}), "location", "latitude is not a number"),
        (
            raw_message("system", {"type": "user_changed_number", "wa_id": ["x"]}),
            "system",
            "wa_id is not a string",
        ),
    ],
)
def test_it_keeps_a_message_it_cannot_fully_read_with_the_item_as_meta_sent_it(bad, kind, problem):
    good = p.text_message("fine", wamid="wamid.GOOD")

    events = parse([bad, good])

    assert [type(e) for e in events] == [InboundMessage, InboundMessage]
    kept = events[0]
    assert (kept.wamid, kept.type, kept.contact.wa_id, kept.text) == ("wamid.A", kind, PHONE, "")
    assert kept.timestamp == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)
    assert kept.data == {"raw": bad, "not_understood": problem}
    assert "secret" not in kept.data["not_understood"]
    assert events[1].text == "fine"


def test_it_isolates_an_item_that_trips_the_parser_itself():
    # An edit of an edit of an edit...: deep enough to exhaust Python's recursion limit.
    deep = {"type": "text", "text": {"body": "x"}}
    for _ in range(5000):
        deep = {"type": "edit", "edit": {"original_message_id": "wamid.X", "message": deep}}
    bad = raw_message("edit", deep["edit"])

    events = parse([bad, p.text_message("fine")])

    assert events[0].malformed
    assert events[0].title == "item could not be read (RecursionError)"
    assert events[1].text == "fine"


def test_it_reports_a_list_that_is_not_a_list_and_reads_the_rest():
    body = p.envelope(p.value(messages={"id": "wamid.1"}, statuses=[p.status("wamid.OUT", "sent")]))

    events = parse_webhook(body)

    assert events[0] == WebhookError(
        path="entry[0].changes[0].value.messages", title="messages is not a list", malformed=True
    )
    assert isinstance(events[1], StatusUpdate)


def test_it_reads_messages_when_a_contact_entry_is_unreadable():
    contacts = ["junk", {"wa_id": {"x": 1}}, p.contact(wa_id=PHONE, name="Real")]

    event = parse_one(p.text_message("hi", sender=PHONE), contacts=contacts)

    assert event.contact.profile_name == "Real"


# Bodies that are not WhatsApp webhooks, and odd shapes anywhere.


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        5,
        {},
        {"entry": []},
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": 5},
        {"object": "whatsapp_business_account", "entry": {"id": "1"}},
    ],
)
def test_it_reports_a_body_that_is_not_a_whatsapp_webhook_once(payload):
    assert parse_webhook(payload) == [
        WebhookError(path="", title="not a WhatsApp Business Account webhook", malformed=True)
    ]


ODD_SHAPES = [
    None,
    [],
    "x",
    1.5,
    {"entry": 5},
    {"object": "whatsapp_business_account", "entry": []},
    {"object": "whatsapp_business_account", "entry": ["string", None, 3, []]},
    {"object": "whatsapp_business_account", "entry": [{}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": "x"}]},
    {"object": "whatsapp_business_account", "entry": [{"id": {}, "changes": []}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [None, "x", 1, []]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": 7, "value": {}}]}]},
    p.envelope(p.change("x")),
    p.envelope(p.change([])),
    p.envelope(p.change({"messages": [{}]})),
    p.envelope(p.change({"metadata": "x", "messages": []})),
    p.envelope(p.change({"metadata": {"phone_number_id": []}, "messages": []})),
    p.envelope(p.change({"messages": [p.text_message("no metadata")]})),
    p.envelope(p.change({"contacts": "x", "messages": [p.text_message("x")]})),
    p.envelope(p.change({"statuses": [{}, {"id": 1}, {"id": "w", "status": 5}]})),
    p.envelope(p.change({"errors": [None, "x", {"code": {}}, {"error_data": "x"}]})),
    p.envelope(p.change({"messages": [{"id": "w", "timestamp": "1", "type": "x", "x": 1}]})),
    p.envelope(p.change({"messages": [raw_message("interactive", {"type": 5})]})),
    p.envelope(p.change({"messages": [raw_message("interactive", {"type": "type"})]})),
    p.envelope(p.change({"messages": [raw_message("edit", {"original_message_id": "w"})]})),
    p.envelope(p.change({"messages": [raw_message("system", "x")]})),
    p.envelope(p.change({"messages": [raw_message("contacts", "x")]})),
    p.envelope(p.change({"messages": [raw_message("order", {"product_items": 1})]})),
    p.envelope(p.change(None, "message_template_status_update")),
    p.envelope(p.change("x", "user_id_update")),
    p.envelope(p.change({"user_id_update": "x"}, "user_id_update")),
    p.envelope(p.change({"user_id_update": [None, {}, {"user_id": 5}]}, "user_id_update")),
    p.envelope(p.change(None, "calls")),
]


@pytest.mark.parametrize("payload", ODD_SHAPES)
def test_it_never_raises_whatever_the_shape(payload):
    events = parse_webhook(payload)

    assert isinstance(events, list)
    for event in events:
        assert isinstance(
            event,
            InboundMessage
            | StatusUpdate
            | ContactChange
            | TemplateUpdate
            | AccountUpdate
            | WebhookError
            | IgnoredField,
        )


def test_it_reports_odd_entries_and_changes_at_their_own_paths():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            "junk",
            {"id": "1", "changes": [None, {"value": {}}, p.change(p.value(messages=[]))]},
        ],
    }

    events = parse_webhook(body)

    assert [(e.path, e.title) for e in events] == [
        ("entry[0]", "entry is not an object"),
        ("entry[1].changes[0]", "change is not an object"),
        ("entry[1].changes[1]", "change has no field"),
    ]


@pytest.mark.parametrize(
    "metadata", [None, {}, {"phone_number_id": ""}, {"display_phone_number": "15550783881"}]
)
def test_it_reports_a_messages_value_without_its_business_number_as_malformed(metadata):
    value = {"messages": [p.text_message("hi")], "statuses": [p.status("wamid.OUT", "read")]}
    if metadata is not None:
        value["metadata"] = metadata

    events = parse_webhook(p.envelope(p.change(value), p.change(p.value(messages=[]))))

    assert events == [
        WebhookError(
            path="entry[0].changes[0]",
            title="value has no metadata.phone_number_id",
            malformed=True,
        )
    ]


# Fields we do not act on.


@pytest.mark.parametrize(
    "field",
    [
        "calls",
        "user_preferences",
        "smb_message_echoes",
        "smb_app_state_sync",
        "history",
        "business_capability_update",
        "group_lifecycle_update",
        "something_meta_adds_next_year",
    ],
)
def test_it_records_fields_it_does_not_act_on(field):
    events = parse_webhook(p.envelope(p.change({"anything": [1, 2]}, field)))

    assert events == [IgnoredField(field=field, path="entry[0].changes[0]")]


def test_it_records_groups_and_echoes_inside_a_messages_value_and_reads_the_rest():
    value = p.value(messages=[p.text_message("hi")]) | {
        "groups": [{"group_id": "g", "type": "group_create"}],
        "message_echoes": [{"id": "wamid.E", "type": "text"}],
    }

    events = parse_webhook(p.envelope(value))

    assert isinstance(events[0], InboundMessage)
    assert events[1:] == [
        IgnoredField(field="groups", path="entry[0].changes[0].value.groups"),
        IgnoredField(field="message_echoes", path="entry[0].changes[0].value.message_echoes"),
    ]


# Templates.


def test_it_reads_a_template_status_update():
    value = {
        "event": "REJECTED",
        "message_template_id": 1689556908129835,
        "message_template_name": "abandoned_cart",
        "message_template_language": "en",
        "reason": "INVALID_FORMAT",
    }

    events = parse_webhook(p.envelope(p.change(value, "message_template_status_update")))

    assert events == [
        TemplateUpdate(
            waba_id=p.WABA_ID,
            field="message_template_status_update",
            template_id="1689556908129835",
            name="abandoned_cart",
            language="en",
            event="REJECTED",
            reason="INVALID_FORMAT",
            data=value,
            path="entry[0].changes[0]",
        )
    ]


@pytest.mark.parametrize(
    ("field", "extra", "event"),
    [
        ("message_template_quality_update", {"new_quality_score": "YELLOW"}, "YELLOW"),
        ("template_category_update", {"new_category": "MARKETING"}, "MARKETING"),
        ("message_template_components_update", {"message_template_element": "Hi {{1}}"}, ""),
    ],
)
def test_it_reads_template_quality_category_and_components_updates(field, extra, event):
    value = {"message_template_id": 7, "message_template_name": "welcome"} | extra

    (update,) = parse_webhook(p.envelope(p.change(value, field)))

    assert (update.field, update.template_id, update.name, update.event) == (
        field,
        "7",
        "welcome",
        event,
    )
    assert update.data == value


def test_it_dates_a_template_update_by_its_entrys_time():
    value = {"event": "FLAGGED", "message_template_id": 7, "message_template_name": "welcome"}
    body = p.envelope(
        p.entry(p.change(value, "message_template_status_update")) | {"time": 1751247548}
    )

    (update,) = parse_webhook(body)

    assert update.timestamp == datetime.fromtimestamp(1751247548, tz=UTC)


# The standing of the account and its numbers.


def timed(value, field, time=1743451903):
    return p.envelope(p.entry(p.change(value, field)) | {"time": time})


def test_it_reads_an_account_update_with_metas_time_and_whole_value():
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1641330498}
        ],
    }

    events = parse_webhook(timed(value, "account_update"))

    assert events == [
        AccountUpdate(
            waba_id=p.WABA_ID,
            field="account_update",
            event="ACCOUNT_RESTRICTION",
            timestamp=datetime.fromtimestamp(1743451903, tz=UTC),
            data=value,
            path="entry[0].changes[0]",
        )
    ]


def test_it_reads_a_number_quality_update_by_its_display_number():
    # Meta's reference example: no phone_number_id, only the display number.
    value = {
        "display_phone_number": "15550783881",
        "event": "DOWNGRADE",
        "old_limit": "TIER_1K",
        "current_limit": "TIER_250",
    }

    (update,) = parse_webhook(timed(value, "phone_number_quality_update"))

    assert (update.field, update.event, update.display_phone_number, update.data) == (
        "phone_number_quality_update",
        "DOWNGRADE",
        "15550783881",
        value,
    )


def test_it_reads_an_account_review_decision_as_its_event():
    (update,) = parse_webhook(timed({"decision": "REJECTED"}, "account_review_update"))

    assert (update.field, update.event, update.waba_id) == (
        "account_review_update",
        "REJECTED",
        p.WABA_ID,
    )


def test_it_takes_a_partner_events_account_from_its_waba_info():
    value = {"event": "PARTNER_REMOVED", "waba_info": {"waba_id": "980198427658004"}}

    (update,) = parse_webhook(timed(value, "account_update"))

    assert update.waba_id == "980198427658004"


@pytest.mark.parametrize(
    "field", ["account_update", "account_review_update", "phone_number_quality_update"]
)
def test_it_reports_an_account_change_that_says_nothing_happened_as_malformed(field):
    events = parse_webhook(timed({"anything": [1, 2]}, field))

    assert events == [
        WebhookError(path="entry[0].changes[0]", title=f"{field} has no event", malformed=True)
    ]


def test_it_reads_an_entry_without_a_readable_time_and_leaves_the_time_out():
    (update,) = parse_webhook(timed({"event": "ACCOUNT_VIOLATION"}, "account_update", "soon"))

    assert (update.event, update.timestamp) == ("ACCOUNT_VIOLATION", None)


# BSUID changes reported on their own field.


def test_it_reads_user_id_update_items():
    value = p.value() | {
        "user_id_update": [
            {
                "wa_id": PHONE,
                "detail": "User id has been updated.",
                "user_id": {"previous": "US.OLD", "current": "US.NEW"},
                "timestamp": "1750000000",
            }
        ]
    }

    (change,) = parse_webhook(p.envelope(p.change(value, "user_id_update")))

    assert change == ContactChange(
        business=BusinessRef(p.PHONE_NUMBER_ID, p.DISPLAY_PHONE_NUMBER, p.WABA_ID),
        kind="user_id_changed",
        contact=ContactRef(wa_id=PHONE, user_id="US.OLD"),
        timestamp=datetime.fromtimestamp(1750000000, tz=UTC),
        new_user_id="US.NEW",
        path="entry[0].changes[0].value.user_id_update[0]",
    )


@pytest.mark.parametrize(
    "ids",
    [
        {"previous_user_id": "US.OLD", "new_user_id": "US.NEW"},
        {"old_user_id": "US.OLD", "user_id": "US.NEW"},
    ],
)
def test_it_reads_a_flat_user_id_update_value(ids):
    (change,) = parse_webhook(p.envelope(p.change(ids, "user_id_update")))

    assert (change.kind, change.contact.user_id, change.new_user_id, change.timestamp) == (
        "user_id_changed",
        "US.OLD",
        "US.NEW",
        None,
    )
    assert change.path == "entry[0].changes[0]"


def test_it_rejects_a_user_id_update_it_cannot_read():
    value = {
        "user_id_update": [{"detail": "no ids"}, {"user_id": {"previous": "A", "current": "B"}}]
    }

    events = parse_webhook(p.envelope(p.change(value, "user_id_update")))

    assert events[0] == WebhookError(
        path="entry[0].changes[0].value.user_id_update[0]",
        title="user_id_update has no previous and new user ids",
        malformed=True,
    )
    assert events[1].new_user_id == "B"
