"""An account event in a sentence, in the active language: for the inbox banner, the admin
history and the e-mail to administrators.

Meta's values (states, restriction types, limits, categories, template names) go into the
sentence as data, untranslated, each wrapped in Unicode isolates (FSI … PDI): a Latin value
inside an Arabic sentence, or the reverse, keeps its own direction and does not reorder the
words around it, in a web page and in a plain-text e-mail alike.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from messaging.account_health.models import AccountEvent
from messaging.account_health.rules import moment, restrictions, sub_object
from messaging.phones import format_phone

FSI, PDI = "\u2068", "\u2069"


def describe(event: AccountEvent) -> str:
    """What happened, said for staff (one sentence or two)."""
    data = event.details if isinstance(event.details, dict) else {}
    kind = AccountEvent.Kind
    if event.kind == kind.ACCOUNT:
        return _account(event, data)
    if event.kind == kind.REVIEW:
        return _review(event)
    if event.kind == kind.QUALITY:
        return _quality(event, data)
    if event.kind == kind.TEMPLATE_STATUS:
        return _template_status(event, data)
    return _template_category(event, data)


def isolate(value: Any) -> str:
    return f"{FSI}{value}{PDI}"


def when(moment_: datetime) -> str:
    return isolate(date_format(timezone.localtime(moment_), "DATETIME_FORMAT"))


def _account(event: AccountEvent, data: dict[str, Any]) -> str:
    values = {"account": isolate(event.waba_id or "?"), "event": isolate(event.event)}
    name = event.event.upper()
    if name == "DISABLED_UPDATE":
        ban = sub_object(data, "ban_info")
        state = str(ban.get("waba_ban_state") or "").upper()
        values |= {"state": isolate(state or "?"), "date": isolate(ban.get("waba_ban_date") or "?")}
        if state == "DISABLE":
            return _("WhatsApp disabled the business account %(account)s (%(date)s).") % values
        if state == "SCHEDULE_FOR_DISABLE":
            return _("WhatsApp will disable the business account %(account)s (%(date)s).") % values
        if state == "REINSTATE":
            return _("WhatsApp reinstated the business account %(account)s.") % values
        return (
            _("WhatsApp changed the ban state of the business account %(account)s: %(state)s.")
            % values
        )
    if name == "ACCOUNT_RESTRICTION":
        listed = restrictions(data)
        if not listed:
            return (
                _("WhatsApp lifted the restrictions on the business account %(account)s.") % values
            )
        values["restrictions"] = ", ".join(
            isolate(item.get("restriction_type") or "?") for item in listed
        )
        if event.ends_at:
            values["until"] = when(event.ends_at)
            return (
                _(
                    "WhatsApp restricted the business account %(account)s until %(until)s: "
                    "%(restrictions)s."
                )
                % values
            )
        return _("WhatsApp restricted the business account %(account)s: %(restrictions)s.") % values
    if name == "ACCOUNT_VIOLATION":
        info = sub_object(data, "violation_info")
        values["violation"] = isolate(info.get("violation_type") or "?")
        return (
            _(
                "WhatsApp reported a policy violation by the business account %(account)s: "
                "%(violation)s."
            )
            % values
        )
    if name == "ACCOUNT_OFFBOARDED":
        return _("The business account %(account)s was disconnected from WhatsApp's API.") % values
    if name == "ACCOUNT_RECONNECTED":
        return _("The business account %(account)s is connected to WhatsApp's API again.") % values
    if name == "ACCOUNT_DELETED":
        return _("The business account %(account)s was deleted.") % values
    return _("WhatsApp reported %(event)s for the business account %(account)s.") % values


def _review(event: AccountEvent) -> str:
    values = {"account": isolate(event.waba_id or "?"), "decision": isolate(event.event)}
    if event.event.upper() == "APPROVED":
        return _("WhatsApp approved the business account %(account)s in its review.") % values
    return (
        _(
            "WhatsApp's review of the business account %(account)s: %(decision)s. It cannot "
            "send messages until the review approves it."
        )
        % values
    )


def _quality(event: AccountEvent, data: dict[str, Any]) -> str:
    if event.business_number is not None:
        number = str(event.business_number)
    else:
        number = format_phone(str(data.get("display_phone_number") or "?"))
    limit = data.get("current_limit") or data.get("max_daily_conversations_per_business") or "?"
    values = {"number": isolate(number), "limit": isolate(limit), "event": isolate(event.event)}
    name = event.event.upper()
    if name == "FLAGGED":
        return (
            _(
                "WhatsApp flagged %(number)s for low quality: if it does not improve, its "
                "messaging limit will be lowered."
            )
            % values
        )
    if name == "UNFLAGGED":
        return _("The quality of %(number)s has recovered: it is no longer flagged.") % values
    if name == "DOWNGRADE":
        return _("WhatsApp lowered the messaging limit of %(number)s to %(limit)s.") % values
    if name in {"UPGRADE", "THROUGHPUT_UPGRADE"}:
        return _("WhatsApp raised the messaging limit of %(number)s to %(limit)s.") % values
    return _("WhatsApp reported %(event)s for %(number)s (messaging limit %(limit)s).") % values


def _template_name(event: AccountEvent, data: dict[str, Any]) -> str:
    name = data.get("message_template_name") or (event.template.name if event.template else "?")
    language = data.get("message_template_language") or (
        event.template.language if event.template else ""
    )
    return isolate(f"{name} ({language})" if language else name)


def _template_status(event: AccountEvent, data: dict[str, Any]) -> str:
    values = {"template": _template_name(event, data), "status": isolate(event.event)}
    name = event.event.upper()
    if name == "FLAGGED":
        if event.ends_at:
            values["date"] = when(event.ends_at)
            return (
                _(
                    "WhatsApp flagged the template %(template)s for low quality: it will be "
                    "disabled on %(date)s unless its quality improves."
                )
                % values
            )
        return _("WhatsApp flagged the template %(template)s for low quality.") % values
    if name == "PAUSED":
        other = sub_object(data, "other_info")
        values["why"] = isolate(other.get("title") or data.get("reason") or "?")
        return _("WhatsApp paused the template %(template)s (%(why)s).") % values
    if name == "DISABLED":
        return _("WhatsApp disabled the template %(template)s.") % values
    return _("The template %(template)s is now %(status)s.") % values


def _template_category(event: AccountEvent, data: dict[str, Any]) -> str:
    values = {
        "template": _template_name(event, data),
        "old": isolate(data.get("previous_category") or "?"),
        "new": isolate(data.get("new_category") or event.event),
    }
    if data.get("correct_category"):
        values["new"] = isolate(data["correct_category"])
        values["old"] = isolate(data.get("new_category") or "?")
        changes_at = moment(data.get("category_update_timestamp"))
        if changes_at:
            values["date"] = when(changes_at)
            return (
                _(
                    "WhatsApp will change the category of the template %(template)s from "
                    "%(old)s to %(new)s on %(date)s."
                )
                % values
            )
        return (
            _(
                "WhatsApp will change the category of the template %(template)s from %(old)s "
                "to %(new)s."
            )
            % values
        )
    if data.get("previous_category"):
        return (
            _("WhatsApp changed the category of the template %(template)s from %(old)s to %(new)s.")
            % values
        )
    return _("The category of the template %(template)s is now %(new)s.") % values
