"""The settings pages in the inbox (inbox.views_settings): each person's preferences, the
team's labels and quick replies with the admin's permissions, and where sign-in lands."""

import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automation.models import Label, QuickReply, RoutingRule, StaffPreferences
from messaging.models import BusinessNumber
from staff.models import StaffProfile
from tests.staff_support import grant

pytestmark = pytest.mark.django_db


def member(django_user_model, username, role=None, *, numbers=(), password=None):
    user = django_user_model.objects.create_user(username, password=password, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    if numbers:
        StaffProfile.objects.create(user=user).numbers.add(*numbers)
    return user


def signed_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def supervisor(django_user_model):
    return member(django_user_model, "salma", "Supervisor")


@pytest.fixture
def limited_supervisor(django_user_model):
    """A supervisor of one number only: shared settings are theirs to look up and add to."""
    number = BusinessNumber.objects.create(phone_number_id="111", display_phone_number="+1 111")
    return member(django_user_model, "layla", "Supervisor", numbers=[number])


@pytest.fixture
def agent(django_user_model):
    return member(django_user_model, "amina", "Agent")


@pytest.fixture
def label():
    return Label.objects.create(name="Billing", colour="blue", description="Invoices")


@pytest.fixture
def quick_reply():
    reply = QuickReply.objects.create(shortcut="hours", title="Opening hours")
    reply.texts.create(language="en", text="We open at nine.")
    reply.texts.create(language="ar", text="نفتح في التاسعة.")
    return reply


# Where signing in lands, and the navigation


def test_a_privacy_officer_who_signs_in_lands_on_the_deletion_requests(client, django_user_model):
    member(django_user_model, "hana", "Privacy officer", password="pw-for-hana")

    response = client.post(
        reverse("login"), {"username": "hana", "password": "pw-for-hana"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("admin:privacy_deletionrequest_changelist")


def test_staff_the_admin_has_something_for_go_there_from_the_inbox(django_user_model):
    user = grant(member(django_user_model, "auditor"), "view_auditevent")

    response = signed_in(user).get(reverse("inbox:index"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_staff_without_any_permission_are_still_refused_the_inbox(django_user_model):
    response = signed_in(member(django_user_model, "nobody")).get(reverse("inbox:index"))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("role", "shows_admin"),
    [("Agent", True), ("Supervisor", True), ("Privacy officer", True), (None, False)],
)
def test_the_navigation_links_the_admin_for_those_who_may_use_it(
    django_user_model, role, shows_admin
):
    client = signed_in(member(django_user_model, "someone", role))

    html = client.get(reverse("inbox:preferences")).content.decode()

    assert (f'href="{reverse("admin:index")}"' in html) is shows_admin
    assert f'href="{reverse("inbox:preferences")}"' in html


# Preferences


def test_it_saves_language_theme_and_notifications_in_one_form(agent):
    client = signed_in(agent)

    response = client.post(
        reverse("inbox:preferences"),
        {
            "profile-language": "ar",
            "profile-theme": "dark",
            "notify-notify_mentioned": "on",
            "notify-available": "on",
        },
    )

    assert response.status_code == 302
    profile = StaffProfile.objects.get(user=agent)
    assert (profile.language, profile.theme) == ("ar", "dark")
    preferences = StaffPreferences.objects.get(user=agent)
    assert (preferences.notify_assigned, preferences.notify_mentioned) == (False, True)
    page = client.get(reverse("inbox:index")).content.decode()
    assert '<html lang="ar" dir="rtl" data-theme="dark">' in page


def test_the_theme_follows_the_person_to_a_new_sign_in(client, django_user_model):
    user = member(django_user_model, "amina", "Agent", password="pw-for-amina")
    StaffProfile.objects.create(user=user, theme="light")

    client.post(reverse("login"), {"username": "amina", "password": "pw-for-amina"})

    assert 'data-theme="light"' in client.get(reverse("inbox:index")).content.decode()


def test_the_theme_follows_the_device_until_one_is_chosen(agent):
    page = signed_in(agent).get(reverse("inbox:preferences")).content.decode()

    assert "data-theme" not in page.split("<head>")[0]
    assert re.search(r'<input type="radio" name="profile-theme" value="system"[^>]* checked', page)


def test_it_refuses_an_unknown_theme_and_saves_nothing(agent):
    response = signed_in(agent).post(
        reverse("inbox:preferences"), {"profile-language": "en", "profile-theme": "neon"}
    )

    assert response.status_code == 200
    assert "neon" in response.content.decode()
    assert not StaffProfile.objects.filter(user=agent).exists()


def test_the_old_notification_settings_address_leads_to_the_preferences(agent):
    response = signed_in(agent).get(reverse("inbox:notification_settings"))

    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:preferences") + "#notifications"


def test_preferences_need_the_csrf_token(agent):
    client = signed_in(agent, enforce_csrf_checks=True)

    response = client.post(reverse("inbox:preferences"), {"profile-language": "ar"})

    assert response.status_code == 403
    assert not StaffProfile.objects.filter(user=agent).exists()


# Labels


def test_a_supervisor_adds_edits_and_deletes_labels_and_the_admin_history_shows_it(supervisor):
    client = signed_in(supervisor)

    added = client.post(
        reverse("inbox:label_add"), {"name": "VIP", "colour": "green", "description": ""}
    )
    label = Label.objects.get(name="VIP")
    edited = client.post(
        reverse("inbox:label_edit", args=[label.pk]),
        {"name": "VIP customer", "colour": "purple", "description": "Priority"},
    )
    listed = client.get(reverse("inbox:labels")).content.decode()
    deleted = client.post(reverse("inbox:label_delete", args=[label.pk]))

    assert [added.status_code, edited.status_code, deleted.status_code] == [302, 302, 302]
    assert "VIP customer" in listed
    assert not Label.objects.exists()
    history = LogEntry.objects.filter(object_id=str(label.pk)).order_by("pk")
    assert [entry.action_flag for entry in history] == [ADDITION, CHANGE, DELETION]
    assert {entry.user_id for entry in history} == {supervisor.pk}


def test_an_agent_may_not_open_the_label_or_quick_reply_settings(agent, label, quick_reply):
    client = signed_in(agent)

    answers = [
        client.get(reverse("inbox:labels")).status_code,
        client.get(reverse("inbox:label_add")).status_code,
        client.post(reverse("inbox:label_edit", args=[label.pk]), {"name": "X"}).status_code,
        client.post(reverse("inbox:label_delete", args=[label.pk])).status_code,
        client.get(reverse("inbox:quick_replies")).status_code,
        client.post(reverse("inbox:quick_reply_delete", args=[quick_reply.pk])).status_code,
    ]

    assert answers == [403] * 6
    assert Label.objects.filter(name="Billing").exists()
    assert QuickReply.objects.exists()
    preferences = client.get(reverse("inbox:preferences")).content.decode()
    assert reverse("inbox:labels") not in preferences


def test_a_supervisor_limited_to_some_numbers_looks_up_and_adds_but_changes_nothing_shared(
    limited_supervisor, label
):
    client = signed_in(limited_supervisor)

    listed = client.get(reverse("inbox:labels"))
    added = client.post(reverse("inbox:label_add"), {"name": "Urgent", "colour": "red"})
    edit = client.post(
        reverse("inbox:label_edit", args=[label.pk]), {"name": "Mine now", "colour": "red"}
    )
    delete = client.post(reverse("inbox:label_delete", args=[label.pk]))

    assert listed.status_code == 200
    assert reverse("inbox:label_edit", args=[label.pk]) not in listed.content.decode()
    assert added.status_code == 302
    assert [edit.status_code, delete.status_code] == [403, 403]
    assert set(Label.objects.values_list("name", flat=True)) == {"Billing", "Urgent"}


def test_a_label_a_routing_rule_uses_is_not_deleted_and_the_page_says_why(supervisor, label):
    RoutingRule.objects.create(name="Billing", action="label", label=label)

    response = signed_in(supervisor).post(
        reverse("inbox:label_delete", args=[label.pk]), follow=True
    )

    assert Label.objects.filter(pk=label.pk).exists()
    assert "routing rule" in response.content.decode()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_second_label_of_the_same_name_is_a_form_error(supervisor, label):
    response = signed_in(supervisor).post(
        reverse("inbox:label_add"), {"name": "billing", "colour": "grey"}
    )

    assert response.status_code == 200
    assert Label.objects.count() == 1


def test_a_label_that_does_not_exist_is_a_404(supervisor):
    response = signed_in(supervisor).get(reverse("inbox:label_edit", args=[999999]))

    assert response.status_code == 404


def test_label_forms_need_the_csrf_token(supervisor, label):
    client = signed_in(supervisor, enforce_csrf_checks=True)

    add = client.post(reverse("inbox:label_add"), {"name": "VIP", "colour": "green"})
    delete = client.post(reverse("inbox:label_delete", args=[label.pk]))

    assert [add.status_code, delete.status_code] == [403, 403]
    assert list(Label.objects.values_list("name", flat=True)) == ["Billing"]


# Quick replies


def test_a_supervisor_adds_a_quick_reply_with_a_text_per_language(supervisor):
    response = signed_in(supervisor).post(
        reverse("inbox:quick_reply_add"),
        {
            "shortcut": "thanks",
            "title": "Thank you",
            "is_active": "on",
            "text_en": "Thank you, {name}!",
            "text_ar": "شكرًا يا {name}!",
        },
    )

    assert response.status_code == 302
    reply = QuickReply.objects.get(shortcut="thanks")
    assert dict(reply.texts.values_list("language", "text")) == {
        "en": "Thank you, {name}!",
        "ar": "شكرًا يا {name}!",
    }
    assert LogEntry.objects.get().action_flag == ADDITION


def test_emptying_a_language_removes_that_variant(supervisor, quick_reply):
    client = signed_in(supervisor)

    page = client.get(reverse("inbox:quick_reply_edit", args=[quick_reply.pk])).content.decode()
    response = client.post(
        reverse("inbox:quick_reply_edit", args=[quick_reply.pk]),
        {"shortcut": "hours", "title": "Opening hours", "text_en": "Nine to five.", "text_ar": ""},
    )

    assert "نفتح في التاسعة." in page
    assert response.status_code == 302
    assert dict(quick_reply.texts.values_list("language", "text")) == {"en": "Nine to five."}
    assert QuickReply.objects.get().is_active is False


def test_a_quick_reply_needs_a_text_in_at_least_one_language(supervisor):
    response = signed_in(supervisor).post(
        reverse("inbox:quick_reply_add"), {"shortcut": "empty", "title": "Empty"}
    )

    assert response.status_code == 200
    assert "at least one language" in response.content.decode()
    assert not QuickReply.objects.exists()


def test_the_quick_reply_list_shows_each_ones_languages(supervisor, quick_reply):
    html = signed_in(supervisor).get(reverse("inbox:quick_replies")).content.decode()

    assert "/hours" in html
    assert 'lang="ar"' in html
    assert 'lang="en"' in html


def test_a_limited_supervisor_may_not_change_or_delete_a_quick_reply(
    limited_supervisor, quick_reply
):
    client = signed_in(limited_supervisor)

    edit = client.post(
        reverse("inbox:quick_reply_edit", args=[quick_reply.pk]),
        {"shortcut": "hours", "title": "Changed", "text_en": "x"},
    )
    delete = client.post(reverse("inbox:quick_reply_delete", args=[quick_reply.pk]))

    assert [edit.status_code, delete.status_code] == [403, 403]
    assert QuickReply.objects.get().title == "Opening hours"


def test_deleting_a_quick_reply_asks_first_and_then_deletes_it(supervisor, quick_reply):
    client = signed_in(supervisor)

    confirmation = client.get(reverse("inbox:quick_reply_delete", args=[quick_reply.pk]))
    client.post(reverse("inbox:quick_reply_delete", args=[quick_reply.pk]))

    assert "/hours" in confirmation.content.decode()
    assert not QuickReply.objects.exists()


@pytest.mark.parametrize("name", ["inbox:labels", "inbox:quick_replies"])
def test_the_lists_take_the_same_number_of_queries_however_long_they_are(
    supervisor, quick_reply, label, name, django_assert_max_num_queries
):
    client = signed_in(supervisor)
    url = reverse(name)
    client.get(url)  # the session and permissions settle
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        Label.objects.create(name=f"Label {n}")
        more = QuickReply.objects.create(shortcut=f"reply-{n}", title=f"Reply {n}")
        more.texts.create(language="en", text="Hi")
        more.texts.create(language="ar", text="مرحبا")

    with django_assert_max_num_queries(len(few)):
        response = client.get(url)

    assert "Label 4" in response.content.decode() or "/reply-4" in response.content.decode()


@pytest.mark.parametrize(("language", "label"), [("en", "Text in Arabic"), ("ar", "النص بـ")])
def test_each_text_is_labelled_with_its_language_in_the_pages_language(
    supervisor, quick_reply, language, label
):
    client = signed_in(supervisor)
    client.post(reverse("inbox:language"), {"language": language})

    html = client.get(reverse("inbox:quick_reply_edit", args=[quick_reply.pk])).content.decode()

    assert label in html
    assert "Text in العربية" not in html
