"""Settings in the inbox: each person's preferences (language, theme, e-mails), and, for
supervisors, the team's labels and quick replies.

Who may see, add, change and delete labels and quick replies is what the admin says
(automation.admin: SharedAdmin): these pages ask the registered ModelAdmin, use its QuerySet
and write its history (LogEntry), so the inbox and the admin never disagree."""

from functools import wraps

from django.contrib import admin
from django.contrib import messages as flash
from django.contrib.admin.utils import construct_change_message
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from automation.models import Label, QuickReply, StaffPreferences
from inbox.forms_settings import LabelForm, NotificationsForm, ProfileForm, QuickReplyForm
from inbox.language import THEME_SESSION_KEY, set_language
from staff import permissions
from staff.models import StaffProfile


def landing(user):
    """Where someone who may not read conversations goes from the inbox's address: a privacy
    officer to the deletion requests, anyone else the admin has something for to the admin;
    nobody else has anything here."""
    if permissions.can_handle_deletion_requests(user):
        return redirect("admin:privacy_deletionrequest_changelist")
    if permissions.may_use_admin(user):
        return redirect("admin:index")
    raise PermissionDenied


def viewers_or_landing(view):
    """The inbox page for those who may read conversations; for anyone else, asking for it
    (as signing in does) leads to where their work is (`landing`). Permission first, as on
    every inbox view: whatever they send otherwise is refused."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if permissions.can_view(request.user):
            return view(request, *args, **kwargs)
        if request.method != "GET":
            raise PermissionDenied
        return landing(request.user)

    return checked


def model_admin(model):
    return admin.site.get_model_admin(model)


def settings_nav(request):
    """The settings pages this person may open, for the tabs on each."""
    pages = [(reverse("inbox:preferences"), _("Preferences"))]
    if model_admin(QuickReply).has_view_permission(request):
        pages.append((reverse("inbox:quick_replies"), _("Quick replies")))
    if model_admin(Label).has_view_permission(request):
        pages.append((reverse("inbox:labels"), _("Labels")))
    return {"settings_pages": pages, "current_page": request.path}


# Each person's preferences


@require_http_methods(["GET", "POST"])
def preferences(request):
    """Language, theme and which e-mails this person receives: one form, one Save."""
    profile = StaffProfile.objects.filter(user=request.user).first() or StaffProfile(
        user=request.user
    )
    if not profile.language:
        profile.language = request.LANGUAGE_CODE
    notifications = StaffPreferences.objects.filter(user=request.user).first() or StaffPreferences(
        user=request.user
    )
    data = request.POST if request.method == "POST" else None
    profile_form = ProfileForm(data, instance=profile, prefix="profile")
    notifications_form = NotificationsForm(data, instance=notifications, prefix="notify")
    if data is not None and profile_form.is_valid() and notifications_form.is_valid():
        with transaction.atomic():
            profile = profile_form.save()
            notifications_form.save()
        set_language(request, profile.language)
        request.session[THEME_SESSION_KEY] = profile.theme
        flash.success(request, _("Your preferences are saved."))
        return redirect("inbox:preferences")
    context = {"profile_form": profile_form, "notifications_form": notifications_form}
    return render(request, "inbox/settings/preferences.html", context | settings_nav(request))


def notification_settings(request):
    """The page e-mails link to (automation.notifications): now part of the preferences."""
    return redirect(reverse("inbox:preferences") + "#notifications")


# The team's labels and quick replies


class SettingsPages:
    """List, add, change and delete one model's rows, with its ModelAdmin's permissions and
    QuerySet, and its history written as the admin writes it."""

    def __init__(self, model, form_class, name, *, list_name, list_template, form_title):
        self.model = model
        self.form_class = form_class
        self.name = name  # the form's template and the URL names "<name>_add", "_edit", ...
        self.list_name = list_name
        self.list_template = list_template
        self.form_title = form_title

    @property
    def admin(self):
        return model_admin(self.model)

    def list_url(self):
        return reverse(f"inbox:{self.list_name}")

    def get_row(self, request, pk):
        return get_object_or_404(self.admin.get_queryset(request), pk=pk)

    def list_view(self, request):
        model_admin = self.admin
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        context = {
            "rows": model_admin.get_queryset(request),
            "can_add": model_admin.has_add_permission(request),
            # Per row for the admin too, but SharedAdmin decides by the person alone.
            "can_change": model_admin.has_change_permission(request),
            "can_delete": model_admin.has_delete_permission(request),
        }
        return render(request, self.list_template, context | settings_nav(request))

    def form_view(self, request, pk=None):
        model_admin = self.admin
        row = self.get_row(request, pk) if pk is not None else None
        allowed = (
            model_admin.has_change_permission(request, row)
            if row
            else model_admin.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form = self.form_class(request.POST or None, instance=row)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                saved = form.save()
                message = construct_change_message(form, [], row is None)
                if row is None:
                    model_admin.log_addition(request, saved, message)
                else:
                    model_admin.log_change(request, saved, message)
            flash.success(request, _("“%(name)s” is saved.") % {"name": saved})
            return redirect(self.list_url())
        context = {
            "form": form,
            "row": row,
            "title": self.form_title[row is None],
            "back": self.list_url(),
        }
        return render(
            request, f"inbox/settings/{self.name}_form.html", context | settings_nav(request)
        )

    def delete_view(self, request, pk):
        model_admin = self.admin
        row = self.get_row(request, pk)
        if not model_admin.has_delete_permission(request, row):
            raise PermissionDenied
        if request.method == "POST":
            try:
                with transaction.atomic():
                    model_admin.log_deletions(request, [row])
                    row.delete()
            except ProtectedError:
                flash.error(
                    request,
                    _("“%(name)s” is used by a routing rule: change or delete the rule first.")
                    % {"name": row},
                )
                return redirect(self.list_url())
            flash.success(request, _("“%(name)s” is deleted.") % {"name": row})
            return redirect(self.list_url())
        context = {"row": row, "back": self.list_url()}
        context |= settings_nav(request)
        return render(request, "inbox/settings/confirm_delete.html", context)


LABELS = SettingsPages(
    Label,
    LabelForm,
    "label",
    list_name="labels",
    list_template="inbox/settings/labels.html",
    form_title={True: gettext_lazy("New label"), False: gettext_lazy("Edit label")},
)
QUICK_REPLIES = SettingsPages(
    QuickReply,
    QuickReplyForm,
    "quick_reply",
    list_name="quick_replies",
    list_template="inbox/settings/quick_replies.html",
    form_title={True: gettext_lazy("New quick reply"), False: gettext_lazy("Edit quick reply")},
)

get_post = require_http_methods(["GET", "POST"])
labels = LABELS.list_view
label_add = get_post(LABELS.form_view)


@get_post
def label_edit(request, label_pk):
    return LABELS.form_view(request, label_pk)


@get_post
def label_delete(request, label_pk):
    return LABELS.delete_view(request, label_pk)


quick_replies = QUICK_REPLIES.list_view
quick_reply_add = get_post(QUICK_REPLIES.form_view)


@get_post
def quick_reply_edit(request, quick_reply_pk):
    return QUICK_REPLIES.form_view(request, quick_reply_pk)


@get_post
def quick_reply_delete(request, quick_reply_pk):
    return QUICK_REPLIES.delete_view(request, quick_reply_pk)
