"""Privacy inside the inbox: recording a customer's deletion request (privacy officers handle
it in the admin; the public /privacy/ page is privacy.views)."""

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from inbox.views import back_to, get_conversation
from privacy.models import DeletionRequest
from staff import permissions
from staff.permissions import view_required


@view_required
@require_POST
def request_deletion(request, pk):
    """The "Customer asked for deletion" button. Pressing it again finds the open request
    instead of adding another."""
    conversation = get_conversation(request, pk)
    if not permissions.can_reply(request.user):
        raise PermissionDenied
    deletion, created = DeletionRequest.objects.record_from_inbox(
        conversation.contact, by=request.user
    )
    if created:
        flash.success(
            request,
            _(
                "Deletion request #%(pk)s recorded. A privacy officer will erase this "
                "customer's data within %(days)s days."
            )
            % {"pk": deletion.pk, "days": settings.DELETION_REQUEST_DEADLINE_DAYS},
        )
    else:
        flash.info(
            request,
            _("This customer's deletion request #%(pk)s is already open.") % {"pk": deletion.pk},
        )
    return back_to(request, conversation)
