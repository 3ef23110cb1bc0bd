"""The audit log in the admin: read-only, narrowed to what the reader may see."""

from typing import cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from messaging.admin import CheckedFiltersAdmin
from privacy.models import (
    AuditEvent,
    AuditEventQuerySet,
)


@admin.register(AuditEvent)
class AuditEventAdmin(CheckedFiltersAdmin):
    """The audit log is append-only: nobody adds, changes or deletes entries here (retention
    removes them after RETENTION_AUDIT_DAYS). Reading it takes the privacy.view_auditevent
    permission (the Privacy officer role has it; superusers have every permission); someone
    limited to some business numbers reads the entries about those numbers' objects and
    those about none (AuditEvent.objects.visible_to)."""

    list_display = ("at", "actor_name", "action", "object_type", "object_id")
    list_filter = ("action", "at")
    search_fields = ("actor_name", "object_id")
    date_hierarchy = "at"
    fields = ("at", "actor", "actor_name", "action", "object_type", "object_id", "details")
    readonly_fields = fields
    list_select_related = False
    show_full_result_count = False  # a count over the whole log on every page is wasted work

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = cast(AuditEventQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user)

    def has_view_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        # Only the view permission: Django would also let change_auditevent read the log,
        # and that permission means nothing here.
        return request.user.has_perm("privacy.view_auditevent")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
