"""Storing account, number and template events as the ingest pipeline applies them.

Each is inserted once (INSERT … ON CONFLICT DO NOTHING on its fingerprint): a redelivery, in
the same body or another, a replay, or two workers at once, store one row and e-mail once.
Administrators are e-mailed, from a task queued on commit (messaging.account_health.mail),
about a new event that raises a problem, lifts one in force, or is notable on its own (see
rules), unless a later event about the same thing and condition is already stored (Meta
delivers out of order): news that is no longer true is history, not news.
"""

from functools import partial

from django.db import transaction

from messaging.account_health.mail import deliver_account_event
from messaging.account_health.models import AccountEvent
from messaging.db import insert_new
from messaging.events import AccountUpdate, TemplateUpdate
from messaging.models import BusinessNumber, MessageTemplate
from messaging.phones import phone_digits

# Template webhooks kept as events: the rest (quality, components) only update the row.
TEMPLATE_FIELDS = frozenset({"message_template_status_update", "template_category_update"})


def record_account_update(item: AccountUpdate) -> AccountEvent | None:
    """Store an account, review or number quality change; None when it was stored before."""
    number = number_for_display(item.display_phone_number, item.waba_id)
    if number is not None:
        subject = f"number:{number.phone_number_id}"
    elif item.field == "phone_number_quality_update":
        subject = f"display:{phone_digits(item.display_phone_number)}"
    else:
        subject = f"waba:{item.waba_id}"
    row = AccountEvent.build(
        field=item.field,
        event=item.event,
        waba_id=item.waba_id,
        subject=subject,
        data=item.data,
        timestamp=item.timestamp,
    )
    row.business_number = number
    return _insert(row)


def record_template_update(
    item: TemplateUpdate, template: MessageTemplate | None
) -> AccountEvent | None:
    """Store a template status or category change (the row it is about, if we mirror it);
    None for other template fields and when it was stored before."""
    if item.field not in TEMPLATE_FIELDS:
        return None
    if item.template_id:
        subject = f"template:{item.template_id}"
    else:
        subject = f"template:{item.waba_id}:{item.name}:{item.language}"
    row = AccountEvent.build(
        field=item.field,
        event=item.event or "UNKNOWN",
        waba_id=item.waba_id or (template.waba_id if template else ""),
        subject=subject,
        data=item.data,
        timestamp=item.timestamp,
    )
    row.template = template
    return _insert(row)


def number_for_display(display: str, waba_id: str) -> BusinessNumber | None:
    """Our number with this display number (digits compared: Meta writes it "15550783881"
    here and may format it elsewhere), in this account when we know the number's."""
    digits = phone_digits(display)
    if not digits:
        return None
    numbers = BusinessNumber.objects.all()
    if waba_id:
        numbers = numbers.filter(waba_id__in=[waba_id, ""])
    return next((n for n in numbers if phone_digits(n.display_phone_number) == digits), None)


def _insert(row: AccountEvent) -> AccountEvent | None:
    newer = (
        AccountEvent.objects.filter(subject=row.subject, condition=row.condition)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if not insert_new(AccountEvent, [row], returning=("id",)):
        return None  # stored before: it was e-mailed then, if it was news
    is_latest = newer is None or newer.occurred_at <= row.occurred_at
    lifts = newer is not None and newer.in_force()
    if row.condition and is_latest and (row.alert or lifts or row.notable):
        transaction.on_commit(partial(deliver_account_event.enqueue, row.pk))
    return row
