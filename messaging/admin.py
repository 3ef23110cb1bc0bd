import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from messaging.ingest import apply_webhook_event
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    StatusEvent,
    WebhookEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only the webhook (and erasure) may write: staff can look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BusinessNumber)
class BusinessNumberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "display_phone_number", "phone_number_id", "waba_id", "created_at"]
    readonly_fields = ["phone_number_id", "display_phone_number", "waba_id", "created_at"]
    fields = ["name", *readonly_fields]

    def has_add_permission(self, request):
        return False  # numbers register themselves from webhook metadata

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "wa_id", "user_id", "username", "created_at"]
    search_fields = ["wa_id", "user_id", "username", "profile_name"]
    date_hierarchy = "created_at"


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "contact", "business_number", "state", "assignee", "unread_count", "last_message_at"
    ]  # fmt: skip
    list_filter = ["state", "business_number"]
    list_select_related = ["contact", "business_number", "assignee"]
    exclude = ["last_message"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    # No text in the list: message bodies are shown only where someone opens one on purpose.
    list_display = ["pk", "direction", "type", "status", "timestamp", "wamid", "conversation_id"]
    list_filter = ["direction", "status", "type"]
    search_fields = ["=wamid"]
    date_hierarchy = "timestamp"
    show_full_result_count = False


@admin.register(StatusEvent)
class StatusEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "wamid", "status", "timestamp", "message_id", "received_at"]
    list_filter = ["status"]
    search_fields = ["=wamid"]
    show_full_result_count = False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "received_at", "state", "attempts", "event_counts", "first_error"]
    list_filter = ["state", "received_at"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["reapply"]
    exclude = ["body", "contacts"]
    readonly_fields = ["pretty_body"]

    @admin.display(description=_("events"))
    def event_counts(self, event):
        return ", ".join(
            f"{kind} {count}" for kind, count in event.summary.get("events", {}).items()
        )

    @admin.display(description=_("error"))
    def first_error(self, event):
        return event.error.splitlines()[0] if event.error else ""

    @admin.display(description=_("body"))
    def pretty_body(self, event):
        raw = bytes(event.body)
        try:
            text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            text = raw.decode("utf-8", errors="replace")
        return format_html('<pre dir="auto">{}</pre>', text)

    @admin.action(description=_("Re-apply the selected webhook events"))
    def reapply(self, request, queryset):
        results = [apply_webhook_event(event).state for event in queryset.order_by("pk")]
        failed = results.count(WebhookEvent.State.FAILED)
        self.message_user(
            request,
            ngettext(
                "Re-applied %(count)d event (%(failed)d still failing).",
                "Re-applied %(count)d events (%(failed)d still failing).",
                len(results),
            )
            % {"count": len(results), "failed": failed},
            messages.WARNING if failed else messages.SUCCESS,
        )
