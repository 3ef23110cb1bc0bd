"""Deletion requests in the admin (policy section 7): record, export, erase, reject."""

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import ForeignKey, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from messaging.admin import CheckedFiltersAdmin
from messaging.models import Contact
from privacy import audit
from privacy.admin.forms import (
    DeletionRequestForm,
    RejectForm,
    VisibleRawIdWidget,
    who_handles_every_number,
)
from privacy.erasure import (
    erase_contact,
    find_person,
    kind_rows,
    preview_erasure,
    reaches_beyond,
)
from privacy.export import export_response
from privacy.models import (
    AuditEvent,
    DeletionRequest,
    DeletionRequestQuerySet,
)
from privacy.scrub import normalise_id


class StaffRequest(HttpRequest):
    """A request to the admin's own views: admin_site.admin_view lets only a signed-in staff
    account through."""

    user: User


# Deletion requests (policy section 7): erase, reject, export.


class ReceivedFilter(admin.SimpleListFilter):
    title = _("received")
    parameter_name = "age"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        return [
            ("7", _("In the last 7 days")),
            ("30", _("In the last 30 days")),
            ("older", _("More than 30 days ago")),
            ("overdue", _("Open and past the deadline")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest]
    ) -> QuerySet[DeletionRequest]:
        now = timezone.now()
        match self.value():
            case "7":
                return queryset.filter(received_at__gte=now - timedelta(days=7))
            case "30":
                return queryset.filter(received_at__gte=now - timedelta(days=30))
            case "older":
                return queryset.filter(received_at__lt=now - timedelta(days=30))
            case "overdue":
                due = now - timedelta(days=settings.DELETION_REQUEST_DEADLINE_DAYS)
                return queryset.filter(status__in=DeletionRequest.OPEN_STATES, received_at__lt=due)
        return queryset


@admin.register(DeletionRequest)
class DeletionRequestAdmin(CheckedFiltersAdmin):
    """Deletion requests, and what a privacy officer limited to some business numbers
    (StaffProfile numbers) may do with them. Such an officer acts only for people who wrote
    to their numbers, and learns nothing of other numbers:

    - They see a request when everyone it names (its contact, phone number, user id) wrote
      to one of their numbers (DeletionRequest.objects.visible_to); any other request does
      not exist for them (404, or the admin's "does not exist", as for an id nobody has).
      A request that names nobody any more (erasure cleared it) keeps only dates, counts and
      who handled it, and every officer sees it.
    - They record a request only for someone who wrote to one of their numbers: the contact
      field offers only those contacts, and an id no such contact holds is refused with the
      same message whether someone else or no one holds it.
    - Their exports (here, and from a contact) hold the person's data on their numbers only
      and say so, with the numbers covered (privacy.export.export_data).
    - Erasure takes a person off every number at once (one keyed-hash tombstone, which holds
      back their redeliveries on every number), so they may erase only someone who wrote to
      none but their numbers. For a person who also wrote to others, the erase page refuses
      and names who can act: officers and superusers who see every number. Erasing only part
      of a person would leave the rest of their data while the tombstone treats them as gone;
      a partial export, saying what it covers, misleads nobody.
    They may reject any request they see. Officers and superusers who see every number keep
    every power.
    """

    form = DeletionRequestForm
    list_display = [
        "__str__", "requester", "channel", "status", "received_at", "deadline_display",
        "handler", "completed_at",
    ]  # fmt: skip
    list_filter = ["status", ReceivedFilter, "channel"]
    list_select_related = ["handled_by", "contact"]
    search_fields = ["phone", "user_id"]
    date_hierarchy = "received_at"
    raw_id_fields = ["contact"]
    actions = ["erase_data", "reject", "export_data"]
    change_form_template = "privacy/admin/deletionrequest_change_form.html"

    class Media:
        css = {"all": ["css/privacy_admin.css"]}

    # Permissions

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("privacy.erase_contact")

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("privacy.export_contact")

    def has_reject_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request)

    def has_delete_permission(
        self, request: HttpRequest, obj: DeletionRequest | None = None
    ) -> bool:
        # The record that a request was handled is kept, by hand at least: retention
        # deletes it RETENTION_DELETION_REQUESTS_DAYS after it was closed.
        return False

    # Number scope (the policy above)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeletionRequest]:
        queryset = cast(DeletionRequestQuerySet, super().get_queryset(request))
        return queryset.visible_to(request.user)

    def get_form(
        self,
        request: HttpRequest,
        obj: DeletionRequest | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"viewer": request.user})

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "contact":
            # An id of another number's contact is "not one of the available choices", as an
            # id nobody has.
            visible = Contact.objects.visible_to(request.user)
            kwargs["queryset"] = visible
            kwargs["widget"] = VisibleRawIdWidget(
                db_field.remote_field, self.admin_site, visible=visible
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Columns and fields

    @admin.display(description=_("requester"))
    def requester(self, obj: DeletionRequest) -> str:
        return obj.phone or obj.user_id or (obj.contact.display_name if obj.contact else "—")

    @admin.display(description=_("handled by"), ordering="handled_by_name")
    def handler(self, obj: DeletionRequest) -> User | str:
        return obj.handled_by or obj.handled_by_name or "—"

    @admin.display(description=_("deadline"), ordering="received_at")
    def deadline_display(self, obj: DeletionRequest) -> SafeString:
        # The date as the admin writes the date of a moment (DATETIME_FORMAT) in the same
        # language: one way of writing dates on the page.
        when = date_format(timezone.localtime(obj.deadline), "DATE_FORMAT")
        if obj.is_overdue:
            return format_html(
                '<span class="deadline deadline-overdue" title="{}">{}</span>',
                _("Overdue"),
                when,
            )
        if not obj.is_open:
            return format_html('<span class="deadline deadline-closed">{}</span>', when)
        return format_html('<span class="deadline">{}</span>', when)

    @admin.display(description=_("erased"))
    def erased_counts(self, obj: DeletionRequest) -> str:
        if not obj.erased:
            return "—"
        return format_html_join("", '<div class="erased-count">{}: {}</div>', kind_rows(obj.erased))

    @admin.display(description=_("record deleted after"))
    def deleted_after_display(self, obj: DeletionRequest) -> str:
        when = obj.deleted_after
        return date_format(timezone.localtime(when), "DATE_FORMAT") if when else "—"

    def has_change_permission(
        self, request: HttpRequest, obj: DeletionRequest | None = None
    ) -> bool:
        # A completed or rejected request is the record of what was done: shown, never
        # edited (the admin then offers no Save buttons, and refuses a POST).
        if obj is not None and not obj.is_open:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(
        self, request: HttpRequest, obj: DeletionRequest | None = None
    ) -> list[str]:
        closed = [
            "handled_by", "handled_by_name", "completed_at", "erased_counts", "rejection_reason",
        ]  # fmt: skip
        if obj is not None and not obj.is_open:
            return [*DeletionRequestForm.Meta.fields, *closed, "deleted_after_display"]
        return closed

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest], search_term: str
    ) -> tuple[QuerySet[DeletionRequest], bool]:
        # "+966 50-123 4567" finds the request stored as 966501234567.
        normalised = normalise_id(search_term)
        if normalised and normalised != search_term.strip():
            search_term = normalised
        return super().get_search_results(request, queryset, search_term)

    def save_model(
        self, request: HttpRequest, obj: DeletionRequest, form: forms.ModelForm, change: bool
    ) -> None:
        if obj.contact is None and (obj.phone or obj.user_id):
            contacts, _ids = find_person(phone=obj.phone, user_id=obj.user_id)
            theirs = set(
                Contact.objects.visible_to(request.user)
                .filter(pk__in=[contact.pk for contact in contacts])
                .values_list("pk", flat=True)
            )
            obj.contact = next((c for c in contacts if c.pk in theirs), None)
        if obj.contact is not None and not (obj.phone or obj.user_id):
            obj.phone = obj.contact.wa_id or ""
            obj.user_id = obj.contact.user_id or ""
        super().save_model(request, obj, form, change)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: DeletionRequest | None = None,
    ) -> HttpResponse:
        context |= {
            "original_is_open": obj is not None and obj.is_open,
            "can_erase": self.has_erase_permission(request),
            "can_reject": self.has_reject_permission(request),
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

    # Erase and reject: a page each, reached from the change form or the list's actions.

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="{}_{}_erase".format(*info),
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="{}_{}_reject".format(*info),
            ),
            *super().get_urls(),
        ]

    def _open_request(
        self, request: HttpRequest, object_id: str
    ) -> tuple[DeletionRequest, HttpResponseRedirect | None]:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_("No deletion request with this id."))
        if not obj.is_open:
            self.message_user(
                request,
                _("Deletion request #%(pk)s is already %(status)s.")
                % {"pk": obj.pk, "status": obj.get_status_display().lower()},
                messages.WARNING,
            )
            return obj, self._change_redirect(obj)
        return obj, None

    def _change_redirect(self, obj: DeletionRequest) -> HttpResponseRedirect:
        return redirect(reverse("admin:privacy_deletionrequest_change", args=[obj.pk]))

    def erase_view(self, request: StaffRequest, object_id: str) -> HttpResponse:
        if not self.has_erase_permission(request):
            raise PermissionDenied
        obj, done = self._open_request(request, object_id)
        if done:
            return done
        if not (obj.contact_id or obj.phone or obj.user_id):
            self.message_user(
                request,
                _("This request names nobody: add a phone number, user id or contact first."),
                messages.ERROR,
            )
            return self._change_redirect(obj)
        if reaches_beyond(request.user, obj.contact, phone=obj.phone, user_id=obj.user_id):
            self.message_user(
                request,
                _(
                    "This person also wrote to business numbers you do not handle. Erasure "
                    "takes them off every number, so it needs someone who handles every "
                    "number: %(names)s."
                )
                % {"names": who_handles_every_number("privacy.erase_contact")},
                messages.ERROR,
            )
            return self._change_redirect(obj)
        if request.method == "POST":
            counts = erase_contact(
                obj.contact,
                phone=obj.phone,
                user_id=obj.user_id,
                deletion_request=obj,
                actor=request.user,
            )
            self.message_user(request, erased_message(obj, counts), messages.SUCCESS)
            return self._change_redirect(obj)
        contacts, _ids = find_person(obj.contact, phone=obj.phone, user_id=obj.user_id)
        counts = preview_erasure(obj.contact, phone=obj.phone, user_id=obj.user_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase data"),
            "opts": self.opts,
            "object": obj,
            "contacts": contacts,
            "rows": kind_rows(counts),
            "media": self.media,
        }
        return TemplateResponse(request, "privacy/admin/erase_confirmation.html", context)

    def reject_view(self, request: StaffRequest, object_id: str) -> HttpResponse:
        if not self.has_reject_permission(request):
            raise PermissionDenied
        obj, done = self._open_request(request, object_id)
        if done:
            return done
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                obj.status = DeletionRequest.Status.REJECTED
                obj.rejection_reason = form.cleaned_data["reason"]
                obj.handled_by = request.user
                obj.handled_by_name = request.user.get_username()
                obj.completed_at = timezone.now()
                obj.save()
                audit.record(AuditEvent.Action.REJECT, actor=request.user, obj=obj)
            self.message_user(
                request,
                _("Deletion request #%(pk)s was rejected.") % {"pk": obj.pk},
                messages.SUCCESS,
            )
            return self._change_redirect(obj)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject deletion request"),
            "opts": self.opts,
            "object": obj,
            "form": form,
        }
        return TemplateResponse(request, "privacy/admin/reject.html", context)

    # List actions: erase and reject go to the request's own page (one at a time, on purpose).

    def _single(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest]
    ) -> DeletionRequest | None:
        if queryset.count() != 1:
            self.message_user(
                request, _("Choose exactly one deletion request for this."), messages.WARNING
            )
            return None
        return queryset.get()

    @admin.action(description=_("Erase data…"), permissions=["erase"])
    def erase_data(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest]
    ) -> HttpResponseRedirect | None:
        obj = self._single(request, queryset)
        if obj is not None:
            return redirect(reverse("admin:privacy_deletionrequest_erase", args=[obj.pk]))
        return None

    @admin.action(description=_("Reject…"), permissions=["reject"])
    def reject(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest]
    ) -> HttpResponseRedirect | None:
        obj = self._single(request, queryset)
        if obj is not None:
            return redirect(reverse("admin:privacy_deletionrequest_reject", args=[obj.pk]))
        return None

    @admin.action(description=_("Export the requester's data (JSON)"), permissions=["export"])
    def export_data(
        self, request: HttpRequest, queryset: QuerySet[DeletionRequest]
    ) -> HttpResponse | None:
        obj = self._single(request, queryset)
        if obj is None:
            return None
        contacts = [obj.contact] if obj.contact else []
        return export_response(request, contacts, phone=obj.phone, user_id=obj.user_id, subject=obj)


def erased_message(obj: DeletionRequest, counts: dict[str, int]) -> str:
    done = [f"{label}: {count}" for label, count in kind_rows(counts) if count]
    return _("Deletion request #%(pk)s completed. Erased: %(what)s.") % {
        "pk": obj.pk,
        "what": "; ".join(done) if done else _("nothing was stored"),
    }
