"""What the admin index and /privacy/ show about retention: the configured periods, the contact
for data requests, and when the retention run last ran and runs next."""

from typing import Any

from django import template
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import ngettext

from privacy.retention import Periods, periods

register = template.Library()


@register.simple_tag
def retention_periods() -> Periods:
    return periods()


@register.simple_tag
def retention_status() -> dict[str, Any]:
    """The latest retention run (an AuditEvent) and the next scheduled one (a datetime)."""
    from privacy.models import AuditEvent, RetentionSchedule

    last = AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION).order_by("-at").first()
    schedule = RetentionSchedule.objects.filter(pk=1).first()
    return {"last": last, "next_at": schedule.next_run_at if schedule else None}


@register.filter
def is_email(value: object) -> bool:
    try:
        validate_email(str(value or ""))
    except ValidationError:
        return False
    return True


@register.simple_tag
def privacy_contact() -> str:
    return settings.PRIVACY_CONTACT


@register.filter
def days(value: Any) -> str:
    """A number of days for people: "1 day", "90 days" (plural forms of the language)."""
    number = int(value)
    return ngettext("%(days)d day", "%(days)d days", number) % {"days": number}
