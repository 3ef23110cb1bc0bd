"""Webhook body builders: what they build reads back into the expected events, and their
bytes and signatures are Meta's."""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime

import pytest

from messaging import payloads as p
from messaging.events import (
    BusinessRef,
    ContactChange,
    ContactRef,
    InboundMessage,
    StatusUpdate,
    WebhookError,
)
from messaging.parser import parse_webhook

BSUID = "US.13491208655302741918"
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def round_trip(body):
    """Through the wire format and back, as the webhook view would see it."""
    return parse_webhook(json.loads(p.encode(body)))


# Round trips.


def test_it_builds_a_text_message_that_reads_back_exactly():
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id="16505551234", name="أمينة")],
            messages=[p.text_message("مرحبا 👋", wamid="wamid.HI", timestamp=WHEN)],
        )
    )

    assert round_trip(body) == [
        InboundMessage(
            business=BusinessRef(p.PHONE_NUMBER_ID, p.DISPLAY_PHONE_NUMBER, p.WABA_ID),
            contact=ContactRef(wa_id="16505551234", profile_name="أمينة"),
            wamid="wamid.HI",
            type="text",
            timestamp=WHEN,
            text="مرحبا 👋",
            path="entry[0].changes[0].value.messages[0]",
        )
    ]


def test_it_builds_replies_and_forwards():
    body = p.envelope(p.value(messages=[p.text_message("yes", reply_to="wamid.Q", forwarded=True)]))

    (event,) = round_trip(body)

    assert event.reply_to_wamid == "wamid.Q"
    assert event.data == {"forwarded": True}


@pytest.mark.parametrize(
    "message",
    [
        p.text_message("hi", sender=BSUID),
        p.text_message("hi", sender=None, sender_user_id=BSUID),
    ],
    ids=["from-is-bsuid", "from-user-id-only"],
)
def test_it_expresses_a_sender_known_only_by_username_and_bsuid(message):
    body = p.envelope(
        p.value(contacts=[p.contact(user_id=BSUID, username="amina")], messages=[message])
    )

    (event,) = round_trip(body)

    assert "wa_id" not in body["entry"][0]["changes"][0]["value"]["contacts"][0]
    assert event.contact == ContactRef(user_id=BSUID, username="amina")


def test_it_builds_media_that_reads_back_with_defaults_filled_in():
    body = p.envelope(
        p.value(
            messages=[
                p.media_message("image", "111", caption="صورة"),
                p.media_message("audio", "222", voice=True),
                p.media_message("document", "333", filename="a/b.pdf"),
            ]
        )
    )

    image, voice, document = round_trip(body)

    assert (image.text, image.data["media_id"], image.data["mime_type"]) == (
        "صورة",
        "111",
        "image/jpeg",
    )
    assert image.data["sha256"]
    assert (voice.data["voice"], voice.data["mime_type"]) == (True, "audio/ogg; codecs=opus")
    assert document.data["filename"] == "a/b.pdf"


def test_it_refuses_to_build_media_of_a_type_that_is_not_media():
    with pytest.raises(ValueError, match="not a media type"):
        p.media_message("text")


def test_it_builds_locations_reactions_and_unreactions():
    body = p.envelope(
        p.value(
            messages=[
                p.location_message(24.4672, 39.6112, name="Al-Masjid an-Nabawi"),
                p.reaction_message("wamid.T", "🙏"),
                p.reaction_message("wamid.T", ""),
                p.reaction_message("wamid.T", None),
            ]
        )
    )

    location, reaction, emptied, removed = round_trip(body)

    assert (location.data["latitude"], location.data["name"]) == (24.4672, "Al-Masjid an-Nabawi")
    assert (reaction.target_wamid, reaction.data) == ("wamid.T", {"emoji": "🙏"})
    assert emptied.data == removed.data == {"emoji": ""}
    assert "emoji" not in body["entry"][0]["changes"][0]["value"]["messages"][3]["reaction"]


def test_it_builds_interactive_replies():
    body = p.envelope(
        p.value(
            messages=[
                p.interactive_reply("b1", "Yes"),
                p.interactive_reply("r2", "Row", description="More", kind="list_reply"),
            ]
        )
    )

    button, row = round_trip(body)

    assert (button.data["interactive_type"], button.data["reply_id"], button.text) == (
        "button_reply",
        "b1",
        "Yes",
    )
    assert (row.data["interactive_type"], row.data["description"]) == ("list_reply", "More")


def test_it_builds_a_number_change_notice_that_yields_a_contact_change():
    body = p.envelope(
        p.value(
            messages=[
                p.system_number_change(
                    "16505551234",
                    "12195555358",
                    name="Sheena",
                    new_user_id="US.NEW",
                    previous_user_id=BSUID,
                    timestamp=WHEN,
                )
            ]
        )
    )

    message, change = round_trip(body)

    assert message.text == "User Sheena changed from 16505551234 to 12195555358"
    assert change == ContactChange(
        business=message.business,
        kind="number_changed",
        contact=ContactRef(wa_id="16505551234", user_id=BSUID),
        timestamp=WHEN,
        new_wa_id="12195555358",
        new_user_id="US.NEW",
        path="entry[0].changes[0].value.messages[0]",
    )


def test_it_builds_statuses_with_conversation_pricing_and_errors():
    conversation = {"id": "c1", "origin": {"type": "service"}}
    pricing = {"billable": True, "pricing_model": "PMP", "category": "service"}
    body = p.envelope(
        p.value(
            statuses=[
                p.status(
                    "wamid.OUT",
                    "read",
                    timestamp=WHEN,
                    conversation=conversation,
                    pricing=pricing,
                ),
                p.status(
                    "wamid.OUT2",
                    "failed",
                    recipient=None,
                    recipient_user_id=BSUID,
                    errors=[p.error(131047, "Re-engagement message", details="24h passed")],
                ),
            ]
        )
    )

    read, failed = round_trip(body)

    assert isinstance(read, StatusUpdate)
    assert (read.wamid, read.status, read.timestamp) == ("wamid.OUT", "read", WHEN)
    assert (read.conversation, read.pricing) == (conversation, pricing)
    assert failed.recipient == ContactRef(user_id=BSUID)
    assert failed.errors == [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "details": "24h passed",
        }
    ]


def test_it_builds_value_level_errors():
    body = p.envelope(p.value(errors=[p.error(131000, "Something went wrong")]))

    (error,) = round_trip(body)

    assert error == WebhookError(
        path="entry[0].changes[0].value.errors[0]",
        code=131000,
        title="Something went wrong",
        message="Something went wrong",
        details="Something went wrong",
    )


def test_it_builds_envelopes_of_several_entries_and_changes():
    first = p.entry(
        p.change(p.value(messages=[p.text_message("a")])),
        p.change(p.value(phone_number_id="222", messages=[p.text_message("b")])),
        waba_id="waba-1",
    )
    body = p.envelope(first, p.value(messages=[p.text_message("c")]), waba_id="waba-2")

    events = round_trip(body)

    assert [(e.text, e.business.waba_id, e.business.phone_number_id, e.path) for e in events] == [
        ("a", "waba-1", p.PHONE_NUMBER_ID, "entry[0].changes[0].value.messages[0]"),
        ("b", "waba-1", "222", "entry[0].changes[1].value.messages[0]"),
        ("c", "waba-2", p.PHONE_NUMBER_ID, "entry[1].changes[0].value.messages[0]"),
    ]


def test_it_builds_changes_of_other_fields():
    body = p.envelope(p.change({"event": "APPROVED"}, "message_template_status_update"))

    assert body["entry"][0]["changes"][0] == {
        "value": {"event": "APPROVED"},
        "field": "message_template_status_update",
    }


def test_it_leaves_out_lists_that_were_not_given():
    assert set(p.value(messages=[])) == {"messaging_product", "metadata", "messages"}


def test_it_refuses_a_contact_without_any_id():
    with pytest.raises(ValueError, match="wa_id, a user_id"):
        p.contact(name="Nobody")


# Ids and timestamps.


def test_it_makes_unique_wamids_in_metas_shape():
    wamids = {p.new_wamid() for _ in range(1000)}

    assert len(wamids) == 1000
    assert all(re.fullmatch(r"wamid\.[A-Za-z0-9+/]+=*", w) for w in wamids)


def test_it_makes_media_ids_of_sixteen_digits():
    assert re.fullmatch(r"\d{16}", p.new_media_id())


def test_it_writes_timestamps_as_unix_seconds_in_a_string():
    assert p.unix_time(WHEN) == "1772357400"
    assert p.unix_time(1772357400) == "1772357400"
    assert abs(int(p.unix_time()) - int(datetime.now(UTC).timestamp())) < 5


# The wire.


def test_it_encodes_compactly_with_unicode_and_slashes_escaped_like_meta():
    body = {"text": "مر/😀", "url": "https://a.example/x", "n": 1}

    assert p.encode(body) == (
        b'{"text":"\\u0645\\u0631\\/\\ud83d\\ude00","url":"https:\\/\\/a.example\\/x","n":1}'
    )


def test_it_encodes_bytes_that_decode_back_to_the_same_body():
    body = p.envelope(p.value(messages=[p.text_message('back\\slash / "quote" ، ✓')]))

    assert json.loads(p.encode(body)) == body


def test_it_signs_with_hmac_sha256_over_the_raw_bytes():
    # RFC 4231, test case 2.
    assert p.sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_it_signs_metas_bytes_not_a_re_serialisation():
    body = p.envelope(p.value(messages=[p.text_message("سلام https://x.example/")]))
    wire = p.encode(body)
    plain = json.dumps(body).encode()

    signature = p.sign(wire, "app-secret")

    expected = hmac.new(b"app-secret", wire, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert signature != p.sign(plain, "app-secret")
