"""Account, number and template events: stored once from the webhook, in force while they
last (AccountEvent.objects.active()), e-mailed to administrators once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection

from messaging import payloads as p
from messaging.account_health.mail import deliver
from messaging.ingest import apply_stored, receive
from messaging.models import AccountEvent, BusinessNumber, WebhookEvent
from staff.models import StaffProfile
from tests.account_health_support import (
    NOW,
    account_change,
    ban,
    quality,
    restriction,
    send_emails,
    template_status,
)
from tests.webhook_support import post_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def number():
    """Our number, registered by a first message (with its account and display number)."""
    receive(p.encode(p.envelope(p.value(messages=[p.text_message("Hello")]))))
    return BusinessNumber.objects.get(phone_number_id=p.PHONE_NUMBER_ID)


@pytest.fixture
def other_number():
    receive(
        p.encode(
            p.envelope(
                p.value(
                    phone_number_id="222",
                    display_phone_number="15550000222",
                    messages=[p.text_message("Hi", sender="966500000002")],
                )
            )
        )
    )
    return BusinessNumber.objects.get(phone_number_id="222")


@pytest.fixture
def administrator(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", None)


@pytest.fixture
def applied(post_webhook, administrator, django_capture_on_commit_callbacks):
    """POST bodies as Meta would and apply them, committing (so e-mails are queued)."""

    def apply(*bodies):
        for body in bodies:
            with django_capture_on_commit_callbacks(execute=True):
                post_webhook(body)

    return apply


def events(**filters):
    return list(AccountEvent.objects.filter(**filters).values_list("event", flat=True))


def active():
    return list(AccountEvent.objects.active().values_list("event", flat=True))


# Stored once, e-mailed once.


def test_a_redelivered_ban_is_stored_once_and_emailed_once(
    applied, number, django_capture_on_commit_callbacks
):
    body = ban("DISABLE")
    # Meta redelivers the same change alone or batched with others: other bytes, same change.
    batched = account_change({"event": "ACCOUNT_VIOLATION"})
    batched["entry"][0]["changes"].insert(0, body["entry"][0]["changes"][0])

    applied(body, batched, body)
    with django_capture_on_commit_callbacks(execute=True):
        for stored in WebhookEvent.objects.all():
            apply_stored(stored.pk, again=True)  # replay_webhooks does the same
    send_emails()
    send_emails()

    assert sorted(events()) == ["ACCOUNT_VIOLATION", "DISABLED_UPDATE"]
    assert (
        sorted(m.subject for m in mail.outbox)
        == ["[WABA Al Qalam] The WhatsApp business account changed"] * 2
    )
    banned = AccountEvent.objects.get(event="DISABLED_UPDATE")
    assert (banned.waba_id, banned.business_number, banned.occurred_at) == (
        p.WABA_ID,
        None,
        datetime.fromtimestamp(NOW, tz=UTC),
    )
    assert banned.details["ban_info"]["waba_ban_state"] == "DISABLE"


def test_the_email_task_sends_nothing_the_second_time(applied, number):
    applied(ban("DISABLE"))

    event = AccountEvent.objects.get()
    assert deliver(event.pk) == 1
    assert deliver(event.pk) == 0
    assert len(mail.outbox) == 1
    assert event.pk == AccountEvent.objects.get(notified_at__isnull=False).pk


# In force while it lasts.


def test_a_ban_is_in_force_until_a_reinstatement_lifts_it(applied, number):
    applied(ban("SCHEDULE_FOR_DISABLE", at=NOW - 60), ban("DISABLE", at=NOW - 30))
    assert active() == ["DISABLED_UPDATE"]
    assert AccountEvent.objects.active().get().details["ban_info"]["waba_ban_state"] == "DISABLE"

    applied(ban("REINSTATE"))

    assert active() == []
    send_emails()
    assert len(mail.outbox) == 3  # scheduled, disabled, reinstated


def test_an_older_event_delivered_late_neither_lifts_nor_emails(applied, number):
    applied(ban("DISABLE", at=NOW), ban("REINSTATE", at=NOW - 3600))

    assert len(events()) == 2
    assert active() == ["DISABLED_UPDATE"]
    send_emails()
    assert len(mail.outbox) == 1


def test_a_restriction_lasts_until_its_expiration(applied, number):
    expires = NOW + 3600
    applied(restriction(expires))

    assert active() == ["ACCOUNT_RESTRICTION"]
    later = datetime.fromtimestamp(expires + 1, tz=UTC)
    assert list(AccountEvent.objects.active(now=later)) == []


def test_a_review_is_in_force_until_it_approves(applied, number):
    applied(account_change({"decision": "DEFERRED"}, "account_review_update", at=NOW - 60))
    assert active() == ["DEFERRED"]

    applied(account_change({"decision": "APPROVED"}, "account_review_update"))
    assert active() == []


def test_a_number_quality_event_belongs_to_the_number_with_its_display_number(
    applied, number, other_number
):
    applied(quality("FLAGGED", at=NOW - 60))

    flagged = AccountEvent.objects.active().get()
    assert (flagged.kind, flagged.business_number) == ("quality", number)

    applied(quality("UNFLAGGED"))
    assert active() == []


def test_a_lowered_messaging_limit_is_in_force_until_raised_again(applied, number):
    applied(quality("DOWNGRADE", at=NOW - 60, limit="TIER_250"))
    assert active() == ["DOWNGRADE"]

    applied(quality("UPGRADE", limit="TIER_1K"))
    assert active() == []


def test_a_flagged_template_lasts_until_its_disable_date_or_a_later_status(applied, number):
    disable_date = NOW + 7 * 86400
    applied(template_status("FLAGGED", at=NOW - 60, disable_info={"disable_date": disable_date}))

    flagged = AccountEvent.objects.active().get()
    assert (flagged.kind, flagged.ends_at) == (
        "template_status",
        datetime.fromtimestamp(disable_date, tz=UTC),
    )
    assert list(AccountEvent.objects.active(now=flagged.ends_at + timedelta(seconds=1))) == []

    applied(template_status("APPROVED"))
    assert active() == []


def test_a_paused_template_is_in_force_until_reinstated(applied, number):
    applied(template_status("PAUSED", at=NOW - 60), template_status("REINSTATED"))

    assert events(kind="template_status") == ["REINSTATED", "PAUSED"]  # newest first
    assert active() == []


def test_other_account_news_is_history_only(applied, number):
    applied(
        account_change(
            {"event": "PARTNER_ADDED", "waba_info": {"waba_id": p.WABA_ID}}, at=NOW - 60
        ),
        account_change(
            {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}
        ),
    )

    assert sorted(events()) == ["ACCOUNT_VIOLATION", "PARTNER_ADDED"]
    assert active() == []
    send_emails()
    (email,) = mail.outbox  # the violation only
    assert "SCAM" in email.body


# Who is told.


def test_administrators_and_supervisors_of_the_number_are_emailed_and_no_one_else(
    applied, number, other_number, django_user_model
):
    supervisors = Group.objects.get(name="Supervisor")
    agents = Group.objects.get(name="Agent")

    def staff(name, group, numbers=(), language=""):
        user = django_user_model.objects.create_user(
            name, f"{name}@example.org", "x" * 20, is_staff=True
        )
        user.groups.add(group)
        profile = StaffProfile.objects.create(user=user, language=language)
        profile.numbers.add(*numbers)
        return user

    staff("salma", supervisors, [number], language="ar")
    staff("omar", supervisors, [other_number])
    staff("amina", agents)

    applied(quality("FLAGGED"))
    send_emails()

    recipients = sorted(address for email in mail.outbox for address in email.to)
    assert recipients == ["root@example.org", "salma@example.org"]
    bodies = {email.to[0]: email.body for email in mail.outbox}
    # Each in its reader's language: Salma reads Arabic, the administrator the default.
    assert "WhatsApp flagged \u2068" in bodies["root@example.org"]
    assert "low quality" in bodies["root@example.org"]
    assert "وضع واتساب علامة تحذير على الرقم \u2068" in bodies["salma@example.org"]
    assert "لانخفاض جودته" in bodies["salma@example.org"]
    link = f"/admin/messaging/accountevent/{AccountEvent.objects.get().pk}/change/"
    assert all(link in body for body in bodies.values())


def test_an_account_wide_event_reaches_supervisors_of_its_numbers_only(
    applied, number, django_user_model
):
    elsewhere = BusinessNumber.objects.create(
        phone_number_id="333", display_phone_number="15550000333", waba_id="999"
    )
    for name, scope in (("salma", number), ("omar", elsewhere)):
        user = django_user_model.objects.create_user(
            name, f"{name}@example.org", "x" * 20, is_staff=True
        )
        user.groups.add(Group.objects.get(name="Supervisor"))
        StaffProfile.objects.create(user=user).numbers.add(scope)

    applied(ban("DISABLE"))
    send_emails()

    assert sorted(a for email in mail.outbox for a in email.to) == [
        "root@example.org",
        "salma@example.org",
    ]


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_deliveries_of_a_ban_store_one_event_and_email_once(
    settings, django_user_model
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every write, so nothing races")
    django_user_model.objects.create_superuser("root", "root@example.org", None)
    body = ban("DISABLE")
    bodies = [p.encode({**body, "delivery": attempt}) for attempt in range(10)]

    assert post_concurrently(bodies, settings) == [200] * 10
    send_emails()

    assert events() == ["DISABLED_UPDATE"]
    assert len(mail.outbox) == 1
