import json
from collections.abc import Iterable
from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.db.models.fields.related import RelatedField
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from django_stubs_ext import StrOrPromise

from messaging import signals
from messaging.account_health.wording import describe
from messaging.ingest import apply_stored
from messaging.message_templates.sync import TemplateSyncError, sync_templates
from messaging.models import (
    AccountEvent,
    BusinessNumber,
    Contact,
    Conversation,
    Message,
    MessageTemplate,
    SendAttempt,
    StatusEvent,
    WebhookEvent,
)
from messaging.querysets import (
    AccountEventQuerySet,
    BusinessNumberQuerySet,
    ContactQuerySet,
    NumberScopedQuerySet,
    WebhookEventQuerySet,
)
from messaging.tasks import resume_sending
from staff.models import StaffProfile
from staff.permissions import can_see_account_events

# The newest account events an admin page lists (the account event list has them all).
HISTORY_SHOWN = 50

DATE_PARTS = ("year", "month", "day")


class CheckedFiltersAdmin(admin.ModelAdmin):
    """A list's filters in the address that Django would let through to a server error are
    "invalid" (the admin's ?e=1), as it makes every other bad filter: a NUL character
    (PostgreSQL refuses it in text) and a date-hierarchy year, month or day too long for
    datetime() (an OverflowError)."""

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        field = self.date_hierarchy
        dates = {f"{field}__{part}" for part in DATE_PARTS} if field else set()
        for name, values in request.GET.lists():
            if any("\x00" in value or (name in dates and len(value) > 4) for value in values):
                raise IncorrectLookupParameters(f"{name} cannot be a filter's value")
        return super().get_changelist_instance(request)


class ReadOnlyAdmin(CheckedFiltersAdmin):
    """Rows that only the webhook (and erasure) may write: staff can look, not touch."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class PersonalDataAdmin(ReadOnlyAdmin):
    """Rows that carry personal data (phone numbers, names, message content, raw bodies).

    Each admin narrows its rows to the business numbers the viewer may see (the model's
    `visible_to`: an object outside them "does not exist", as in the inbox), and every
    page that shows one, and every search, is announced (messaging.signals
    .personal_data_viewed; privacy keeps it in the audit log): who looked at which object, or
    searched which kind of object. Never the search terms: they are phone numbers and names.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Each model admitted here has a manager built from a `visible_to` QuerySet.
        queryset = cast(
            NumberScopedQuerySet | ContactQuerySet | WebhookEventQuerySet,
            super().get_queryset(request),
        )
        return queryset.visible_to(request.user)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        shown = getattr(response, "context_data", None) or {}
        if shown.get("original") is not None:
            signals.personal_data_viewed.send(
                sender=type(self), user=request.user, obj=shown["original"], via="admin"
            )
        return response

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            signals.personal_data_viewed.send(
                sender=type(self),
                user=request.user,
                obj=(self.opts.label_lower, None),
                via="admin search",
            )
        return results


class VisibleNumberFilter(admin.RelatedFieldListFilter):
    """Filter by business number, offering only the numbers the viewer may see."""

    def field_choices(
        self,
        field: RelatedField[Any, Any],
        request: HttpRequest,
        model_admin: admin.ModelAdmin[Any],
    ) -> list[tuple[str, StrOrPromise]]:
        scope = StaffProfile.objects.number_scope(request.user)
        choices = field.get_choices(
            include_blank=False,
            ordering=self.field_admin_ordering(field, request, model_admin),
            limit_choices_to=None if scope is None else {"pk__in": scope},
        )
        # Without the blank choice get_choices returns a plain list of (pk, label) pairs.
        return cast(list[tuple[str, StrOrPromise]], choices)


@admin.register(BusinessNumber)
class BusinessNumberAdmin(CheckedFiltersAdmin):
    list_display = [
        "__str__", "display_phone_number", "phone_number_id", "waba_id", "sending_paused_at"
    ]  # fmt: skip
    readonly_fields = [
        "phone_number_id", "display_phone_number", "waba_id", "created_at", "sending_paused_at",
        "paused_reason",
    ]  # fmt: skip
    fields = ["name", *readonly_fields]
    actions = ["resume_sending"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessNumber]:
        queryset = cast(BusinessNumberQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fields = list(self.fields)
        return [*fields, "account_history"] if can_see_account_events(request.user) else fields

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        return [*fields, "account_history"] if can_see_account_events(request.user) else fields

    @admin.display(description=_("account and quality events"))
    def account_history(self, number: BusinessNumber) -> SafeString:
        """Its own events and its account's, newest first."""
        return history_table(AccountEvent.objects.about_number(number))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # numbers register themselves from webhook metadata

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description=_("Resume sending (after replacing the access token)"))
    def resume_sending(self, request: HttpRequest, queryset: QuerySet[BusinessNumber]) -> None:
        queued = sum(resume_sending(number) for number in queryset)
        self.message_user(
            request,
            ngettext(
                "Sending resumed; %(count)d waiting message queued again.",
                "Sending resumed; %(count)d waiting messages queued again.",
                queued,
            )
            % {"count": queued},
            messages.SUCCESS,
        )


def history_table(events: QuerySet[AccountEvent]) -> SafeString:
    """Account events as a table: when, what, whether it is in force, and what it means."""
    rows = (
        cast(AccountEventQuerySet, events)
        .with_in_force()
        .select_related("business_number", "template")[:HISTORY_SHOWN]
    )
    body = format_html_join(
        "",
        '<tr><td>{}</td><td>{}</td><td dir="ltr">{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("admin:messaging_accountevent_change", args=[event.pk]),
                    localize(timezone.localtime(event.occurred_at)),
                ),
                event.get_kind_display(),
                event.event,
                _("In force") if getattr(event, "in_force", False) else "",
                describe(event),
            )
            for event in rows
        ),
    )
    if not body:
        return format_html("<p>{}</p>", _("No events yet."))
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        pgettext_lazy("the time an account event happened", "When"),
        _("Kind"),
        _("Event"),
        _("State"),
        _("What it means"),
        body,
    )


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    """What Meta reported about the account, its numbers and templates (messaging
    .account_health): written by the webhook only, narrowed to the viewer's numbers."""

    list_display = [
        "occurred_at", "kind", "event", "business_number", "waba_id", "in_force", "meaning",
        "notified_at",
    ]  # fmt: skip
    list_filter = ["kind", "alert", ("business_number", VisibleNumberFilter)]
    list_select_related = ["business_number", "template"]
    search_fields = ["=event", "=waba_id"]
    date_hierarchy = "occurred_at"
    exclude = ["details", "fingerprint", "subject"]
    readonly_fields = ["meaning", "pretty_details"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccountEvent]:
        queryset = cast(AccountEventQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user).with_in_force()

    @admin.display(description=_("in force"), boolean=True)
    def in_force(self, event: AccountEvent) -> bool:
        return bool(getattr(event, "in_force", False))

    @admin.display(description=_("what it means"))
    def meaning(self, event: AccountEvent) -> str:
        return describe(event)

    @admin.display(description=_("details"))
    def pretty_details(self, event: AccountEvent) -> SafeString:
        text = json.dumps(event.details, indent=2, ensure_ascii=False)
        return format_html('<pre dir="auto">{}</pre>', text)


@admin.register(Contact)
class ContactAdmin(PersonalDataAdmin):
    list_display = ["__str__", "wa_id", "user_id", "username", "created_at"]
    search_fields = ["wa_id", "user_id", "username", "profile_name"]
    date_hierarchy = "created_at"
    # The list's own order, given so that the admin's autocomplete (a contact for a deletion
    # request) pages through contacts in a stable order too.
    ordering = ["-pk"]


@admin.register(Conversation)
class ConversationAdmin(PersonalDataAdmin):
    list_display = [
        "pk", "contact", "business_number", "state", "assignee", "unread_count", "last_message_at"
    ]  # fmt: skip
    list_filter = ["state", ("business_number", VisibleNumberFilter)]
    list_select_related = ["contact", "business_number", "assignee"]
    exclude = ["last_message"]


class SendAttemptInline(admin.TabularInline):
    model = SendAttempt
    extra = 0
    can_delete = False
    readonly_fields = (
        "number",
        "requested_by",
        "started_at",
        "wamid",
        "outcome",
        "error_code",
        "error_title",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(PersonalDataAdmin):
    inlines = [SendAttemptInline]
    # No text in the list: message bodies are shown only where someone opens one on purpose.
    list_display = ["pk", "direction", "type", "status", "timestamp", "wamid", "conversation_id"]
    list_filter = ["direction", "status", "type"]
    search_fields = ["=wamid"]
    date_hierarchy = "timestamp"
    show_full_result_count = False


@admin.register(StatusEvent)
class StatusEventAdmin(PersonalDataAdmin):
    list_display = ["pk", "wamid", "status", "timestamp", "message_id", "received_at"]
    list_filter = ["status"]
    search_fields = ["=wamid"]
    show_full_result_count = False


@admin.register(WebhookEvent)
class WebhookEventAdmin(PersonalDataAdmin):
    list_display = ["pk", "received_at", "state", "attempts", "event_counts", "first_error"]
    list_filter = ["state", "received_at"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["reapply"]
    exclude = ["body", "contacts"]
    readonly_fields = ["pretty_body"]

    @admin.display(description=_("events"))
    def event_counts(self, event: WebhookEvent) -> str:
        return ", ".join(
            f"{kind} {count}" for kind, count in event.summary.get("events", {}).items()
        )

    @admin.display(description=_("error"))
    def first_error(self, event: WebhookEvent) -> str:
        return event.error.splitlines()[0] if event.error else ""

    @admin.display(description=_("body"))
    def pretty_body(self, event: WebhookEvent) -> SafeString:
        raw = bytes(event.body)
        try:
            text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            text = raw.decode("utf-8", errors="replace")
        return format_html('<pre dir="auto">{}</pre>', text)

    @admin.action(description=_("Re-apply the selected webhook events"))
    def reapply(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        # Locked one by one, as the worker locks them: a body being applied now is waited
        # for, not applied twice at once.
        applied = [
            apply_stored(pk, again=True)
            for pk in queryset.order_by("pk").values_list("pk", flat=True)
        ]
        results = [event.state for event in applied if event is not None]
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


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    """Templates are written by Meta (synchronisation and webhooks): staff look and sync."""

    list_display = ["name", "language", "category", "status", "parameter_format", "updated_at"]
    list_filter = ["status", "category", "language", "waba_id"]
    search_fields = ["name", "=template_id"]
    readonly_fields = ["pretty_components"]
    exclude = ["components"]
    actions = ["sync_from_meta"]
    change_list_template = "admin/messaging/messagetemplate/change_list.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(self.readonly_fields)
        return [*fields, "history"] if can_see_account_events(request.user) else fields

    @admin.display(description=_("status and category changes"))
    def history(self, template: MessageTemplate) -> SafeString:
        return history_table(AccountEvent.objects.filter(template=template))

    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.change_messagetemplate")

    @admin.display(description=_("components"))
    def pretty_components(self, template: MessageTemplate) -> SafeString:
        text = json.dumps(template.components, indent=2, ensure_ascii=False)
        return format_html('<pre dir="auto">{}</pre>', text)

    def get_urls(self) -> list[URLPattern]:
        from django.urls import path

        sync = path(
            "sync/",
            self.admin_site.admin_view(self.sync_view),
            name="messaging_messagetemplate_sync",
        )
        return [sync, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_sync": self.has_sync_permission(request)}
        return super().changelist_view(request, extra_context)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseNotAllowed
        from django.shortcuts import redirect

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_sync_permission(request):
            raise PermissionDenied
        self.run_sync(request, [None])
        return redirect("admin:messaging_messagetemplate_changelist")

    @admin.action(description=_("Sync templates from Meta"), permissions=["sync"])
    def sync_from_meta(self, request: HttpRequest, queryset: QuerySet[MessageTemplate]) -> None:
        self.run_sync(request, sorted(set(queryset.values_list("waba_id", flat=True))))

    def run_sync(self, request: HttpRequest, waba_ids: Iterable[str | None]) -> None:
        for waba_id in waba_ids:
            try:
                created, updated, removed = sync_templates(waba_id or None)
            except TemplateSyncError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(
                request,
                _(
                    "Templates synchronised: %(created)d new, %(updated)d changed, %(removed)d "
                    "removed."
                )
                % {"created": created, "updated": updated, "removed": removed},
                messages.SUCCESS,
            )
