"""The inbox banner about the account's standing: shown to administrators and supervisors, for
the numbers they may see, while the problem lasts (inbox_tags.account_alerts)."""

import re

import pytest
from django.contrib.auth.models import Group

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import AccountEvent, BusinessNumber
from staff.models import StaffProfile
from tests.account_health_support import NOW, ban, quality, template_status

pytestmark = pytest.mark.django_db

BANNER = re.compile(r'<p class="banner banner-error" role="alert" data-account-event="(\d+)">')


def deliver(body):
    receive(p.encode(body))


@pytest.fixture
def numbers():
    """Two numbers of one account: sales (the payloads' default number) and support."""
    for phone_number_id, display, sender in (
        (p.PHONE_NUMBER_ID, p.DISPLAY_PHONE_NUMBER, "966500000001"),
        ("222", "15550000222", "966500000002"),
    ):
        deliver(
            p.envelope(
                p.value(
                    phone_number_id=phone_number_id,
                    display_phone_number=display,
                    messages=[p.text_message("Hello", sender=sender)],
                )
            )
        )
    return (
        BusinessNumber.objects.get(phone_number_id=p.PHONE_NUMBER_ID),
        BusinessNumber.objects.get(phone_number_id="222"),
    )


@pytest.fixture
def member(client, django_user_model):
    """Sign in someone with a role, limited to some numbers (none: every number)."""

    def sign_in(role, *numbers):
        user = django_user_model.objects.create_user(
            role.lower().replace(" ", "_"), password="x" * 20, is_staff=True
        )
        user.groups.add(Group.objects.get(name=role))
        if numbers:
            StaffProfile.objects.create(user=user).numbers.add(*numbers)
        client.force_login(user)
        return client

    return sign_in


def banners(client):
    html = client.get("/").content.decode()
    return [AccountEvent.objects.get(pk=pk) for pk in BANNER.findall(html)], html


def test_a_supervisor_sees_a_ban_until_a_reinstatement_lifts_it(member, numbers):
    client = member("Supervisor")
    deliver(ban("DISABLE", at=NOW - 60))

    shown, html = banners(client)
    assert [event.event for event in shown] == ["DISABLED_UPDATE"]
    assert "WhatsApp disabled the business account \u2068102290129340398\u2069" in html

    deliver(ban("REINSTATE"))

    assert banners(client)[0] == []


def test_nothing_in_force_shows_no_banner(member, numbers):
    client = member("Supervisor")
    deliver(quality("FLAGGED", at=NOW - 60))
    deliver(quality("UNFLAGGED"))

    shown, html = banners(client)

    assert shown == []
    assert "data-account-event" not in html


def test_agents_and_privacy_officers_see_no_banner(member, numbers, client):
    deliver(ban("DISABLE"))

    for role in ("Agent", "Privacy officer"):
        member(role)
        assert banners(client)[0] == []


def test_a_number_scoped_supervisor_sees_their_numbers_and_their_accounts_problems_only(
    member, numbers
):
    _sales, support = numbers
    deliver(quality("DOWNGRADE", limit="TIER_250"))  # about sales
    deliver(template_status("PAUSED"))  # about the account, so both numbers

    shown, html = banners(member("Supervisor", support))

    assert [event.kind for event in shown] == ["template_status"]
    assert "TIER_250" not in html


def test_a_supervisor_of_the_number_sees_its_quality_with_metas_values_isolated(member, numbers):
    sales, _support = numbers
    deliver(quality("DOWNGRADE", limit="TIER_250"))

    shown, html = banners(member("Supervisor", sales))

    assert [(event.kind, event.business_number) for event in shown] == [("quality", sales)]
    # Isolated, the Latin values keep their place inside an Arabic sentence (RTL).
    assert "to \u2068TIER_250\u2069" in html


def test_a_flagged_template_shows_its_disable_date(member, numbers, settings):
    settings.TIME_ZONE = "UTC"
    deliver(template_status("FLAGGED", disable_info={"disable_date": 1893456000}))

    shown, html = banners(member("Supervisor"))

    assert [event.event for event in shown] == ["FLAGGED"]
    assert "will be disabled on \u2068" in html
    assert "2030" in html


def test_the_banner_is_in_the_arabic_page_too(member, numbers):
    client = member("Supervisor")
    deliver(ban("DISABLE"))
    client.post("/language/", {"language": "ar", "next": "/"})

    shown, html = banners(client)

    assert 'dir="rtl"' in html
    assert len(shown) == 1
