"""Routing rules' keywords and regular expressions: normalising keywords, and checking and
compiling expressions (for the model's validation and for matching, automation.rules).

Regular expressions come from supervisors and run in the worker on every inbound message, so
none may be able to hang it. Python's `re` backtracks (`a*a*a*a*b` against a long line of
"a" takes minutes), so rules are matched with RE2 (google-re2), whose time is linear in the
text whatever the pattern. Supervisors still write Python's syntax, the one documented
everywhere: a pattern is parsed with Python's own parser and written out for RE2
(`to_re2`), keeping Python's meaning where RE2's differs, so that rules work on Arabic:

- `\\w` is a letter, mark, digit or underscore in any script (RE2's is ASCII only; marks are
  words too, so a vowelled word "مُحَمَّد" is one word), `\\d` any decimal digit (Arabic-Indic
  ones too), `\\s` any Unicode space;
- `\\b` and `\\B` are Unicode word boundaries. RE2 has no look-around, so they are supported
  where the pattern says which side is a word: at the start or end of a word written out in
  the expression (`\\bرصيد\\b`, `^(hi|hello)\\b`);
- `$` also matches before a final line break, as in Python.

What RE2 cannot do in linear time is refused when the rule is saved, saying so:
back-references, look-ahead and look-behind, atomic groups and possessive repeats.
"""

import re
import unicodedata

import re2
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

try:  # the parser behind `re` (named sre_parse before Python 3.11)
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as sre
    import sre_parse

END_PUNCTUATION = " \t\r\n.!?,;:،؛؟…"

# Longest regular expression a routing rule may use.
PATTERN_LIMIT = 200


class Unsupported(Exception):
    """A pattern RE2 cannot run with Python's meaning; the text says why (for the admin)."""


# Python's character classes as the inside of an RE2 set: (Unicode, under the ASCII flag).
WORD = (r"\p{L}\p{M}\p{N}_", "0-9A-Za-z_")
DIGIT = (r"\p{Nd}", "0-9")
SPACE = (r"\t-\r\x{1c}-\x{20}\x{85}\p{Z}", r"\t-\r\x{20}")
# sre category: (class, whether it is the complement of that class)
CATEGORIES = {
    sre.CATEGORY_WORD: (WORD, False),
    sre.CATEGORY_NOT_WORD: (WORD, True),
    sre.CATEGORY_DIGIT: (DIGIT, False),
    sre.CATEGORY_NOT_DIGIT: (DIGIT, True),
    sre.CATEGORY_SPACE: (SPACE, False),
    sre.CATEGORY_NOT_SPACE: (SPACE, True),
}
FLAG_LETTERS = {
    sre.SRE_FLAG_IGNORECASE: "i",
    sre.SRE_FLAG_MULTILINE: "m",
    sre.SRE_FLAG_DOTALL: "s",
}
ATOMS = {sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN, sre.SUBPATTERN, sre.BRANCH}
REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}
# What lies on one side of a position, for \b: a word character, another character (or the
# start or end of the text), the edge of the pattern (whatever precedes or follows the match,
# which may be consumed), or not known from the pattern alone (None).
WORDY, OTHER, EDGE = "word", "other", "edge"
FIRST, LAST = "first", "last"


def to_re2(pattern):
    """`pattern` (Python's syntax) written out for RE2 with Python's meaning.

    Raises re.error for invalid syntax and Unsupported for what RE2 cannot do."""
    parsed = sre_parse.parse(pattern)
    flags = parsed.state.flags
    letters = "".join(letter for flag, letter in FLAG_LETTERS.items() if flags & flag)
    prefix = f"(?{letters})" if letters else ""
    return prefix + _sequence(list(parsed), flags, EDGE, EDGE)


def _sequence(items, flags, before, after):
    out = []
    for i, (op, av) in enumerate(items):
        left = _edge(items[i - 1], LAST, flags) if i else before
        right = _edge(items[i + 1], FIRST, flags) if i + 1 < len(items) else after
        out.append(_item(op, av, flags, left, right))
    return "".join(out)


def _item(op, av, flags, left, right):
    if op == sre.LITERAL:
        return _char(av)
    if op == sre.NOT_LITERAL:
        return f"[^{_char(av)}]"
    if op == sre.ANY:
        return "."
    if op == sre.IN:
        return _set(av, flags)
    if op in REPEATS:
        low, high, sub = av
        # Inside a repeat, one round's neighbour is the previous round: not known.
        inner = (left, right) if high <= 1 else (None, None)
        body = _sequence(list(sub), flags, *inner)
        if not (len(sub) == 1 and sub[0][0] in ATOMS):
            body = f"(?:{body})"
        return body + _quantifier(low, high) + ("?" if op == sre.MIN_REPEAT else "")
    if op == sre.SUBPATTERN:
        _group, add, remove, sub = av
        change = _letters(add) + (f"-{_letters(remove)}" if _letters(remove) else "")
        inner = _sequence(list(sub), (flags | add) & ~remove, left, right)
        return f"(?{change}:{inner})"
    if op == sre.BRANCH:
        return "(?:" + "|".join(_sequence(list(b), flags, left, right) for b in av[1]) + ")"
    if op == sre.AT:
        return _at(av, flags, left, right)
    if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
        raise Unsupported(
            _("Back-references (\\1, (?P=name), (?(1)…)) are not supported in rules.")
        )
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        raise Unsupported(
            _(
                "Look-ahead and look-behind ((?=…), (?!…), (?<=…), (?<!…)) are not supported "
                "in rules."
            )
        )
    raise Unsupported(
        _("Atomic groups (?>…) and possessive repeats (*+, ++, ?+) are not supported in rules.")
    )


def _letters(flags):
    return "".join(letter for flag, letter in FLAG_LETTERS.items() if flags & flag)


def _char(code):
    character = chr(code)
    return character if character.isalnum() else f"\\x{{{code:x}}}"


def _quantifier(low, high):
    if high == sre.MAXREPEAT:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _class(classes, flags):
    return classes[1] if flags & sre.SRE_FLAG_ASCII else classes[0]


def _set(items, flags):
    negated = bool(items) and items[0][0] == sre.NEGATE
    members, complements = [], []
    for op, av in items[1:] if negated else items:
        if op == sre.LITERAL:
            members.append(_char(av))
        elif op == sre.RANGE:
            members.append(f"{_char(av[0])}-{_char(av[1])}")
        else:  # CATEGORY (the parser puts nothing else in a set)
            classes, complement = CATEGORIES[av]
            (complements if complement else members).append(_class(classes, flags))
    if not complements:
        return f"[{'^' if negated else ''}{''.join(members)}]"
    if not negated:
        # RE2 sets cannot hold a complement: [\Wa] is "not a word character, or a".
        union = ([f"[{''.join(members)}]"] if members else []) + [f"[^{c}]" for c in complements]
        return union[0] if len(union) == 1 else "(?:" + "|".join(union) + ")"
    if not members and len(complements) == 1:
        return f"[{complements[0]}]"  # [^\W] is \w
    raise Unsupported(
        _("Sets such as [^\\W…] or [^\\S…] are not supported in rules: list what they match.")
    )


def _at(code, flags, left, right):
    if code == sre.AT_BEGINNING:
        return "^"
    if code == sre.AT_BEGINNING_STRING:
        return r"\A"
    if code == sre.AT_END:
        # Python's $ also matches before a final line break (RE2's only at the very end).
        return "$" if flags & sre.SRE_FLAG_MULTILINE else r"(?:\n?\z)"
    if code == sre.AT_END_STRING:
        return r"\z"
    return _boundary(code == sre.AT_NON_BOUNDARY, flags, left, right)


def _boundary(negated, flags, left, right):
    r"""\b (or \B) between `left` and `right`: a word boundary is where one side is a word
    character and the other is not. RE2's own \b knows only ASCII words, and RE2 cannot look
    around, so a side known from the pattern settles it, and at the pattern's edge the
    character before (or after) the match is matched instead (harmless: a rule only asks
    whether the text matches, not where)."""
    if flags & sre.SRE_FLAG_ASCII:
        return r"\B" if negated else r"\b"
    known = {WORDY, OTHER}
    if left in known and right in known:
        if (left != right) != negated:
            return ""  # always true here
        raise Unsupported(_("“\\b” or “\\B” stands where it can never match."))
    word = _class(WORD, flags)
    if left == EDGE and right in known:
        wanted = right if negated else ({WORDY, OTHER} - {right}).pop()
        return f"[{word}]" if wanted == WORDY else rf"(?:\A|[^{word}])"
    if right == EDGE and left in known:
        wanted = left if negated else ({WORDY, OTHER} - {left}).pop()
        return f"[{word}]" if wanted == WORDY else rf"(?:\z|[^{word}])"
    raise Unsupported(
        _(
            "In rules, “\\b” must stand at the start or end of a word written out in the "
            "expression, as in \\bhello\\b or ^(hi|hello)\\b."
        )
    )


def _edge(item, side, flags):
    """What the first (or last) character matched by `item` is: WORDY, OTHER or None."""
    op, av = item
    if op == sre.LITERAL:
        return _kind(chr(av), flags)
    if op == sre.IN:
        return _set_kind(av, flags)
    if op in REPEATS:
        low, _high, sub = av
        return _sequence_edge(sub, side, flags) if low else None
    if op == sre.SUBPATTERN:
        _group, add, remove, sub = av
        return _sequence_edge(sub, side, (flags | add) & ~remove)
    if op == sre.BRANCH:
        kinds = {_sequence_edge(branch, side, flags) for branch in av[1]}
        return kinds.pop() if len(kinds) == 1 else None
    starts = side == LAST and av in (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)
    ends = side == FIRST and av in (sre.AT_END, sre.AT_END_STRING)
    return OTHER if op == sre.AT and (starts or ends) else None


def _sequence_edge(items, side, flags):
    items = list(items)
    if not items:
        return None
    return _edge(items[0] if side == FIRST else items[-1], side, flags)


def _kind(character, flags):
    if flags & sre.SRE_FLAG_ASCII:
        word = character.isascii() and (character.isalnum() or character == "_")
    else:
        word = character == "_" or unicodedata.category(character)[0] in "LMN"
    return WORDY if word else OTHER


# Sets with ranges wider than this are not inspected character by character for \b.
WIDEST_RANGE = 5000


def _set_kind(items, flags):
    if items and items[0][0] == sre.NEGATE:
        return None
    kinds = set()
    for op, av in items:
        if op == sre.LITERAL:
            kinds.add(_kind(chr(av), flags))
        elif op == sre.RANGE:
            low, high = av
            if high - low > WIDEST_RANGE:
                return None
            kinds |= {_kind(chr(code), flags) for code in range(low, high + 1)}
        elif av in (sre.CATEGORY_WORD, sre.CATEGORY_DIGIT):
            kinds.add(WORDY)
        elif av in (sre.CATEGORY_NOT_WORD, sre.CATEGORY_SPACE):
            kinds.add(OTHER)
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def normalise(text):
    """For keyword matching: Unicode-normalised, case-folded, spaces collapsed, without the
    punctuation people put at the end ("Hours?" matches "hours")."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(text.split()).strip(END_PUNCTUATION)


def check_regex(pattern):
    """A rule's regular expression compiled for RE2 (ignoring case), or ValidationError
    saying what is wrong with it."""
    if len(pattern) > PATTERN_LIMIT:
        raise ValidationError(
            _("A regular expression may be at most %(limit)d characters long.")
            % {"limit": PATTERN_LIMIT}
        )
    try:
        translated = to_re2(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValidationError(
            _("This is not a valid regular expression: %(error)s") % {"error": exc}
        ) from None
    except Unsupported as exc:
        raise ValidationError(str(exc)) from None
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.log_errors = False
    try:
        return re2.compile(translated, options)
    except re2.error:
        raise ValidationError(
            _("This expression is too large to match quickly: use fewer or smaller repeats.")
        ) from None
