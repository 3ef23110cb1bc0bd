"""Two business numbers and the people who wrote to them, for what staff limited to one
number may see (privacy officers here: tests/privacy).

Nadia wrote only to number 1, Layla only to number 2, Sami to both. Everything of number 2 —
Layla's name and number, and what she and Sami wrote there — is in NUMBER_2_NEEDLES: a
member of staff limited to number 1 must find none of it anywhere.
"""

from dataclasses import dataclass

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import BusinessNumber, Contact, Conversation

NUMBER_1 = {"phone_number_id": "111", "display_phone_number": "15550000111"}
NUMBER_2 = {"phone_number_id": "222", "display_phone_number": "15550000222"}

NADIA = {"wa_id": "966500000101", "name": "Nadia Onenumber"}
LAYLA = {"wa_id": "966500000202", "name": "Layla Twonumber"}
SAMI = {"wa_id": "966500000303", "name": "Sami Bothnumbers"}

NADIA_TEXT = "Nadia asks number one about opening hours"
SAMI_TEXT_1 = "Sami asks number one about a refund"
LAYLA_TEXT = "Layla tells number two her flat is on Olive Street"
SAMI_TEXT_2 = "Sami tells number two his card ends 4455"

NUMBER_2_NEEDLES = [
    LAYLA["name"], LAYLA["wa_id"], "50 000 0202", "Twonumber", LAYLA_TEXT, SAMI_TEXT_2,
    "Olive Street", "4455",
]  # fmt: skip


@dataclass
class TwoNumbers:
    number_1: BusinessNumber
    number_2: BusinessNumber
    nadia: Contact
    layla: Contact
    sami: Contact


def write(person, number, text, wamid):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    **number,
                    contacts=[p.contact(wa_id=person["wa_id"], name=person["name"])],
                    messages=[p.text_message(text, sender=person["wa_id"], wamid=wamid)],
                )
            )
        )
    )


def two_numbers() -> TwoNumbers:
    write(NADIA, NUMBER_1, NADIA_TEXT, "wamid.N1")
    write(SAMI, NUMBER_1, SAMI_TEXT_1, "wamid.S1")
    write(LAYLA, NUMBER_2, LAYLA_TEXT, "wamid.L2")
    write(SAMI, NUMBER_2, SAMI_TEXT_2, "wamid.S2")
    contacts = {c.wa_id: c for c in Contact.objects.all()}
    assert Conversation.objects.count() == 4
    return TwoNumbers(
        number_1=BusinessNumber.objects.get(phone_number_id=NUMBER_1["phone_number_id"]),
        number_2=BusinessNumber.objects.get(phone_number_id=NUMBER_2["phone_number_id"]),
        nadia=contacts[NADIA["wa_id"]],
        layla=contacts[LAYLA["wa_id"]],
        sami=contacts[SAMI["wa_id"]],
    )


def found(needles, text):
    """The needles in `text` (case-insensitive)."""
    lowered = text.lower()
    return [needle for needle in needles if needle.lower() in lowered]
