"""Filling in saved answers, and choosing the language to answer in.

Placeholders (in quick replies and automatic replies):

- `{name}`: the customer's name as WhatsApp gives it (their profile name, else @username);
  empty when we only know a phone number or an id, which read badly in a greeting;
- `{first_name}`: the first word of that name;
- `{agent}`: in the composer, the member of staff using it; in automatic replies, the
  conversation's assignee (empty when nobody is assigned).

Anything else in braces is left as written. Runs of spaces left by an empty placeholder are
closed up ("Hello {name}!" → "Hello!"), never across line breaks.

Language: answers go out in the language the customer writes in: Arabic when their message
(in the composer, their most recent text on the page) contains Arabic letters, English when it
contains Latin ones, otherwise the staff member's interface language (composer) or the site's
default language (automation). A saved answer without that variant falls back to the default
language, then to any variant it has.
"""

import re

from django.conf import settings

PLACEHOLDER = re.compile(r"\{(name|first_name|agent)\}")
ARABIC_LETTERS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
LATIN_LETTERS = re.compile(r"[A-Za-z\u00c0-\u024f]")
SPACES_AROUND_PUNCTUATION = re.compile(r"[ \t]+([!?.,،؟:;])")
SPACE_RUNS = re.compile(r"[ \t]{2,}")


def contact_name(contact):
    if contact is None:
        return ""
    if contact.profile_name:
        return contact.profile_name.strip()
    if contact.username:
        return f"@{contact.username.removeprefix('@')}"
    return ""


def person_name(user):
    if user is None:
        return ""
    return user.get_short_name() or user.get_username()


def fill(text, *, contact=None, agent=None):
    """`text` with its placeholders filled in (see the module docstring)."""
    name = contact_name(contact)
    values = {
        "name": name,
        "first_name": name.split()[0] if name.split() else "",
        "agent": person_name(agent),
    }
    filled = PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    if filled == text:
        return text
    lines = []
    for line in filled.split("\n"):
        line = SPACES_AROUND_PUNCTUATION.sub(r"\1", SPACE_RUNS.sub(" ", line))
        lines.append(line.strip(" \t") if line.strip() else line)
    return "\n".join(lines)


def script_language(text):
    """ "ar" or "en" by the letters in `text`, or None when it has neither."""
    if not text:
        return None
    if ARABIC_LETTERS.search(text):
        return "ar"
    if LATIN_LETTERS.search(text):
        return "en"
    return None


def pick_variant(variants, language):
    """From {language: item}, the item in `language`, else the default language's, else any
    (in the order of settings.LANGUAGES); None when there are none."""
    if not variants:
        return None
    for code in (language, settings.LANGUAGE_CODE, *(code for code, _name in settings.LANGUAGES)):
        if code in variants:
            return variants[code]
    return next(iter(variants.values()))
