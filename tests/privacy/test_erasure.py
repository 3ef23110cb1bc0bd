"""privacy.erasure: erasing a person leaves no trace of them but keyed-hash tombstones."""

import hashlib
import hmac
import json
import re

import pytest
from django.db import DatabaseError

from automation.models import Note
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Contact, Conversation, Message, StatusEvent, WebhookEvent
from privacy.erasure import KINDS, erase_contact, preview_erasure
from privacy.mentions import ERASED_CARD, Mentions, redact_payload
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone
from privacy.scrub import Person, id_hash, scrub_payload
from tests.erasure_support import (
    OMAR_MENTION_ERASED,
    OMAR_NAME,
    OMAR_NOTE,
    OMAR_PHONE,
    OMAR_TEXT,
    ZAINAB_BSUID,
    ZAINAB_NAME,
    ZAINAB_PHONE,
    ZAINAB_TEXTS,
    file_requests,
    omar_contact,
    rows_pointing_at,
    stored_uploads,
    traces,
    zainab_contact,
    zainab_needles,
)
from tests.storage_support import keys_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world, staff_user):
    file_requests(staff_user)
    return world


def test_the_test_data_really_holds_her_everywhere_before_erasure(world):
    found = {(table, needle) for table, _column, needle in traces(zainab_needles())}

    assert ("messaging_contact", ZAINAB_PHONE) in found
    assert ("messaging_webhookevent", ZAINAB_TEXTS[0]) in found
    assert ("messaging_message", ZAINAB_TEXTS[4]) in found
    assert ("messaging_statusevent", ZAINAB_PHONE) in found
    assert ("django_tasks_database_dbtaskresult", ZAINAB_PHONE) in found
    assert ("privacy_deletionrequest", ZAINAB_NAME) in found
    assert stored_uploads()


def test_after_erasure_no_table_holds_her_number_user_id_name_or_words(
    world, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        erase_contact(phone=ZAINAB_PHONE, actor=staff_user)

    assert traces(zainab_needles()) == []
    assert stored_uploads() == []


def test_erasure_deletes_her_waiting_attachment_from_a_shared_bucket(
    s3_storage, s3_bucket, world, staff_user, django_capture_on_commit_callbacks
):
    # s3_storage comes before world: her attachment was stored in the bucket.
    assert keys_in(s3_bucket, s3_storage) == [f"{s3_storage}/{world.upload_path}"]

    with django_capture_on_commit_callbacks(execute=True):
        counts = erase_contact(phone=ZAINAB_PHONE, actor=staff_user)

    assert counts["media_uploads"] == 1
    assert keys_in(s3_bucket, s3_storage) == []


def her_rows():
    contacts = list(Contact.objects.filter(wa_id=ZAINAB_PHONE).values_list("pk", flat=True))
    conversations = list(
        Conversation.objects.filter(contact__in=contacts).values_list("pk", flat=True)
    )
    messages = list(
        Message.objects.filter(conversation__in=conversations).values_list("pk", flat=True)
    )
    return contacts, conversations, messages


def test_no_row_of_any_table_points_at_her_records_after_erasure(world):
    ids = her_rows()
    before = rows_pointing_at(*ids)

    erase_contact(phone=ZAINAB_PHONE)

    # The test data reaches every foreign key to her contact, conversation and messages...
    assert [key for key, count in before.items() if not count] == []
    # ...and none of those rows is left.
    assert {key: count for key, count in rows_pointing_at(*ids).items() if count} == {}


def test_omars_notes_and_labels_stay(world):
    erase_contact(phone=ZAINAB_PHONE)

    assert Note.objects.get(conversation=world.omar_conversation).text == OMAR_NOTE
    assert list(world.omar_conversation.labels.values_list("name", flat=True)) == ["Passport"]


def test_only_the_keyed_hashes_of_her_ids_remain(world, settings):
    erase_contact(user_id=ZAINAB_BSUID)

    expected = {
        hmac.new(settings.ERASURE_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
        for value in (ZAINAB_PHONE, ZAINAB_BSUID)
    }
    assert set(ErasureTombstone.objects.values_list("id_hash", flat=True)) == expected


def test_erasure_counts_every_kind_of_row(world):
    counts = erase_contact(phone=f"+{ZAINAB_PHONE[:3]} {ZAINAB_PHONE[3:]}")

    assert set(counts) == set(KINDS)
    assert counts == counts | {
        "contacts": 1,
        "conversations": 1,
        "assignments": 1,
        # text, image, edit; the staff reply and the attachment waiting to upload
        "messages": 5,
        "reactions": 1,
        # delivered (linked), "LOST" (to her number), "read" of wamid.Z1 (her message)
        "status_events": 3,
        "send_attempts": 1,
        "media_uploads": 1,
        # a note naming her and automation's record of assigning her
        "notes": 2,
        "labels": 1,
        "priorities": 1,
        "automation_runs": 1,
        "auto_reply_claims": 1,
        "staff_notifications": 1,
        "wait_alerts": 1,
        # her own text, the edit and the reaction; the batch, status and Omar's own bodies
        # keep Omar
        "webhook_bodies_deleted": 3,
        "webhook_bodies_rewritten": 3,
        # Omar's message with her card, and his text with her number
        "mentions": 2,
        # the simulated status naming her number, the failure quoting it
        "task_results": 2,
    }
    assert counts["inbox_changes"] > 0


def test_the_dry_run_counts_exactly_what_erasure_then_deletes(world):
    preview = preview_erasure(phone=ZAINAB_PHONE)

    assert Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()  # nothing deleted yet
    assert erase_contact(phone=ZAINAB_PHONE) == preview


def test_a_batch_body_keeps_the_other_persons_data(world):
    erase_contact(phone=ZAINAB_PHONE)

    omar = Contact.objects.get(wa_id=OMAR_PHONE)
    assert omar.profile_name == OMAR_NAME
    assert Message.objects.filter(wamid="wamid.O1", text=OMAR_TEXT).exists()
    assert StatusEvent.objects.filter(wamid="wamid.OUTO").exists()
    bodies = [json.loads(bytes(event.body)) for event in WebhookEvent.objects.all()]
    texts = json.dumps(bodies, ensure_ascii=False)
    assert OMAR_TEXT in texts
    assert ZAINAB_PHONE not in texts


def test_omars_messages_keep_their_place_without_her_card_or_number(world, staff_client):
    erase_contact(phone=ZAINAB_PHONE)

    card = Message.objects.get(wamid="wamid.O2")
    mention = Message.objects.get(wamid="wamid.O3")
    assert card.type == "contacts"
    assert card.data == {"contacts": [ERASED_CARD]}
    assert mention.text == OMAR_MENTION_ERASED
    html = staff_client.get(f"/c/{world.omar_conversation.pk}/").content.decode()
    assert re.search(r'#user"></use></svg> <strong dir="auto">Contact</strong>', html)
    assert OMAR_TEXT in html


def test_a_rewritten_body_is_encoded_like_metas_and_its_hash_recomputed(world):
    erase_contact(phone=ZAINAB_PHONE)

    for event in WebhookEvent.objects.all():
        body = bytes(event.body)
        assert event.body_sha256 == hashlib.sha256(body).hexdigest()
        assert body == p.encode(json.loads(body))
    rewritten = [
        json.loads(bytes(event.body))
        for event in WebhookEvent.objects.all()
        if b"wamid.O1" in bytes(event.body)
    ]
    assert len(rewritten) == 1
    payload = rewritten[0]
    value = payload["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [omar_contact()]
    assert [message["id"] for message in value["messages"]] == ["wamid.O1"]


def test_omars_body_naming_her_keeps_his_messages_without_her(world):
    erase_contact(phone=ZAINAB_PHONE)

    (body,) = [
        json.loads(bytes(event.body))
        for event in WebhookEvent.objects.all()
        if b"wamid.O2" in bytes(event.body)
    ]
    value = body["entry"][0]["changes"][0]["value"]
    messages = {message["id"]: message for message in value["messages"]}
    assert value["contacts"] == [omar_contact()]
    assert list(messages) == ["wamid.O2", "wamid.O3"]
    # The same policy as for the message rows: Omar's messages stay, without her.
    assert messages["wamid.O2"]["contacts"] == [ERASED_CARD]
    assert messages["wamid.O3"]["text"]["body"] == OMAR_MENTION_ERASED


def test_erasing_twice_is_harmless(world):
    first = erase_contact(phone=ZAINAB_PHONE)
    tombstones = ErasureTombstone.objects.count()

    second = erase_contact(phone=ZAINAB_PHONE, user_id=ZAINAB_BSUID)

    assert sum(first.values()) > 0
    assert sum(second.values()) == 0
    assert ErasureTombstone.objects.count() == tombstones
    assert Contact.objects.filter(wa_id=OMAR_PHONE).exists()


def test_an_unknown_person_erases_nothing_but_is_still_tombstoned(world):
    counts = erase_contact(phone="+44 7700 900123")

    assert sum(counts.values()) == 0
    assert list(ErasureTombstone.objects.values_list("id_hash", flat=True)) == [
        id_hash("447700900123")
    ]
    assert Contact.objects.count() == 2


def test_either_id_finds_her_and_both_are_tombstoned(world):
    erase_contact(user_id=ZAINAB_BSUID)

    assert not Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()
    assert ErasureTombstone.objects.filter(id_hash=id_hash(ZAINAB_PHONE)).exists()


def test_two_records_of_one_person_not_yet_linked_are_both_erased(staff_user):
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(wa_id=ZAINAB_PHONE, name=ZAINAB_NAME)],
        messages=[p.text_message("by phone", sender=ZAINAB_PHONE)],
    ))))  # fmt: skip
    receive(p.encode(p.envelope(p.value(
        contacts=[p.contact(user_id=ZAINAB_BSUID, username="zq")],
        messages=[p.text_message("by username", sender=ZAINAB_BSUID)],
    ))))  # fmt: skip
    assert Contact.objects.count() == 2

    counts = erase_contact(phone=ZAINAB_PHONE, user_id=ZAINAB_BSUID)

    assert counts["contacts"] == 2
    assert traces([ZAINAB_PHONE, ZAINAB_BSUID, "by phone", "by username"]) == []


def test_a_deletion_request_is_completed_and_forgets_who_asked(world, staff_user):
    request = DeletionRequest.objects.create(
        phone=ZAINAB_PHONE,
        channel="email",
        contact=world.zainab_conversation.contact,
        notes=f"Called by {ZAINAB_NAME} herself",
    )
    received_at = request.received_at

    counts = erase_contact(
        world.zainab_conversation.contact, deletion_request=request, actor=staff_user
    )

    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.COMPLETED
    assert request.completed_at is not None
    assert request.handled_by == staff_user
    assert request.erased == counts
    assert (request.phone, request.user_id, request.contact, request.notes) == ("", "", None, "")
    assert (request.channel, request.received_at) == ("email", received_at)
    assert set(ErasureTombstone.objects.values_list("deletion_request", "actor").distinct()) == {
        (request.pk, staff_user.pk)
    }


def test_other_requests_of_the_same_person_are_completed_with_it(world, staff_user):
    first = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")
    second = DeletionRequest.objects.create(user_id=ZAINAB_BSUID, channel="whatsapp")

    erase_contact(phone=ZAINAB_PHONE, deletion_request=first, actor=staff_user)

    second.refresh_from_db()
    assert second.status == DeletionRequest.Status.COMPLETED
    assert second.user_id == ""
    assert second.notes == f"Fulfilled by the erasure for deletion request #{first.pk}."


def test_her_rejected_and_open_requests_keep_a_neutral_record(world, staff_user):
    rejected, open_request = DeletionRequest.objects.order_by("pk")  # file_requests()

    erase_contact(phone=ZAINAB_PHONE, actor=staff_user)

    rejected.refresh_from_db()
    open_request.refresh_from_db()
    assert rejected.status == DeletionRequest.Status.REJECTED
    assert rejected.rejection_reason == "Removed when this person's data was erased."
    assert (rejected.phone, rejected.notes, rejected.channel) == ("", "", "phone")
    assert open_request.status == DeletionRequest.Status.COMPLETED
    assert (open_request.user_id, open_request.notes) == ("", "")
    assert open_request.handled_by == staff_user


def test_a_completed_request_is_not_erased_again(world):
    request = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")
    counts = erase_contact(phone=ZAINAB_PHONE, deletion_request=request)

    again = erase_contact(deletion_request=request)

    request.refresh_from_db()
    assert again == counts
    assert request.erased == counts


def test_erasure_is_recorded_in_the_audit_log_with_counts_only(world, staff_user):
    request = DeletionRequest.objects.create(phone=ZAINAB_PHONE, channel="email")

    counts = erase_contact(phone=ZAINAB_PHONE, deletion_request=request, actor=staff_user)

    event = AuditEvent.objects.get(action=AuditEvent.Action.ERASE)
    assert event.actor == staff_user
    assert event.object_id == str(request.pk)
    assert event.details == counts


@pytest.fixture
def tombstone_insert_failure(django_db_blocker):
    """The database refuses tombstones: a real error at the very end of an erasure."""
    from django.db import connection

    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION test_fail_tombstone() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'forced failure for a test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_fail_tombstone BEFORE INSERT ON privacy_erasuretombstone "
            "FOR EACH ROW EXECUTE FUNCTION test_fail_tombstone()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_fail_tombstone ON privacy_erasuretombstone",
            "DROP FUNCTION IF EXISTS test_fail_tombstone()",
        ]
    else:
        create = [
            "CREATE TRIGGER test_fail_tombstone BEFORE INSERT ON privacy_erasuretombstone "
            "BEGIN SELECT RAISE(ABORT, 'forced failure for a test'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_fail_tombstone"]

    def run(statements):
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    run(create)
    yield
    run(drop)


def test_erasure_is_all_or_nothing(
    world, tombstone_insert_failure, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DatabaseError):
        erase_contact(phone=ZAINAB_PHONE)

    assert Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()
    assert Message.objects.filter(wamid="wamid.Z1", text=ZAINAB_TEXTS[2]).exists()
    assert WebhookEvent.objects.count() == len(world.bodies)
    assert stored_uploads()  # the waiting file leaves only after a commit


# Scrubbing raw bodies: the rules, on decoded payloads.


def test_a_body_naming_only_her_is_removed_whole():
    body = p.envelope(
        p.value(contacts=[zainab_contact()], messages=[p.text_message("hi", sender=ZAINAB_PHONE)])
    )

    assert scrub_payload(body, Person(ids={ZAINAB_PHONE})) is None


def test_a_body_not_naming_her_is_left_as_it_is():
    body = p.envelope(
        p.value(contacts=[omar_contact()], messages=[p.text_message("hi", sender=OMAR_PHONE)])
    )

    assert scrub_payload(body, Person(ids={ZAINAB_PHONE})) is body


def test_her_statuses_system_messages_and_contact_cards_go_from_a_batch():
    body = p.envelope(
        p.value(
            contacts=[omar_contact()],
            messages=[
                p.text_message("mine", sender=OMAR_PHONE, wamid="wamid.keep"),
                # Omar shares her number as a contact card: it names her, so it goes.
                p.message(
                    "contacts", [{"phones": [{"phone": "+966 50 111 2233"}]}], sender=OMAR_PHONE
                ),
            ],
        ),
        p.value(statuses=[p.status("wamid.x", "read", recipient=ZAINAB_PHONE)]),
        p.value(messages=[p.system_number_change("966500000000", ZAINAB_PHONE)]),
    )

    scrubbed = scrub_payload(body, Person(ids={ZAINAB_PHONE}))

    changes = scrubbed["entry"][0]["changes"]
    assert len(changes) == 1
    assert [m["id"] for m in changes[0]["value"]["messages"]] == ["wamid.keep"]
    assert ZAINAB_PHONE not in json.dumps(scrubbed)


def test_her_old_number_is_found_through_her_message_ids():
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id="966500000000", name=ZAINAB_NAME)],
            messages=[
                p.text_message("before I changed number", sender="966500000000", wamid="wamid.old")
            ],
        )
    )

    assert scrub_payload(body, Person(ids={ZAINAB_PHONE}, wamids={"wamid.old"})) is None


# Her in other people's messages: what is recognised (privacy.mentions).


@pytest.mark.parametrize(
    "written",
    ["+966501112233", "00966501112233", "966 50 111 2233", "+966 (50) 111-22.33", "966501112233"],
)
def test_her_number_is_removed_from_anothers_text_as_people_write_it(written):
    mentions = Mentions(Person(ids={ZAINAB_PHONE}))

    assert mentions.redact_text(f"Her number: {written}.") == "Her number: [removed]."


def test_a_longer_number_containing_hers_and_her_name_are_left():
    mentions = Mentions(Person(ids={ZAINAB_PHONE}))
    text = f"Order 1{ZAINAB_PHONE}9 for {ZAINAB_NAME}"

    assert mentions.redact_text(text) == text


def test_her_user_id_is_removed_and_other_cards_are_kept():
    mentions = Mentions(Person(ids={ZAINAB_PHONE, ZAINAB_BSUID}))
    omar_card = {"name": {"formatted_name": OMAR_NAME}, "phones": [{"phone": f"+{OMAR_PHONE}"}]}
    hers = {"name": {"formatted_name": "Z"}, "phones": [{"phone": "+966 50 111 2233"}]}

    redacted = mentions.redact({"contacts": [omar_card, hers], "note": f"id {ZAINAB_BSUID}"})

    assert redacted == {"contacts": [omar_card, ERASED_CARD], "note": "id [removed]"}
    unchanged = {"contacts": [omar_card]}
    assert mentions.redact(unchanged) is unchanged


def test_in_a_body_only_other_peoples_messages_are_redacted_hers_are_left_for_scrubbing():
    body = p.envelope(
        p.value(
            contacts=[zainab_contact(), omar_contact()],
            messages=[
                p.text_message(f"I am +{ZAINAB_PHONE}", sender=ZAINAB_PHONE, wamid="wamid.hers"),
                p.text_message(f"She is +{ZAINAB_PHONE}", sender=OMAR_PHONE, wamid="wamid.his"),
            ],
        )
    )

    redacted = redact_payload(body, Person(ids={ZAINAB_PHONE}))

    hers, his = redacted["entry"][0]["changes"][0]["value"]["messages"]
    assert hers["text"]["body"] == f"I am +{ZAINAB_PHONE}"
    assert his["text"]["body"] == "She is [removed]"
    assert redact_payload(redacted, Person(ids={"966500000000"})) is redacted
