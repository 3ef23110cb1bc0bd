"""Row ids that come from outside (query parameters, form fields, admin URLs), read by one rule:
ASCII digits naming a number from 1 to MAX_ID. Anything else names no row, so crafted input is
"not found" or a form error, never a database error.

Django bounds a lookup on an integer column itself, but not one through a foreign key
(`business_number_id=…`, or a primary key that is one): SQLite refuses a Python int past 64
bits with OverflowError. And int() refuses text of more than 4,300 digits with ValueError.
"""

# The largest id any of our tables holds (BigAutoField; SQLite's largest integer).
MAX_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_ID))


def parse_id(value: object) -> int | None:
    """The id `value` names, or None if it names none."""
    text = value if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
