"""Who may do what in the inbox. Views check these server-side; templates only mirror them."""

from django.contrib.auth.decorators import permission_required

# Reading conversations at all (the Agent role and up).
view_required = permission_required("messaging.view_conversation", raise_exception=True)


def can_view(user):
    return user.has_perm("messaging.view_conversation")


def can_reply(user):
    return user.has_perm("messaging.reply_conversation")


def can_assign_others(user):
    return user.has_perm("messaging.assign_conversation")


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
    if user.has_perm("messaging.close_any_conversation"):
        return True
    return can_reply(user) and conversation.assignee_id in (None, user.pk)
