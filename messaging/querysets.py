"""What each member of staff may see of the messaging models: `Model.objects.visible_to(user)`.

Every query that returns business numbers, contacts, conversations, messages or webhook
bodies for someone (inbox pages and polls, admin, notifications, automation) narrows through
these, on the one definition of number scope (staff: StaffProfile.objects.number_scope), so a
number outside someone's scope is a 404 for them everywhere; in the admin, "does not exist", as
for an id nobody has.
"""

from typing import TYPE_CHECKING, Self, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models

from staff.models import StaffProfile

if TYPE_CHECKING:
    from messaging.models import Conversation

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


class InboxChangeQuerySet(NumberScopedQuerySet):
    # A poll hears only of the conversations its user may open (inbox.services.changes_after).
    number_field = "conversation__business_number_id"

    def record(self, conversation_id: int, message_id: int | None = None) -> None:
        """Tell open inbox pages that a conversation (and maybe one of its messages) changed.

        Call inside the transaction that makes the change, so pages never see the change
        recorded without the change itself.
        """
        self.create(conversation_id=conversation_id, message_id=message_id)
