"""Staff pages about privacy inside the inbox (the public /privacy/ page is privacy.views)."""

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from inbox.views import back_to, get_conversation
from messaging.models import Contact
from privacy.models import DeletionRequest
from staff import permissions
from staff.permissions import view_required

OPEN_STATES = [DeletionRequest.Status.RECEIVED, DeletionRequest.Status.IN_PROGRESS]


@view_required
@require_POST
def request_deletion(request, pk):
    """The "Customer asked for deletion" button: record a deletion request for this
    conversation's contact, for a privacy officer to handle in the admin. One open request
    per contact: pressing again finds the open one instead of adding another."""
    conversation = get_conversation(request, pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    contact = conversation.contact
    with transaction.atomic():
        # Locking the contact makes two quick presses (or two colleagues) record one request.
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        existing = (
            DeletionRequest.objects.filter(contact=contact, status__in=OPEN_STATES)
            .order_by("received_at")
            .first()
        )
        if existing is None:
            created = DeletionRequest.objects.create(
                channel=DeletionRequest.Channel.WHATSAPP,
                contact=contact,
                phone=contact.wa_id or "",
                user_id=contact.user_id or "",
                received_at=timezone.now(),
                notes=_("Recorded from the inbox by %(name)s.")
                % {"name": request.user.get_username()},
            )
    if existing is None:
        flash.success(
            request,
            _(
                "Deletion request #%(pk)s recorded. A privacy officer will erase this "
                "customer's data within %(days)s days."
            )
            % {"pk": created.pk, "days": settings.DELETION_REQUEST_DEADLINE_DAYS},
        )
    else:
        flash.info(
            request,
            _("This customer's deletion request #%(pk)s is already open.") % {"pk": existing.pk},
        )
    return back_to(request, conversation)
