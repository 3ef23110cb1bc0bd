"""Subject access from messaging's contact list: the same admin, with privacy's export."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from messaging import admin as messaging_admin
from messaging.models import Contact
from privacy.export import export_response

# Subject access from the contact list: messaging's admin, with privacy's export action.

admin.site.unregister(Contact)


@admin.register(Contact)
class ContactAdmin(messaging_admin.ContactAdmin):
    actions = ["export_data"]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("privacy.export_contact")

    @admin.action(description=_("Export all their data (JSON)"), permissions=["export"])
    def export_data(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        # The rows chosen, as far as the viewer may see them (get_queryset): other numbers'
        # contacts chosen by id leave nothing, which is said as for an empty choice.
        contacts = list(queryset.order_by("pk"))
        if not contacts:
            self.message_user(request, _("Choose at least one contact."), messages.WARNING)
            return None
        subject = contacts[0] if len(contacts) == 1 else None
        return export_response(request, contacts, subject=subject)
