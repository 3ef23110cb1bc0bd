"""What finds a message in the inbox search: its text, and `search_words()`, the words a
person reads in it that are not its text (a file's name, the names on shared contact cards,
a place's name and address).

The words are read from `data` when a query asks, not copied into a column of their own:
whatever rewrites data (an edit, a revoke, retention, the erasure of a shared card) changes
what is found with it, and no row has to be rewritten to add them. On PostgreSQL a pg_trgm
GIN index on the same expression (messaging migration 0012) finds them as message_text_trgm_idx
finds text; the index must be built from exactly this expression, which a test checks
(tests/inbox/test_paging_and_search.py).
"""

from django.db.models import Case, Expression, Func, TextField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

# Types whose file name finds them (inbound documents have one; staff's uploads of any kind).
FILE_TYPES = ("audio", "document", "image", "sticker", "video")
# Shared contact cards whose names are searched, from the first. Meta allows 257 a message;
# people share one or a few, and each card adds a term to an expression that every search
# evaluates, and on PostgreSQL every message written (to index it). A card's name is its
# name.formatted_name, which Meta requires.
SEARCHED_CARDS = 10
_TEXT = TextField()
# Between two parts: no search term contains one (the search box is a single line).
_SEPARATOR = Value("\n", _TEXT)


class JoinText(Func):
    """Strings joined by SQL's `||`, an absent part counting as "": one flat expression, where
    Django's Concat nests a level per part (a dozen parts overflow SQLite's parser stack)."""

    template = "(%(expressions)s)"
    arg_joiner = " || "
    output_field = _TEXT

    def __init__(self, *parts: Expression) -> None:
        super().__init__(
            *(
                part if isinstance(part, Value) else Coalesce(part, Value("", _TEXT))
                for part in parts
            )
        )


def _lines(*parts: Expression) -> NullIf:
    """`parts` one per line; NULL when every part is empty or absent."""
    joined = [item for part in parts for item in (part, _SEPARATOR)][:-1]
    return NullIf(JoinText(*joined), Value("\n" * (len(parts) - 1), _TEXT))


def search_words() -> Case:
    """The words besides its text that find a message, by its type; NULL for the others
    (most messages: nothing to read, nothing to index)."""
    cards = [KT(f"data__contacts__{n}__name__formatted_name") for n in range(SEARCHED_CARDS)]
    return Case(
        When(type__in=FILE_TYPES, then=KT("data__filename")),
        When(type="contacts", then=_lines(*cards)),
        When(type="location", then=_lines(KT("data__name"), KT("data__address"))),
        output_field=_TEXT,
    )
