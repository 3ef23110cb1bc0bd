"""Phone numbers as people read them. Pure Python: models, admin and templates all use it."""

import re

# E.164 country codes are prefix-free: 1 and 7 are the only one-digit codes, these are the
# two-digit ones, and every other code has three digits.
# fmt: off
_TWO_DIGIT_COUNTRY_CODES = frozenset({
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"
})
# fmt: on


def phone_digits(value: str) -> str:
    """The digits of a phone number however it is written ("+1 555-078-3881" → "15550783881"),
    to compare numbers that Meta and people write differently."""
    return re.sub(r"[^0-9]", "", str(value or ""))


def format_phone(wa_id: str) -> str:
    """A wa_id (digits, no "+") as "+<country code> <national number in groups>".

    The national number is grouped from the end: the last four digits, then threes, with a
    lone leading digit joined to the next group: 966501234567 → "+966 50 123 4567",
    16505551234 → "+1 650 555 1234". This is a readable approximation, not each country's
    own convention. Anything that is not all digits (a BSUID such as "US.1349…") is returned
    unchanged.
    """
    value = str(wa_id or "").strip()
    digits = value.removeprefix("+")
    if not re.fullmatch(r"[0-9]+", digits):
        return value
    if digits[0] in "17":
        code_length = 1
    elif digits[:2] in _TWO_DIGIT_COUNTRY_CODES:
        code_length = 2
    else:
        code_length = 3
    code, national = digits[:code_length], digits[code_length:]
    if len(national) < 4:
        return f"+{digits}"
    groups = [national[-4:]]
    head = national[:-4]
    while head:
        groups.insert(0, head[-3:])
        head = head[:-3]
    if len(groups) > 2 and len(groups[0]) == 1:
        groups[:2] = [groups[0] + groups[1]]
    return " ".join([f"+{code}", *groups])
