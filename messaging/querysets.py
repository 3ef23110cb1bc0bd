"""What each member of staff may see of the messaging models: `Model.objects.visible_to(user)`.

Every query that returns business numbers, contacts, conversations, messages, webhook
bodies or account events for someone (inbox pages and polls, admin, notifications,
automation) narrows through these, on the one definition of number scope (staff:
StaffProfile.objects.number_scope), so a number outside someone's scope is a 404 for them
everywhere; in the admin, "does not exist", as for an id nobody has.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone

from messaging.search import search_words
from staff.models import StaffProfile

if TYPE_CHECKING:
    from messaging.models import BusinessNumber, Conversation

# Whoever a query is narrowed for: the user a request carries, or a user looked up by a job.
Viewer = AbstractBaseUser | AnonymousUser


class NumberScopedQuerySet(models.QuerySet):
    """Rows that belong to one business number, reached through `number_field` (a lookup
    path to the number's id)."""

    number_field: str

    def visible_to(self, user: Viewer) -> Self:
        scope = StaffProfile.objects.number_scope(user)
        return self if scope is None else self.filter(**{f"{self.number_field}__in": scope})


class BusinessNumberQuerySet(NumberScopedQuerySet):
    number_field = "pk"


class ConversationQuerySet(NumberScopedQuerySet):
    number_field = "business_number_id"


class MessageQuerySet(NumberScopedQuerySet):
    number_field = "conversation__business_number_id"

    def containing(self, term: str) -> Self:
        """Messages whose text, or other words a person reads in them (messaging.search),
        contain `term`, in any case and any script."""
        return self.annotate(search_words=search_words()).filter(
            Q(text__icontains=term) | Q(search_words__icontains=term)
        )


class StatusEventQuerySet(NumberScopedQuerySet):
    # A status not yet linked to a message belongs to no number anyone can tell.
    number_field = "message__conversation__business_number_id"


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user: Viewer) -> Self:
        """People who wrote to a number `user` may see (with every number: every contact)."""
        if StaffProfile.objects.number_scope(user) is None:
            return self
        field = self.model._meta.get_field("conversations")
        conversations = cast("type[Conversation]", field.related_model)
        return self.filter(pk__in=conversations.objects.visible_to(user).values("contact_id"))


class WebhookEventQuerySet(models.QuerySet):
    def visible_to(self, user: Viewer) -> Self:
        """A raw body may speak for any number (a batch can mix them): only someone who may
        see every number may read raw bodies."""
        return self if StaffProfile.objects.number_scope(user) is None else self.none()


class AccountEventQuerySet(models.QuerySet):
    # Kinds about the whole account (templates belong to it): they concern all its numbers.
    ACCOUNT_WIDE = ("account", "review", "template_status", "template_category")

    def visible_to(self, user: Viewer) -> Self:
        """Events about a number `user` may see, and those about the account of such a
        number (a ban or a flagged template stops it too). An account no number of theirs
        belongs to, and the quality of a number we do not know, only for those who may see
        every number."""
        scope = StaffProfile.objects.number_scope(user)
        if scope is None:
            return self
        numbers = cast(
            "type[BusinessNumber]", self.model._meta.get_field("business_number").related_model
        )
        accounts = numbers.objects.filter(pk__in=scope).exclude(waba_id="").values("waba_id")
        return self.filter(
            Q(business_number__in=scope)
            | Q(business_number__isnull=True, kind__in=self.ACCOUNT_WIDE, waba_id__in=accounts)
        )

    def about_number(self, number: "BusinessNumber") -> Self:
        """A number's history: its own events and its account's."""
        own = Q(business_number=number)
        if not number.waba_id:
            return self.filter(own)
        account = Q(business_number__isnull=True, kind__in=self.ACCOUNT_WIDE)
        return self.filter(own | (account & Q(waba_id=number.waba_id)))

    def active(self, now: datetime | None = None) -> Self:
        """The events whose problem is in force: raised (`alert`), not past its end, and no
        later event (by Meta's time, then arrival) about the same subject and condition."""
        return self.filter(self._in_force(now))

    def with_in_force(self, now: datetime | None = None) -> Self:
        """Each event annotated `in_force`, by the rule of active()."""
        return self.annotate(
            in_force=ExpressionWrapper(self._in_force(now), output_field=BooleanField())
        )

    def _in_force(self, now: datetime | None) -> Any:
        now = now or timezone.now()
        later = self.model._default_manager.filter(
            Q(occurred_at__gt=OuterRef("occurred_at"))
            | Q(occurred_at=OuterRef("occurred_at"), pk__gt=OuterRef("pk")),
            subject=OuterRef("subject"),
            condition=OuterRef("condition"),
        )
        lasting = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        return Q(alert=True) & lasting & ~Exists(later)


class InboxChangeQuerySet(NumberScopedQuerySet):
    # A poll hears only of the conversations its user may open (inbox.services.changes_after).
    number_field = "conversation__business_number_id"

    def record(self, conversation_id: int, message_id: int | None = None) -> None:
        """Tell open inbox pages that a conversation (and maybe one of its messages) changed.

        Call inside the transaction that makes the change, so pages never see the change
        recorded without the change itself.
        """
        self.create(conversation_id=conversation_id, message_id=message_id)
