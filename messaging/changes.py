from messaging.models import InboxChange


def announce(conversation_id: int, message_id: int | None = None) -> None:
    """Tell open inbox pages that a conversation (and maybe one of its messages) changed.

    Call inside the transaction that makes the change, so pages never see the announcement
    without the change.
    """
    InboxChange.objects.create(conversation_id=conversation_id, message_id=message_id)
