"""What a search finds beyond the list it filters: the matches the list's filters hide (so
that a closed conversation is never silently not found), and the newest message of a
conversation that matches, which the conversation page opens at."""

from dataclasses import dataclass, replace

from django.db.models import BooleanField, Case, Value, When
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from inbox.services import TIMELINE_HIDDEN_TYPES, ListFilters, listed_conversations, narrowing
from messaging.models import Message

# Hidden matches are counted up to here ("99+"): the count stops walking the conversations
# there, so a common term costs no more than a page of the list.
HIDDEN_LIMIT = 99
# The search inside a conversation steps through at most this many of its matches, newest
# first: older ones are a page load each (inbox.js loads pages as for a quote).
FOUND_LIMIT = 100


@dataclass(frozen=True)
class HiddenMatches:
    """Conversations that match the search but not the list's other filters."""

    filters: ListFilters
    count: int  # up to HIDDEN_LIMIT + 1
    only_by_state: bool  # every one of them would show with "Open and closed"

    @property
    def shown_count(self) -> str:
        return f"{HIDDEN_LIMIT}+" if self.count > HIDDEN_LIMIT else str(self.count)

    @property
    def summary(self) -> str:
        values = {"count": self.shown_count}
        if not self.only_by_state:
            return (
                ngettext(
                    "%(count)s more outside these filters",
                    "%(count)s more outside these filters",
                    self.count,
                )
                % values
            )
        if self.filters.state == "closed":
            return (
                ngettext(
                    "%(count)s more in open conversations",
                    "%(count)s more in open conversations",
                    self.count,
                )
                % values
            )
        return (
            ngettext(
                "%(count)s more in closed conversations",
                "%(count)s more in closed conversations",
                self.count,
            )
            % values
        )

    @property
    def action(self) -> str:
        return _("Include them") if self.only_by_state else _("Search everything")

    @property
    def query(self) -> str:
        """The list's query string that shows them too: only the state widened when the
        state alone hides them, else the search alone."""
        if self.only_by_state:
            widened = replace(self.filters, state="all")
        else:
            widened = ListFilters(state="all", q=self.filters.q)
        return urlencode(widened.as_query())


def hidden_matches(user, filters: ListFilters, matching) -> HiddenMatches | None:
    """The conversations `user` may see that match the search (`matching`, its condition)
    but that the other filters leave out, in one query; None when none are."""
    shown = narrowing(user, filters)
    if not filters.q or not shown:
        return None
    others = narrowing(user, replace(filters, state="all"))
    # Whether each is left out by more than the state, for the link that shows them.
    by_others = (
        Case(When(others, then=Value(False)), default=Value(True), output_field=BooleanField())
        if others
        else Value(False, output_field=BooleanField())
    )
    hidden = (
        listed_conversations(user)
        .filter(matching)
        .exclude(shown)
        .annotate(hidden_by_others=by_others)
        .values_list("hidden_by_others", flat=True)[: HIDDEN_LIMIT + 1]
    )
    reasons = list(hidden)
    if not reasons:
        return None
    return HiddenMatches(filters, len(reasons), only_by_state=not any(reasons))


def matches_in(conversation, q, limit=FOUND_LIMIT) -> list[int]:
    """Ids of the conversation's messages that `q` finds by their words, newest first (the
    search inside an open conversation); up to `limit` + 1, to tell that there are more."""
    return list(
        Message.objects.containing(q)
        .filter(conversation=conversation)
        .exclude(type__in=TIMELINE_HIDDEN_TYPES)
        .order_by("-timestamp", "-pk")
        .values_list("pk", flat=True)[: limit + 1]
    )


def newest_match(conversation, q) -> int | None:
    """The id of the conversation's newest message that the search `q` finds by its words."""
    if not q:
        return None
    return (
        Message.objects.containing(q)
        .filter(conversation=conversation)
        .exclude(type__in=TIMELINE_HIDDEN_TYPES)
        .order_by("-timestamp", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
