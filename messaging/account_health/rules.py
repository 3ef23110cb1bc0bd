"""What an account, number or template event means: which problem it is about, whether it
raises that problem, and until when. Pure functions of Meta's values (no database).

A problem ("condition") is in force from the event that raises it until a later event about
the same thing and the same condition (by Meta's time), or until its end when Meta gives one:

- ban: DISABLED_UPDATE with waba_ban_state DISABLE or SCHEDULE_FOR_DISABLE; lifted by one
  with REINSTATE.
- restriction: ACCOUNT_RESTRICTION listing restrictions, until the last of their expirations
  (for good when one has none); one listing none lifts it.
- connection: ACCOUNT_OFFBOARDED or ACCOUNT_DELETED; lifted by ACCOUNT_RECONNECTED.
- review: account_review_update with any decision but APPROVED; lifted by APPROVED.
- quality: FLAGGED (quality low) or DOWNGRADE (messaging limit lowered), or a RED quality
  rating; lifted by any later quality event of the number (UNFLAGGED, UPGRADE, …).
- template_status: FLAGGED or PAUSED, until disable_info.disable_date when given; lifted by
  any later status event of the template (APPROVED, REINSTATED, DISABLED, …).

Some events raise nothing and still matter ("notable": administrators hear of them): a policy
violation, any ban state, a disabled template, a category change. The rest of account_update
(partners, pricing tiers, business location, …) is kept as history only.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Webhook field → the kind of event it gives (AccountEvent.Kind's values).
FIELD_KINDS = {
    "account_update": "account",
    "account_review_update": "review",
    "phone_number_quality_update": "quality",
    "message_template_status_update": "template_status",
    "template_category_update": "template_category",
}

BAN = "ban"
RESTRICTION = "restriction"
VIOLATION = "violation"
CONNECTION = "connection"
REVIEW = "review"
QUALITY = "quality"
TEMPLATE_STATUS = "template_status"
TEMPLATE_CATEGORY = "template_category"

BANNED_STATES = frozenset({"DISABLE", "SCHEDULE_FOR_DISABLE"})
LOW_QUALITY_EVENTS = frozenset({"FLAGGED", "DOWNGRADE"})
TEMPLATE_ALERTS = frozenset({"FLAGGED", "PAUSED"})


@dataclass(frozen=True)
class Meaning:
    """`condition`: the problem the event is about ("" for none: history only). `alert`: it
    raises that problem, in force until a later event about it or `ends_at`. `notable`:
    administrators hear of it even when it raises or lifts nothing."""

    condition: str = ""
    alert: bool = False
    ends_at: datetime | None = None
    notable: bool = False


def meaning(kind: str, event: str, data: dict[str, Any]) -> Meaning:
    event = event.upper()
    if kind == "account":
        return _account(event, data)
    if kind == "review":
        return Meaning(REVIEW, alert=event != "APPROVED")
    if kind == "quality":
        red = _text(data.get("quality_rating")).upper() == "RED"
        return Meaning(QUALITY, alert=event in LOW_QUALITY_EVENTS or red)
    if kind == "template_status":
        if event in TEMPLATE_ALERTS:
            ends = moment(sub_object(data, "disable_info").get("disable_date"))
            return Meaning(TEMPLATE_STATUS, alert=True, ends_at=ends)
        return Meaning(TEMPLATE_STATUS, notable=event == "DISABLED")
    if kind == "template_category":
        return Meaning(TEMPLATE_CATEGORY, notable=True)
    return Meaning()


def _account(event: str, data: dict[str, Any]) -> Meaning:
    if event == "DISABLED_UPDATE":
        state = _text(sub_object(data, "ban_info").get("waba_ban_state")).upper()
        return Meaning(BAN, alert=state in BANNED_STATES, notable=True)
    if event == "ACCOUNT_RESTRICTION":
        listed = restrictions(data)
        expiries = [when for item in listed if (when := moment(item.get("expiration")))]
        # One restriction without an expiration keeps the whole in force until lifted.
        ends = max(expiries) if listed and len(expiries) == len(listed) else None
        return Meaning(RESTRICTION, alert=bool(listed), ends_at=ends)
    if event == "ACCOUNT_VIOLATION":
        return Meaning(VIOLATION, notable=True)
    if event in {"ACCOUNT_OFFBOARDED", "ACCOUNT_DELETED"}:
        return Meaning(CONNECTION, alert=True)
    if event == "ACCOUNT_RECONNECTED":
        return Meaning(CONNECTION)
    return Meaning()


def restrictions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The restrictions an ACCOUNT_RESTRICTION lists (restriction_info; one object is read
    as a list of one)."""
    raw = data.get("restriction_info", data.get("restrictions"))
    items = raw if isinstance(raw, list) else [raw]
    return [item for item in items if isinstance(item, dict)]


def moment(raw: Any) -> datetime | None:
    """A time as Meta writes it in these values: unix seconds (a number or a string of one)
    or ISO 8601; None for anything else."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        if isinstance(raw, int | float):
            return datetime.fromtimestamp(int(raw), tz=UTC)
        if isinstance(raw, str) and raw.strip():
            text = raw.strip()
            if text.replace(".", "", 1).isdigit():
                return datetime.fromtimestamp(int(float(text)), tz=UTC)
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def sub_object(data: dict[str, Any], key: str) -> dict[str, Any]:
    """data[key] when it is an object, else an empty one."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
