"""Deletion requests in the admin: the list, erasing with a confirmation page, rejecting with a
reason, permissions, and "Customer asked for deletion" from the inbox."""

import html as html_module
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from messaging.models import Contact, Conversation, Message
from privacy.erasure import kind_rows, preview_erasure
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone
from tests.erasure_support import (
    OMAR_PHONE,
    ZAINAB_BSUID,
    ZAINAB_NAME,
    ZAINAB_PHONE,
    populate,
    traces,
    zainab_needles,
)
from tests.number_scope_support import LAYLA, NADIA, NUMBER_2_NEEDLES, SAMI, found
from tests.staff_support import grant

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/privacy/deletionrequest/"


@pytest.fixture
def officer(django_user_model):
    """A privacy officer: manages deletion requests and may erase, not a superuser."""
    user = django_user_model.objects.create_user(username="officer", password=None, is_staff=True)
    return grant(
        user,
        "view_deletionrequest", "add_deletionrequest", "change_deletionrequest",
        "erase_contact", "view_contact",
    )  # fmt: skip


@pytest.fixture
def clerk(django_user_model):
    """Staff who may look after deletion requests but neither erase nor export."""
    user = django_user_model.objects.create_user(username="clerk", password=None, is_staff=True)
    return grant(user, "view_deletionrequest", "change_deletionrequest", "view_contact")


def login(client, user):
    client.force_login(user)
    return client


def make_request(days_ago=1, **fields):
    fields = {"phone": ZAINAB_PHONE, "channel": "email"} | fields
    return DeletionRequest.objects.create(
        received_at=timezone.now() - timedelta(days=days_ago), **fields
    )


def url(request, action):
    return reverse(f"admin:privacy_deletionrequest_{action}", args=[request.pk])


# The list


def test_overdue_requests_stand_out_in_the_list(client, officer, settings):
    settings.DELETION_REQUEST_DEADLINE_DAYS = 30
    overdue = make_request(days_ago=31)
    recent = make_request(days_ago=2, phone="966500000002")
    done = make_request(days_ago=40, phone="", user_id="", status="completed")

    html = login(client, officer).get(CHANGELIST).content.decode()

    assert html.count("deadline-overdue") == 1
    row = re.search(rf'<tr>.*?change/">#{overdue.pk} .*?</tr>', html, re.S).group(0)
    assert "deadline-overdue" in row
    assert f"#{recent.pk} " in html
    assert f"#{done.pk} " in html
    assert 'href="/static/css/privacy_admin.' in html  # the highlighting's stylesheet
    assert "style=" not in row  # no inline styles: the CSP forbids them


def test_the_list_names_who_handled_each_request(client, officer):
    make_request(phone="", status="completed", handled_by_name="opsadmin (command line)")
    make_request(phone="", status="completed", handled_by=officer, handled_by_name="officer")

    html = login(client, officer).get(CHANGELIST).content.decode()

    assert '<td class="field-handler">opsadmin (command line)</td>' in html
    assert '<td class="field-handler">officer</td>' in html


def test_the_deadline_follows_the_setting(client, officer, settings):
    make_request(days_ago=10)
    settings.DELETION_REQUEST_DEADLINE_DAYS = 7

    assert "deadline-overdue" in login(client, officer).get(CHANGELIST).content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("age=7", {"new", "rejected"}),
        ("age=30", {"new", "month", "rejected"}),
        ("age=older", {"old"}),
        ("age=overdue", {"old"}),
        ("status=received", {"new", "month", "old"}),
        ("status=rejected", {"rejected"}),
    ],
)
def test_the_list_filters_by_age_and_status(client, officer, query, expected):
    made = {
        "new": make_request(days_ago=2, phone="966500000001"),
        "month": make_request(days_ago=20, phone="966500000002"),
        "old": make_request(days_ago=45, phone="966500000003"),
        "rejected": make_request(
            days_ago=3, phone="966500000004", status="rejected", rejection_reason="Not them"
        ),
    }

    html = login(client, officer).get(f"{CHANGELIST}?{query}").content.decode()

    shown = {name for name, request in made.items() if f"/{request.pk}/change/" in html}
    assert shown == expected


def test_the_list_is_searchable_by_phone_as_people_write_it_and_by_user_id(client, officer):
    by_phone = make_request(phone=ZAINAB_PHONE)
    by_user_id = make_request(phone="", user_id=ZAINAB_BSUID)
    login(client, officer)

    phone_html = client.get(CHANGELIST, {"q": "+966 50 111 2233"}).content.decode()
    bsuid_html = client.get(CHANGELIST, {"q": ZAINAB_BSUID}).content.decode()

    assert f"/{by_phone.pk}/change/" in phone_html
    assert f"/{by_user_id.pk}/change/" not in phone_html
    assert f"/{by_user_id.pk}/change/" in bsuid_html


def test_saving_a_request_resolves_the_matching_contact(client, officer, staff_user):
    populate(staff_user)

    response = login(client, officer).post(
        f"{CHANGELIST}add/",
        {
            "phone": "+966 50 111 2233",
            "user_id": "",
            "contact": "",
            "channel": "phone",
            "received_at_0": timezone.now().strftime("%Y-%m-%d"),
            "received_at_1": "10:00:00",
            "status": "received",
            "notes": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    request = DeletionRequest.objects.get()
    assert request.phone == ZAINAB_PHONE
    assert request.contact == Contact.objects.get(wa_id=ZAINAB_PHONE)


def test_a_request_needs_someone_to_erase(client, officer):
    response = login(client, officer).post(
        f"{CHANGELIST}add/",
        {"phone": "", "user_id": "", "channel": "email", "status": "received",
         "received_at_0": "2026-01-01", "received_at_1": "10:00:00"},
    )  # fmt: skip

    assert response.status_code == 200
    assert not DeletionRequest.objects.exists()


# Erasing


def test_the_confirmation_page_lists_exactly_what_will_be_deleted(client, officer, staff_user):
    populate(staff_user)
    request = make_request()
    expected = preview_erasure(phone=ZAINAB_PHONE)

    html = login(client, officer).get(url(request, "erase")).content.decode()

    rows = dict(
        re.findall(
            r'<tr data-kind="[^"]*"><th scope="row">([^<]*)</th><td class="count">(\d+)', html
        )
    )
    assert rows["Messages (content and metadata)"] == str(expected["messages"]) == "5"
    assert rows["Raw webhook bodies deleted"] == "3"
    assert rows["Raw webhook bodies rewritten without this person"] == "3"
    assert rows["Delivery status events"] == "3"
    assert rows["Contact records (number, user id, username, name)"] == "1"
    assert rows["Internal notes and automation records in their conversations"] == "2"
    assert rows["Staff notifications about their conversations"] == "1"
    # Every kind erasure counts is listed, with the count the erasure will report.
    assert {html_module.unescape(label): int(count) for label, count in rows.items()} == {
        str(label): count for label, count in kind_rows(expected)
    }
    assert ZAINAB_NAME in html  # the officer sees whom it is about
    # Nothing deleted yet: five messages and a reaction.
    assert Message.objects.filter(conversation__contact__wa_id=ZAINAB_PHONE).count() == 6


def test_confirming_erases_and_completes_the_request(client, officer, staff_user):
    populate(staff_user)
    request = make_request(user_id=ZAINAB_BSUID)

    response = login(client, officer).post(url(request, "erase"), {"post": "yes"}, follow=True)

    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.COMPLETED
    assert (request.handled_by, request.handled_by_name) == (officer, "officer")
    assert request.completed_at is not None
    assert request.erased["messages"] == 5
    assert (request.phone, request.user_id) == ("", "")
    assert ErasureTombstone.objects.filter(deletion_request=request).count() == 2
    assert "completed. Erased: " in response.content.decode()
    assert traces(zainab_needles()) == []
    assert Contact.objects.filter(wa_id=OMAR_PHONE).exists()
    assert AuditEvent.objects.filter(action="erase", actor=officer).count() == 1
    change_form = client.get(url(request, "change")).content.decode()
    assert "Messages (content and metadata): 5" in change_form
    assert url(request, "erase") not in change_form  # nothing left to erase


def test_a_closed_request_says_when_retention_deletes_it(client, officer, settings):
    settings.RETENTION_DELETION_REQUESTS_DAYS = 100
    closed_at = timezone.now() - timedelta(days=10)
    request = make_request(
        phone="", status="rejected", rejection_reason="Not them", completed_at=closed_at
    )
    deleted_after = date_format(timezone.localtime(closed_at + timedelta(days=100)), "DATE_FORMAT")

    html = login(client, officer).get(url(request, "change")).content.decode()
    open_html = client.get(url(make_request(), "change")).content.decode()

    assert "Record deleted after" in html
    assert deleted_after in html
    assert "Record deleted after" not in open_html


def test_a_completed_request_cannot_be_erased_again(client, officer):
    request = make_request(phone="", status="completed")

    response = login(client, officer).post(url(request, "erase"), {"post": "yes"}, follow=True)

    assert "already completed" in response.content.decode()
    assert not AuditEvent.objects.filter(action="erase").exists()


def test_the_erase_action_leads_to_the_confirmation_page(client, officer):
    request = make_request()

    response = login(client, officer).post(
        CHANGELIST, {"action": "erase_data", "_selected_action": [request.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == url(request, "erase")


def test_the_change_form_links_to_erase_and_reject(client, officer):
    request = make_request()

    html = login(client, officer).get(url(request, "change")).content.decode()

    assert url(request, "erase") in html
    assert url(request, "reject") in html


def test_staff_without_the_erase_permission_cannot_erase(client, clerk, staff_user):
    populate(staff_user)
    request = make_request()
    login(client, clerk)

    assert client.get(url(request, "erase")).status_code == 403
    assert client.post(url(request, "erase"), {"post": "yes"}).status_code == 403
    changelist = client.get(CHANGELIST).content.decode()
    assert 'value="erase_data"' not in changelist
    assert url(request, "erase") not in client.get(url(request, "change")).content.decode()
    client.post(CHANGELIST, {"action": "erase_data", "_selected_action": [request.pk]})
    assert Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()


def test_superusers_may_erase(client, django_user_model, staff_user):
    populate(staff_user)
    root = django_user_model.objects.create_superuser("root", "root@example.org", None)
    request = make_request()

    login(client, root).post(url(request, "erase"), {"post": "yes"})

    assert not Contact.objects.filter(wa_id=ZAINAB_PHONE).exists()


# Rejecting


def test_rejecting_requires_a_reason(client, officer):
    request = make_request()
    login(client, officer)

    response = client.post(url(request, "reject"), {"reason": "   "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.RECEIVED


def test_rejecting_with_a_reason_records_it(client, officer):
    request = make_request()

    login(client, officer).post(url(request, "reject"), {"reason": "Could not verify identity"})

    request.refresh_from_db()
    assert request.status == DeletionRequest.Status.REJECTED
    assert request.rejection_reason == "Could not verify identity"
    assert (request.handled_by, request.handled_by_name) == (officer, "officer")
    assert AuditEvent.objects.filter(action="reject", object_id=str(request.pk)).exists()


def test_the_reject_action_leads_to_the_reason_form(client, officer):
    request = make_request()

    response = login(client, officer).post(
        CHANGELIST, {"action": "reject", "_selected_action": [request.pk]}
    )

    assert response["Location"] == url(request, "reject")
    assert 'name="reason"' in client.get(url(request, "reject")).content.decode()


def test_staff_who_cannot_change_requests_cannot_reject(client, django_user_model):
    viewer = grant(
        django_user_model.objects.create_user(username="viewer", password=None, is_staff=True),
        "view_deletionrequest",
    )
    request = make_request()

    response = login(client, viewer).post(url(request, "reject"), {"reason": "No"})

    assert response.status_code == 403


# From the inbox


def test_the_conversation_header_offers_customer_asked_for_deletion(staff_client, staff_user):
    world = populate(staff_user)

    html = staff_client.get(f"/c/{world.zainab_conversation.pk}/").content.decode()

    assert "Customer asked for deletion" in html
    assert f"/c/{world.zainab_conversation.pk}/deletion-request/" in html


def test_staff_open_a_request_from_a_conversation_once(staff_client, staff_user):
    world = populate(staff_user)
    path = f"/c/{world.zainab_conversation.pk}/deletion-request/"

    first = staff_client.post(path, follow=True)
    second = staff_client.post(path, follow=True)

    request = DeletionRequest.objects.get()
    assert request.channel == DeletionRequest.Channel.WHATSAPP
    assert request.contact == world.zainab_conversation.contact
    assert (request.phone, request.user_id) == (ZAINAB_PHONE, ZAINAB_BSUID)
    assert request.status == DeletionRequest.Status.RECEIVED
    assert f"Deletion request #{request.pk} recorded" in first.content.decode()
    assert f"deletion request #{request.pk} is already open" in second.content.decode()


def test_opening_a_request_needs_the_reply_permission(client, django_user_model, staff_user):
    world = populate(staff_user)
    reader = grant(
        django_user_model.objects.create_user(username="reader", password=None, is_staff=True),
        "view_conversation",
    )

    response = login(client, reader).post(f"/c/{world.zainab_conversation.pk}/deletion-request/")

    assert response.status_code == 403
    assert not DeletionRequest.objects.exists()
    assert Conversation.objects.filter(pk=world.zainab_conversation.pk).exists()


# Number scope: an officer limited to some numbers acts only for people of those numbers.


def request_for(contact, **fields):
    return DeletionRequest.objects.create(
        contact=contact, phone=contact.wa_id, channel="email", **fields
    )


def add_form(**fields):
    return {
        "phone": "", "user_id": "", "contact": "", "channel": "email", "status": "received",
        "received_at_0": "2026-01-01", "received_at_1": "10:00:00", "notes": "",
    } | fields  # fmt: skip


def test_a_limited_officer_lists_only_requests_about_people_of_their_numbers(
    client, limited_officer, numbers
):
    nadias, samis = request_for(numbers.nadia), request_for(numbers.sami)
    laylas = request_for(numbers.layla)
    by_phone_only = make_request(phone=numbers.layla.wa_id)
    closed = make_request(phone="", status="completed", erased={"messages": 3})

    html = login(client, limited_officer).get(CHANGELIST).content.decode()

    shown = {
        r.pk for r in (nadias, samis, laylas, by_phone_only, closed) if url(r, "change") in html
    }
    assert shown == {nadias.pk, samis.pk, closed.pk}
    assert found(NUMBER_2_NEEDLES, html) == []
    searched = client.get(CHANGELIST, {"q": numbers.layla.wa_id}).content.decode()
    assert url(laylas, "change") not in searched


def test_a_request_about_someone_of_another_number_does_not_exist_for_a_limited_officer(
    client, limited_officer, numbers
):
    laylas = request_for(numbers.layla)
    login(client, limited_officer)

    for page in ("change", "history"):
        response = client.get(url(laylas, page))
        assert (response.status_code, response["Location"]) == (302, "/admin/"), page
    for page in ("erase", "reject"):
        assert client.get(url(laylas, page)).status_code == 404, page
        assert client.post(url(laylas, page), {"post": "yes", "reason": "x"}).status_code == 404
    laylas.refresh_from_db()
    assert laylas.status == DeletionRequest.Status.RECEIVED
    assert Contact.objects.filter(pk=numbers.layla.pk).exists()


@pytest.mark.parametrize("who", ["contact", "phone", "user_id", "unknown"])
def test_a_limited_officer_files_requests_only_for_people_of_their_numbers(
    client, limited_officer, numbers, who
):
    Contact.objects.filter(pk=numbers.layla.pk).update(user_id="SA.202")
    fields = {
        "contact": {"contact": numbers.layla.pk},
        "phone": {"phone": "+966 50 000 0202"},
        "user_id": {"user_id": "SA.202"},
        "unknown": {"phone": "966500000999"},
    }[who]

    response = login(client, limited_officer).post(f"{CHANGELIST}add/", add_form(**fields))

    assert response.status_code == 200
    assert not DeletionRequest.objects.exists()
    html = response.content.decode()
    typed = f'value="{next(iter(fields.values()))}"'  # what they typed comes back, no more
    assert found(NUMBER_2_NEEDLES, html.replace(typed, "")) == []
    if who != "contact":  # the same answer, whether someone else or no one has the id
        assert "Nobody who wrote to the business numbers you handle has this" in html


def test_a_limited_officer_files_a_request_for_someone_of_their_numbers(
    client, limited_officer, numbers
):
    response = login(client, limited_officer).post(
        f"{CHANGELIST}add/", add_form(phone="+966 50 000 0303")
    )

    assert response.status_code == 302
    assert DeletionRequest.objects.get().contact == numbers.sami


def test_the_contact_lookups_of_the_add_form_offer_nobody_of_other_numbers(
    client, limited_officer, numbers
):
    login(client, limited_officer)
    autocomplete = client.get(
        "/admin/autocomplete/",
        {"app_label": "privacy", "model_name": "deletionrequest", "field_name": "contact",
         "term": "number"},
    )  # fmt: skip
    popup = client.get("/admin/messaging/contact/", {"_to_field": "id", "_popup": "1"})

    assert {r["text"] for r in autocomplete.json()["results"]} == {
        NADIA["name"], SAMI["name"],
    }  # fmt: skip
    assert found(NUMBER_2_NEEDLES, popup.content.decode()) == []
    assert NADIA["name"] in popup.content.decode()


def test_a_limited_officer_erases_someone_who_wrote_only_to_their_numbers(
    client, limited_officer, numbers
):
    nadias = request_for(numbers.nadia)
    login(client, limited_officer)

    assert NADIA["name"] in client.get(url(nadias, "erase")).content.decode()
    client.post(url(nadias, "erase"), {"post": "yes"})

    nadias.refresh_from_db()
    assert nadias.status == DeletionRequest.Status.COMPLETED
    assert not Contact.objects.filter(wa_id=NADIA["wa_id"]).exists()
    assert url(nadias, "change") in client.get(CHANGELIST).content.decode()  # theirs to see


def test_a_limited_officer_may_not_erase_someone_also_known_to_other_numbers_and_learns_who_may(
    client, limited_officer, everywhere_officer, django_user_model, numbers
):
    samis = request_for(numbers.sami)
    django_user_model.objects.create_superuser("root", "root@example.org", None)
    login(client, limited_officer)

    page = client.get(url(samis, "erase"), follow=True)
    posted = client.post(url(samis, "erase"), {"post": "yes"}, follow=True)

    for response in (page, posted):
        assert response.redirect_chain == [(url(samis, "change"), 302)]
        html = response.content.decode()
        assert "also wrote to business numbers you do not handle" in html
        assert "olga, root" in html
        assert found(NUMBER_2_NEEDLES, html) == []
    samis.refresh_from_db()
    assert samis.status == DeletionRequest.Status.RECEIVED
    assert Message.objects.filter(wamid="wamid.S2").exists()
    assert not AuditEvent.objects.filter(action="erase").exists()


def test_an_officer_with_every_number_sees_and_erases_everyone(client, everywhere_officer, numbers):
    laylas, samis = request_for(numbers.layla), request_for(numbers.sami)
    login(client, everywhere_officer)

    assert url(laylas, "change") in client.get(CHANGELIST).content.decode()
    assert LAYLA["name"] in client.get(url(laylas, "change")).content.decode()
    client.post(url(samis, "erase"), {"post": "yes"})

    assert not Contact.objects.filter(wa_id=SAMI["wa_id"]).exists()
    assert not Message.objects.filter(wamid__in=["wamid.S1", "wamid.S2"]).exists()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/privacy/auditevent/", {"at__year": "9" * 26}),
        ("/admin/privacy/auditevent/", {"action__exact": "viewed\x00"}),
        ("/admin/privacy/deletionrequest/", {"received_at__month": "-" + "9" * 26}),
        ("/admin/privacy/deletionrequest/", {"status__exact": "\x00"}),
    ],
    ids=str,
)
def test_it_refuses_a_list_filter_it_cannot_apply_as_an_invalid_filter(admin_client, path, query):
    response = admin_client.get(path, query)

    assert response.status_code == 302
    assert response["Location"] == f"{path}?e=1"
