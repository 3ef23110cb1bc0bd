"""Routing rules: validating them (admin) and matching them against an inbound message.

Regular expressions come from supervisors and run in the worker on every inbound message, so
a pathological one must not hang it. Python's `re` has no timeout, so instead of bounding time
we bound the work: a pattern is compiled with `re` when it is saved, may be at most
PATTERN_LIMIT characters, and is refused when it has the shapes that make backtracking blow up
(a repeated group that itself repeats or has alternatives, back-references, more than
MAX_UNBOUNDED_REPEATS unbounded repeats); and it is only ever searched in the first
MATCH_TEXT_LIMIT characters of a message.
"""

import re
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from automation.models import PATTERN_LIMIT, RoutingRule

try:  # the parser behind `re` (named sre_parse before Python 3.11)
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants
    import sre_parse

MATCH_TEXT_LIMIT = 1000
MAX_UNBOUNDED_REPEATS = 4
END_PUNCTUATION = " \t\r\n.!?,;:،؛؟…"

Match = RoutingRule.Match
Action = RoutingRule.Action
NEEDS_PATTERN = {Match.EXACT, Match.CONTAINS, Match.REGEX, Match.REPLY_ID}
REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
if hasattr(sre_constants, "POSSESSIVE_REPEAT"):
    REPEATS.add(sre_constants.POSSESSIVE_REPEAT)
BACK_REFERENCES = {sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS}
if hasattr(sre_constants, "GROUPREF_IGNORE"):
    BACK_REFERENCES.add(sre_constants.GROUPREF_IGNORE)


def normalise(text):
    """For keyword matching: Unicode-normalised, case-folded, spaces collapsed, without the
    punctuation people put at the end ("Hours?" matches "hours")."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(text.split()).strip(END_PUNCTUATION)


def check_regex(pattern):
    """Compile a rule's regular expression or raise ValidationError saying what is wrong."""
    if len(pattern) > PATTERN_LIMIT:
        raise ValidationError(
            _("A regular expression may be at most %(limit)d characters long.")
            % {"limit": PATTERN_LIMIT}
        )
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValidationError(
            _("This is not a valid regular expression: %(error)s") % {"error": exc}
        ) from None
    problem = _risky(parsed)
    if problem:
        raise ValidationError(problem)
    return compiled


def _risky(parsed):
    unbounded = 0

    def walk(items, in_repeat):
        nonlocal unbounded
        for op, av in items:
            if op in BACK_REFERENCES:
                return _("Back-references (\\1, (?P=name)) are not allowed in rules.")
            if op in REPEATS:
                _low, high, sub = av
                repeats = high > 1
                if repeats and in_repeat:
                    return _(
                        "A repeated group may not contain another repetition: this can make "
                        "matching take practically forever. Simplify the expression."
                    )
                if high == sre_constants.MAXREPEAT:
                    unbounded += 1
                problem = walk(sub, in_repeat or repeats)
            elif op == sre_constants.BRANCH:
                if in_repeat:
                    return _(
                        "A repeated group may not contain alternatives (a|b): this can make "
                        "matching take practically forever. Simplify the expression."
                    )
                problem = next(filter(None, (walk(branch, in_repeat) for branch in av[1])), None)
            elif op == sre_constants.SUBPATTERN:
                problem = walk(av[-1], in_repeat)
            elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                problem = walk(av[1], in_repeat)
            elif op == getattr(sre_constants, "ATOMIC_GROUP", None):
                problem = walk(av, in_repeat)
            else:
                problem = None
            if problem:
                return problem
        return None

    problem = walk(parsed, False)
    if not problem and unbounded > MAX_UNBOUNDED_REPEATS:
        problem = _(
            "At most %(count)d unbounded repetitions (*, +, {n,}) are allowed in a rule."
        ) % {"count": MAX_UNBOUNDED_REPEATS}
    return problem


def validate_rule(rule):
    """Model validation for RoutingRule (its clean())."""
    errors = {}
    pattern = (rule.pattern or "").strip()
    if rule.match in NEEDS_PATTERN and not pattern:
        errors["pattern"] = _("This kind of match needs a keyword, expression or reply id.")
    elif rule.match not in NEEDS_PATTERN and pattern:
        errors["pattern"] = _("This kind of match takes no keyword: leave it empty.")
    elif rule.match == Match.REGEX:
        try:
            check_regex(rule.pattern)
        except ValidationError as error:
            errors["pattern"] = error.messages
    needed = {
        Action.ASSIGN: ("assignee", _("Choose the person to assign to.")),
        Action.ROUND_ROBIN: ("group", _("Choose the group to assign within.")),
        Action.LABEL: ("label", _("Choose the label to add.")),
        Action.QUICK_REPLY: ("quick_reply", _("Choose the quick reply to send.")),
        Action.PRIORITY: ("priority", _("Choose the priority to set.")),
    }
    if rule.action in needed:
        field, message = needed[rule.action]
        if getattr(rule, f"{field}_id" if field != "priority" else field, None) is None:
            errors[field] = message
    if errors:
        raise ValidationError(errors)


def matches(rule, message, *, is_first):
    """Whether `rule` applies to inbound `message` (is_first: the contact's first message to
    this business number)."""
    conversation = message.conversation
    if rule.business_number_id and rule.business_number_id != conversation.business_number_id:
        return False
    if rule.match == Match.ANY:
        return True
    if rule.match == Match.NEW_CONTACT:
        return is_first
    if rule.match == Match.REPLY_ID:
        data = message.data if isinstance(message.data, dict) else {}
        ids = {str(data.get("reply_id") or ""), str(data.get("payload") or "")} - {""}
        return rule.pattern.strip() in ids
    text = (message.text or "")[:MATCH_TEXT_LIMIT]
    if rule.match == Match.EXACT:
        return bool(text) and normalise(text) == normalise(rule.pattern)
    if rule.match == Match.CONTAINS:
        keyword = normalise(rule.pattern)
        return bool(keyword) and keyword in normalise(text)
    if rule.match == Match.REGEX:
        compiled = _compiled(rule.pattern)
        return compiled is not None and compiled.search(text) is not None
    return False


@lru_cache(maxsize=256)
def _compiled(pattern):
    try:
        return check_regex(pattern)
    except ValidationError:
        return None  # saved before validation tightened (or by hand): never run it
