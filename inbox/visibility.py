"""Which conversations a member of staff may see: optionally limited to some business numbers.

Every inbox query that returns conversations, messages or media goes through here, so a
number outside someone's scope is a 404 for them everywhere.
"""

from inbox.models import StaffProfile
from messaging.models import BusinessNumber, Conversation

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


def visible_conversations(user, conversations=None):
    conversations = Conversation.objects.all() if conversations is None else conversations
    scope = number_scope(user)
    return conversations if scope is None else conversations.filter(business_number_id__in=scope)


def visible_numbers(user):
    numbers = BusinessNumber.objects.all()
    scope = number_scope(user)
    return numbers if scope is None else numbers.filter(pk__in=scope)
