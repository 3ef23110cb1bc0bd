"""Which conversations a member of staff may see: optionally limited to some business numbers.

Every inbox and admin query that returns conversations, contacts, messages or media goes
through here, so a number outside someone's scope is a 404 for them everywhere (in the admin:
"does not exist", as for an id nobody has).
"""

from inbox.models import StaffProfile
from messaging.models import BusinessNumber, Contact, Conversation

_UNSET = object()


def number_scope(user):
    """None when `user` may see every number, else the ids of the numbers they may see.

    Looked up once per request (cached on the user object the request carries).
    """
    scope = getattr(user, "_number_scope", _UNSET)
    if scope is _UNSET:
        scope = None
        if not user.is_superuser:
            allowed = StaffProfile.numbers.through.objects.filter(staffprofile__user=user)
            scope = set(allowed.values_list("businessnumber_id", flat=True)) or None
        user._number_scope = scope
    return scope


def within_scope(user, queryset, number_field):
    """`queryset` narrowed to the rows whose `number_field` (a lookup path to a business
    number's id, e.g. "conversation__business_number_id") is one `user` may see."""
    scope = number_scope(user)
    return queryset if scope is None else queryset.filter(**{f"{number_field}__in": scope})


def visible_conversations(user, conversations=None):
    conversations = Conversation.objects.all() if conversations is None else conversations
    return within_scope(user, conversations, "business_number_id")


def visible_contacts(user, contacts=None):
    """People who wrote to a number `user` may see (with everyone visible: every contact)."""
    contacts = Contact.objects.all() if contacts is None else contacts
    if number_scope(user) is None:
        return contacts
    return contacts.filter(pk__in=visible_conversations(user).values("contact_id"))


def visible_numbers(user, numbers=None):
    numbers = BusinessNumber.objects.all() if numbers is None else numbers
    return within_scope(user, numbers, "pk")
