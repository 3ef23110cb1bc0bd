"""Configuration of teamwork and automation, for supervisors (model permissions of this app:
e.g. automation.change_routingrule to edit routing rules), within the business numbers each
may see (NumberScopedAdmin)."""

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from automation.hours import is_open
from automation.models import (
    AutomationRun,
    AutoReply,
    AutoReplyClaim,
    BusinessHours,
    Holiday,
    Label,
    OpeningPeriod,
    QuickReply,
    QuickReplyText,
    RoutingRule,
    StaffNotification,
    StaffPreferences,
)
from messaging.admin import CheckedFiltersAdmin, VisibleNumberFilter
from messaging.ids import parse_id
from messaging.models import BusinessNumber
from staff.models import StaffProfile

LIMITED_NUMBER_HELP = _(
    "Choose one of your numbers. Settings for every number are made by staff who may see "
    "every number."
)


def every_number(user):
    """Whether `user` may see every business number (no number scope)."""
    return StaffProfile.objects.number_scope(user) is None


class NumberScopedAdmin(CheckedFiltersAdmin):
    """Rows that belong to a business number, reached through `number_field` (a lookup path
    to it). Staff limited to some numbers see, change and add only rows of those: the others
    do not exist for them, as everywhere else (BusinessNumber.objects.visible_to).

    A row without a number (an automatic reply or routing rule for every number) acts on
    numbers beyond a limited person's, so only staff who see every number see and make
    those; limited staff must name one of their numbers (a row for their number takes the
    place of the one for every number)."""

    number_field = "business_number"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if every_number(request.user):
            return queryset
        visible = BusinessNumber.objects.visible_to(request.user)
        return queryset.filter(**{f"{self.number_field}__in": visible})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.number_field:
            # A forged id of another number is "not one of the available choices".
            kwargs["queryset"] = BusinessNumber.objects.visible_to(request.user)
            if not every_number(request.user):
                kwargs["required"] = True
                kwargs["help_text"] = LIMITED_NUMBER_HELP
                kwargs["error_messages"] = {"required": LIMITED_NUMBER_HELP}
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SharedAdmin(CheckedFiltersAdmin):
    """Settings every number shares (labels, quick replies): changing or deleting one acts
    on numbers beyond a limited person's (and a delete page lists where they use it), so
    only staff who see every number change them; limited staff look them up and add new
    ones, which touch nobody else's conversations."""

    def has_change_permission(self, request, obj=None):
        return every_number(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return every_number(request.user) and super().has_delete_permission(request, obj)


@admin.register(Label)
class LabelAdmin(SharedAdmin):
    list_display = ["name", "colour", "description"]
    search_fields = ["name"]


class QuickReplyTextInline(admin.StackedInline):
    model = QuickReplyText
    extra = 0
    min_num = 1


@admin.register(QuickReply)
class QuickReplyAdmin(SharedAdmin):
    list_display = ["__str__", "title", "languages", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["shortcut", "title"]
    inlines = [QuickReplyTextInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("texts")

    @admin.display(description=_("languages"))
    def languages(self, obj):
        return ", ".join(sorted(text.language for text in obj.texts.all()))


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessHours)
class BusinessHoursAdmin(NumberScopedAdmin):
    list_display = ["business_number", "time_zone", "away_interval_hours", "open_now"]
    inlines = [OpeningPeriodInline, HolidayInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("business_number")
            .prefetch_related("periods", "holidays")
        )

    @admin.display(description=_("open now"), boolean=True)
    def open_now(self, obj):
        return is_open(obj, timezone.now())


@admin.register(AutoReply)
class AutoReplyAdmin(NumberScopedAdmin):
    list_display = ["kind", "business_number", "language", "is_active"]
    list_editable = ["is_active"]
    list_filter = ["kind", "language", "is_active", ("business_number", VisibleNumberFilter)]
    fields = ["kind", "business_number", "language", "text", "is_active"]


ACTION_FIELDS = [
    "action", "assignee", "group", "label", "quick_reply", "priority", "stop_processing"
]  # fmt: skip


@admin.register(RoutingRule)
class RoutingRuleAdmin(NumberScopedAdmin):
    list_display = [
        "position", "name", "match", "pattern", "business_number", "action", "target",
        "stop_processing", "is_active",
    ]  # fmt: skip
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active", "match", "action"]
    search_fields = ["name", "pattern"]
    ordering = ["position", "pk"]
    fieldsets = [
        (None, {"fields": ["name", "position", "is_active"]}),
        (_("When"), {"fields": ["business_number", "match", "pattern"]}),
        (
            _("Then"),
            {"fields": ACTION_FIELDS},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("business_number", "assignee", "group", "label", "quick_reply")
        )

    @admin.display(description=_("target"))
    def target(self, obj):
        values = {
            RoutingRule.Action.ASSIGN: obj.assignee,
            RoutingRule.Action.ROUND_ROBIN: obj.group,
            RoutingRule.Action.LABEL: obj.label,
            RoutingRule.Action.QUICK_REPLY: obj.quick_reply,
            RoutingRule.Action.PRIORITY: obj.get_priority_display(),
        }
        return values.get(obj.action) or "—"


class IdAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks up the submitted value as it came to show it again
    with the form's errors: text that is no id broke that query (a 500, not a form error)."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [pk for pk in value if parse_id(pk)], attr)


@admin.register(StaffPreferences)
class StaffPreferencesAdmin(CheckedFiltersAdmin):
    list_display = ["user", "notify_assigned", "notify_mentioned", "notify_waiting", "available"]
    list_filter = ["available"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnly(CheckedFiltersAdmin):
    """Records automation writes itself: to look at, not to edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StaffNotification)
class StaffNotificationAdmin(NumberScopedAdmin, ReadOnly):
    number_field = "conversation__business_number"
    list_display = ["created_at", "user", "kind", "conversation", "actor", "status", "sent_at"]
    list_filter = ["kind", "status"]
    list_select_related = [
        "user", "actor", "conversation__contact", "conversation__business_number"
    ]  # fmt: skip
    date_hierarchy = "created_at"


@admin.register(AutomationRun)
class AutomationRunAdmin(NumberScopedAdmin, ReadOnly):
    number_field = "message__conversation__business_number"
    list_display = ["message", "ran_at", "outcome"]
    list_select_related = ["message"]
    date_hierarchy = "ran_at"

    def get_object(self, request, object_id, from_field=None):
        # Its primary key is its message's: Django bounds an id looked up on an integer
        # column, not through a foreign key (messaging.ids).
        if parse_id(object_id) is None:
            return None
        return super().get_object(request, object_id, from_field)


@admin.register(AutoReplyClaim)
class AutoReplyClaimAdmin(NumberScopedAdmin, ReadOnly):
    number_field = "conversation__business_number"
    list_display = ["created_at", "kind", "conversation", "message", "reply"]
    list_select_related = [
        "conversation__contact", "conversation__business_number", "message", "reply"
    ]  # fmt: skip
    list_filter = ["kind"]
    date_hierarchy = "created_at"
