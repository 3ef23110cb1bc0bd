"""Who may do what with conversations: the roles' rules, written once.

Views check these server-side (templates only mirror them); automation and notifications ask
the same questions of people who are not signed in. A role is a group of Django permissions
(Agent, Supervisor, Privacy officer: inbox's migrations create them), and a person's business
numbers narrow what they may open (StaffProfile.objects.number_scope).
"""

from django.contrib.auth.decorators import permission_required
from django.db.models import Exists, OuterRef, Q

from staff.backends import OneQueryModelBackend
from staff.models import StaffProfile

VIEW = "messaging.view_conversation"
REPLY = "messaging.reply_conversation"
ASSIGN = "messaging.assign_conversation"
CLOSE_ANY = "messaging.close_any_conversation"
# The account's, numbers' and templates' standing (bans, restrictions, quality): the inbox
# banner, the history in the admin and the e-mail about each change. Administrators
# (superusers) and the Supervisor role.
SEE_ACCOUNT_EVENTS = "messaging.view_accountevent"

# Reading conversations at all (the Agent role and up).
view_required = permission_required(VIEW, raise_exception=True)


def can_view(user):
    return user.has_perm(VIEW)


def can_reply(user):
    return user.has_perm(REPLY)


def can_assign_others(user):
    return user.has_perm(ASSIGN)


def can_see_account_events(user):
    return user.has_perm(SEE_ACCOUNT_EVENTS)


def can_assign(user, conversation, assignee):
    """Anyone who can reply may take a conversation or let go of their own; handing it to
    someone else, or taking it from a colleague, needs the assign permission."""
    if can_assign_others(user):
        return True
    if not can_reply(user):
        return False
    if assignee is not None and assignee.pk == user.pk:
        return conversation.assignee_id in (None, user.pk)
    return assignee is None and conversation.assignee_id == user.pk


def can_close(user, conversation):
    """Close or reopen: one's own or unassigned conversations; any with the permission."""
    if user.has_perm(CLOSE_ANY):
        return True
    return can_reply(user) and conversation.assignee_id in (None, user.pk)


def can_open(user, conversation):
    """Whether `user` may open the conversation: the view permission, and its business
    number in their number scope."""
    if conversation is None or not can_view(user):
        return False
    scope = StaffProfile.objects.number_scope(user)
    return scope is None or conversation.business_number_id in scope


def who_can_open(users, conversation):
    """`users` narrowed, in one query, to the active ones who may open the conversation: the
    same test as can_open() (the view permission, their own or a group's, or superuser; the
    conversation's number in their number scope, or no scope)."""
    scope = StaffProfile.numbers.through.objects.filter(staffprofile__user_id=OuterRef("pk"))
    in_scope = ~Exists(scope) | Exists(
        scope.filter(businessnumber_id=conversation.business_number_id)
    )
    return (users & users_with_perm(VIEW)).filter(Q(is_superuser=True) | in_scope)


def users_with_perm(perm):
    """Active users holding `perm`, their own or through a group, and superusers."""
    return OneQueryModelBackend().with_perm(perm)


def with_every_number(users):
    """`users` narrowed to those who see every business number (their number scope is None:
    StaffProfile.objects.number_scope): superusers, and everyone given no numbers."""
    scope = StaffProfile.numbers.through.objects.filter(staffprofile__user_id=OuterRef("pk"))
    return users.filter(Q(is_superuser=True) | ~Exists(scope))


def may_use_admin(user):
    """Whether the admin has anything for `user`: an active member of staff holding any
    permission (the admin lists a model to whoever has one of its permissions), or a
    superuser. The navigation links the admin for them only."""
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or bool(user.get_all_permissions())


# Where someone who may not read conversations starts: the admin page of their work.
DELETION_REQUESTS = "privacy.view_deletionrequest"


def can_handle_deletion_requests(user):
    return user.has_perm(DELETION_REQUESTS)
