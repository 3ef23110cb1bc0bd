"""A message whose sender is one of our own business numbers (a number writing to itself, or
one of our numbers writing to another): never a contact, never a customer's conversation."""

import logging

import pytest

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation, Message, WebhookEvent
from tests.teamwork_support import queued

pytestmark = pytest.mark.django_db

SALES = {"phone_number_id": "222000111", "display_phone_number": "+1 555-000-0002"}


def messages_of(value):
    """The only value of a captured body (their `messages` change)."""
    return value["entry"][0]["changes"][0]["value"]


def test_it_creates_no_contact_for_a_capture_sent_from_the_numbers_own_phone_number_id(capture):
    body = capture("pywa/message", "text")
    value = messages_of(body)
    value["messages"][0]["from"] = value["metadata"]["phone_number_id"]
    value.pop("contacts")  # as captured: nobody to name the sender

    event = receive(p.encode(body))

    assert Contact.objects.count() == 0
    assert Message.objects.count() == Conversation.objects.count() == 0
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.summary["events"] == {"own_number": 1}


def test_it_recognises_the_display_number_of_the_number_addressed(capture):
    body = capture("pywa/message", "text")
    value = messages_of(body)
    value["messages"][0]["from"] = value["metadata"]["display_phone_number"]

    receive(p.encode(body))

    assert not Contact.objects.exists()


def test_it_recognises_another_of_our_numbers_by_its_display_number_in_any_formatting():
    BusinessNumber.objects.create(**SALES)

    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id="15550000002", name="Al Qalam Sales")],
                    messages=[
                        p.text_message("Please call the customer back", sender="15550000002")
                    ],
                )
            )
        )
    )

    assert not Contact.objects.exists()
    assert not Message.objects.exists()


def test_it_recognises_another_of_our_numbers_by_its_phone_number_id():
    BusinessNumber.objects.create(**SALES)

    receive(
        p.encode(
            p.envelope(
                p.value(
                    messages=[p.text_message("Test", sender=SALES["phone_number_id"])],
                )
            )
        )
    )

    assert not Contact.objects.exists()


def test_it_says_on_the_stored_body_which_of_our_numbers_sent_what_it_set_aside():
    BusinessNumber.objects.create(**SALES)

    event = receive(
        p.encode(
            p.envelope(
                p.value(
                    messages=[p.text_message("Test", sender="15550000002")],
                )
            )
        )
    )

    (problem,) = event.summary["problems"]
    assert problem["path"] == "entry[0].changes[0].value.messages[0]"
    assert SALES["phone_number_id"] in problem["title"]
    assert "15550000002" not in problem["title"]
    # The body is kept as it came: replaying it, once we show such messages, loses nothing.
    assert b"15550000002" in bytes(WebhookEvent.objects.get().body)


def test_it_applies_the_customers_messages_beside_it_and_answers_only_them(
    django_capture_on_commit_callbacks,
):
    customer = p.text_message("Hello", wamid="wamid.CUSTOMER")
    ours = p.text_message("Hello to myself", wamid="wamid.OURS", sender=p.DISPLAY_PHONE_NUMBER)

    with django_capture_on_commit_callbacks(execute=True):
        receive(
            p.encode(
                p.envelope(
                    p.value(
                        contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
                        messages=[ours, customer],
                    )
                )
            )
        )

    assert list(Message.objects.values_list("wamid", flat=True)) == ["wamid.CUSTOMER"]
    assert list(Contact.objects.values_list("wa_id", flat=True)) == [p.USER_WA_ID]
    (task,) = queued()
    assert task.args_kwargs["args"] == [Message.objects.get().pk]


@pytest.mark.parametrize(
    "item",
    [
        p.reaction_message("wamid.SOMETHING", "👍", sender=p.DISPLAY_PHONE_NUMBER),
        p.system_number_change(p.DISPLAY_PHONE_NUMBER, "15550009999"),
    ],
    ids=["reaction", "number-change"],
)
def test_it_sets_aside_what_our_number_sends_that_is_applied_item_by_item(item):
    event = receive(p.encode(p.envelope(p.value(messages=[item]))))

    assert not Contact.objects.exists()
    assert not Message.objects.exists()
    assert event.state == WebhookEvent.State.PROCESSED


def test_it_logs_how_many_it_set_aside_and_never_the_number(caplog):
    caplog.set_level(logging.INFO, logger="messaging")

    receive(
        p.encode(
            p.envelope(
                p.value(
                    messages=[p.text_message("Test", sender=p.DISPLAY_PHONE_NUMBER)],
                )
            )
        )
    )

    assert "1 message(s) from our own numbers" in caplog.text
    assert p.DISPLAY_PHONE_NUMBER not in caplog.text
    assert p.PHONE_NUMBER_ID not in caplog.text


def test_a_customer_whose_number_only_shares_digits_with_ours_is_a_customer():
    BusinessNumber.objects.create(**SALES)

    receive(
        p.encode(
            p.envelope(
                p.value(
                    messages=[p.text_message("Hi", sender="15550000002" + "1")],
                )
            )
        )
    )

    assert Contact.objects.get().wa_id == "155500000021"
