"""Reading JSON values defensively: absent means empty; present with the wrong type is
Malformed. And Meta's error objects, as it reports them on messages, statuses and values."""

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, overload


class Malformed(Exception):
    """An item cannot be read; its message is the WebhookError title (field names only)."""


def read_errors(raw: Any) -> list[dict]:
    return [error_details(item) for item in as_list(raw, "errors")]


def readable_errors(raw: Any) -> list[dict]:
    """The errors of a status that can be read; a list that is not one counts as none."""
    errors = []
    for item in raw if isinstance(raw, list) else []:
        try:
            errors.append(error_details(item))
        except Malformed:
            continue
    return errors


def error_details(error: Any) -> dict:
    error = as_object(error, "error")
    return {
        "code": _error_code(error.get("code")),
        "title": string_at(error, "title"),
        "message": string_at(error, "message"),
        "details": string_at(object_at(error, "error_data"), "details"),
    }


def _error_code(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    return None


def as_object(raw: Any, what: str) -> dict:
    if not isinstance(raw, dict):
        raise Malformed(f"{what} is not an object")
    return raw


def as_list(raw: Any, what: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Malformed(f"{what} is not a list")
    return raw


def object_at(mapping: dict, key: str, what: str = "") -> dict:
    raw = mapping.get(key)
    return {} if raw is None else as_object(raw, what or key)


def string_at(mapping: dict, key: str) -> str:
    """A string field; numbers are accepted (Meta sends some ids as numbers)."""
    raw = mapping.get(key)
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise Malformed(f"{key} is not a string")


@overload
def or_empty(read: Callable[[dict, str], dict], mapping: dict, key: str) -> dict[str, Any]: ...
@overload
def or_empty(read: Callable[[dict, str], str], mapping: dict, key: str) -> str: ...
def or_empty(read: Callable[[dict, str], dict | str], mapping: dict, key: str) -> dict | str:
    """`read(mapping, key)`, or the empty value of its kind when the field cannot be read."""
    try:
        return read(mapping, key)
    except Malformed:
        return {} if read is object_at else ""


def number_at(mapping: dict, key: str) -> float | int | None:
    """A number field; a numeric string ("24.7") is read as the number it spells."""
    raw = mapping.get(key)
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            pass
        else:
            if math.isfinite(value):
                return value
    raise Malformed(f"{key} is not a number")


def unix_time(raw: Any, what: str) -> datetime:
    """Meta's timestamps: unix seconds, as a string (usually) or a number, whole or not
    ("1764000000", 1764000000, "1764000000.0"); fractions of a second are dropped."""
    if isinstance(raw, int | float | str) and not isinstance(raw, bool):
        try:
            seconds = int(raw) if isinstance(raw, int) else int(float(raw))
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    raise Malformed(f"{what} timestamp is missing or unreadable")
