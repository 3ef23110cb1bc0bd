"""What applying one body, or several together, carries from item to item."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from messaging.events import BusinessRef, ContactRef
from messaging.models import BusinessNumber, Message


@dataclass
class ApplyContext:
    """What applying one webhook body learns along the way.

    Several bodies applied together (messaging.ingest.apply.apply_webhook_events) share one
    context for what is looked up once (the business numbers) and what is done once (the
    conversations' counters, the announcement), while each body keeps its own for what is
    recorded on its row: `of(item)` is the context of the body an item came from.
    """

    # The numbers the body names, registered and kept current (business_number).
    businesses: dict[str, BusinessNumber] = field(default_factory=dict)
    # Every business number, by phone number id: read once per body (an organisation has a
    # handful), so that a sender is recognised as any of ours (own_number).
    numbers: dict[str, BusinessNumber] | None = None
    contacts: set[int] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)
    problems: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    # What the redelivery guard withheld (messaging.hooks: with privacy installed, items
    # that could only bring an erased person back, and their ids in others' older
    # messages), to be scrubbed from this raw copy; falsy when nothing was.
    withheld: Any = None
    # New inbound messages (never redeliveries): announced (messages_received) after commit.
    new_messages: list[int] = field(default_factory=list)
    # New ordinary inbound messages whose conversations' counters are still to move.
    activity: list[Message] = field(default_factory=list)
    # The stored body's id, for the log.
    event_id: int | None = None
    # Applying several bodies together: each item's own body's context, by id(item).
    owners: dict[int, "ApplyContext"] = field(default_factory=dict)

    def of(self, item: object) -> "ApplyContext":
        """The context an item's outcome is recorded in: its body's."""
        return self.owners.get(id(item), self)


def business_number(ref: BusinessRef, context: ApplyContext) -> BusinessNumber:
    """The number `ref` names, registered on first sight and its display number and account
    kept current; looked up once per body."""
    if ref.phone_number_id not in context.businesses:
        numbers = all_numbers(context)
        number = numbers.get(ref.phone_number_id)
        if number is None:
            number, _created = BusinessNumber.objects.get_or_create(
                phone_number_id=ref.phone_number_id,
                defaults={
                    "display_phone_number": ref.display_phone_number,
                    "waba_id": ref.waba_id,
                },
            )
            numbers[ref.phone_number_id] = number
        elif (
            ref.display_phone_number and ref.display_phone_number != number.display_phone_number
        ) or (ref.waba_id and ref.waba_id != number.waba_id):
            number.display_phone_number = ref.display_phone_number or number.display_phone_number
            number.waba_id = ref.waba_id or number.waba_id
            number.save(update_fields=["display_phone_number", "waba_id"])
        context.businesses[ref.phone_number_id] = number
    return context.businesses[ref.phone_number_id]


def all_numbers(context: ApplyContext) -> dict[str, BusinessNumber]:
    """Every business number, by phone number id (read on first use in a body)."""
    if context.numbers is None:
        context.numbers = {
            number.phone_number_id: number for number in BusinessNumber.objects.order_by("pk")
        }
    return context.numbers


def own_number(ref: ContactRef, context: ApplyContext) -> BusinessNumber | None:
    """Which of our business numbers `ref` is, if it is one of them (not a customer). Call
    business_number() for the body's numbers first: a number seen for the first time is
    then among them."""
    if not ref.wa_id:  # a BSUID is a user's, never a business number's
        return None
    return next((n for n in all_numbers(context).values() if n.is_called(ref.wa_id)), None)
