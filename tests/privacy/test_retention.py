"""Retention (privacy.retention): content redacted at N days, rows gone at M, raw webhook
bodies at K, and the rest; on a frozen clock (`now` is passed in, nothing is mocked)."""

import logging
import os
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.sessions.models import Session
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.tasks import TaskResultStatus
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from automation.labels import add_label
from automation.maintenance import automation_upkeep
from automation.models import (
    AutomationRun,
    AutoReplyClaim,
    ConversationPriority,
    Label,
    Note,
    StaffNotification,
    WaitAlert,
)
from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import (
    BusinessNumber,
    Contact,
    Conversation,
    InboxChange,
    Message,
    SendAttempt,
    StatusEvent,
    WebhookEvent,
)
from messaging.uploads import store_upload
from privacy.models import AuditEvent, DeletionRequest, ErasureTombstone
from privacy.retention import daily_retention, purge_expired, redacted_data
from tests.storage_support import keys_in

pytestmark = pytest.mark.django_db

N, M, K = 30, 60, 7  # content, metadata, raw webhook days in these tests
R = 100  # handled deletion requests and tombstones
# The frozen "now" of a run: well after the rows below were written (created_at and
# updated_at are the real clock), so that only Meta's timestamps decide.
LATER = timedelta(days=M + 5)


@pytest.fixture(autouse=True)
def _periods(settings):
    settings.RETENTION_CONTENT_DAYS = N
    settings.RETENTION_METADATA_DAYS = M
    settings.RETENTION_WEBHOOK_DAYS = K
    settings.RETENTION_TASK_RESULTS_DAYS = 7
    settings.RETENTION_AUDIT_DAYS = 365
    settings.RETENTION_DELETION_REQUESTS_DAYS = R


@pytest.fixture
def now():
    return timezone.now() + LATER


def deliver(*items, sender=p.USER_WA_ID, name="Layla Haddad", user_id=None):
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=sender, user_id=user_id, name=name)],
                    messages=list(items),
                )
            )
        )
    )


def text_at(now, age, text="Secret text", *, sender=p.USER_WA_ID, **options):
    """An inbound text whose Meta timestamp is `age` before `now`."""
    wamid = p.new_wamid()
    deliver(
        p.text_message(text, wamid=wamid, timestamp=now - age, sender=sender),
        sender=sender,
        **options,
    )
    return Message.objects.get(wamid=wamid)


def outbound(conversation, at, text="Our reply", status="read", **fields):
    return Message.objects.create(
        conversation=conversation,
        direction="out",
        type=fields.pop("type", "text"),
        wamid=fields.pop("wamid", p.new_wamid()),
        timestamp=at,
        text=text,
        status=status,
        **fields,
    )


# Content.


def test_content_is_redacted_after_n_days_and_metadata_stays(now):
    old = text_at(now, timedelta(days=N, minutes=1), "Old secret")
    young = text_at(now, timedelta(days=N) - timedelta(minutes=1), "Young secret")

    counts = purge_expired(now)

    old.refresh_from_db()
    young.refresh_from_db()
    assert counts["content_redacted"] == 1
    assert (old.text, old.data, old.reactions) == ("", {"redacted": True}, {})
    assert old.content_redacted_at == now
    assert old.wamid
    assert old.type == "text"
    assert old.status == "received"
    assert old.timestamp
    assert young.text == "Young secret"
    assert young.content_redacted_at is None


def test_redaction_keeps_only_facts_about_the_message(now):
    age = timedelta(days=N + 1)
    deliver(
        p.media_message(
            "document",
            caption="Passport scan",
            filename="passport-layla.pdf",
            mime_type="application/pdf",
            timestamp=now - age,
        ),
        p.media_message("audio", voice=True, timestamp=now - age),
        p.location_message(24.7, 46.7, name="Home", address="12 Palm St", timestamp=now - age),
        p.interactive_reply("yes", "Yes please", timestamp=now - age),
    )
    document = Message.objects.get(type="document")
    Message.objects.filter(pk=document.pk).update(reactions={"contact": "👍", "business": "❤️"})

    purge_expired(now)

    by_type = {m.type: m for m in Message.objects.all()}
    assert by_type["document"].data == {"mime_type": "application/pdf", "redacted": True}
    assert by_type["document"].text == ""
    assert by_type["document"].reactions == {}
    assert by_type["audio"].data == {
        "mime_type": "audio/ogg; codecs=opus",
        "voice": True,
        "redacted": True,
    }
    assert by_type["location"].data == {"redacted": True}
    assert by_type["interactive"].data == {"interactive_type": "button_reply", "redacted": True}
    assert by_type["interactive"].text == ""


def test_a_sent_template_keeps_which_template_it_was_not_the_values():
    data = {
        "template": {
            "id": 3,
            "name": "order_update",
            "language": "ar",
            "category": "UTILITY",
            "values": {"1": "Layla"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Layla"}]}],
        },
        "referral": {"headline": "Ad"},
        "forwarded": True,
    }

    assert redacted_data(data) == {
        "template": {"name": "order_update", "language": "ar", "category": "UTILITY"},
        "forwarded": True,
        "redacted": True,
    }
    assert redacted_data(None) == {"redacted": True}


def test_outbound_content_is_redacted_too_but_not_while_waiting_to_be_sent(now):
    inbound = text_at(now, timedelta(days=N + 5))
    sent = outbound(inbound.conversation, now - timedelta(days=N + 1))
    waiting = outbound(
        inbound.conversation, now - timedelta(days=N + 1), status="pending", wamid=None
    )

    purge_expired(now)

    sent.refresh_from_db()
    waiting.refresh_from_db()
    assert sent.text == ""
    assert sent.content_redacted_at == now
    assert sent.status == "read"
    assert waiting.text == "Our reply"
    assert waiting.content_redacted_at is None


def test_a_late_reaction_does_not_put_content_back_on_a_redacted_message(now):
    old = text_at(now, timedelta(days=N + 1))
    purge_expired(now)

    deliver(p.reaction_message(old.wamid, "👍"))

    old.refresh_from_db()
    assert old.reactions == {}


# Rows.


def test_messages_and_their_statuses_are_deleted_after_m_days(now):
    old = text_at(now, timedelta(days=M + 2))
    conversation = old.conversation
    reply = outbound(conversation, now - timedelta(days=M, minutes=1))
    StatusEvent.objects.create(
        wamid=reply.wamid, message=reply, status="delivered", timestamp=reply.timestamp
    )
    SendAttempt.objects.create(message=reply, number=1, outcome="accepted")
    recent = text_at(now, timedelta(days=M) - timedelta(minutes=1))
    StatusEvent.objects.create(  # never matched a message of ours
        wamid="wamid.stranger", status="sent", timestamp=now - timedelta(days=M + 1)
    )

    counts = purge_expired(now)

    assert list(Message.objects.all()) == [recent]
    assert not StatusEvent.objects.exists()
    assert not SendAttempt.objects.exists()
    assert counts["messages"] == 2
    assert counts["status_events"] == 2
    assert Conversation.objects.filter(pk=conversation.pk).exists()  # it still has `recent`


def test_conversations_and_contacts_left_empty_go_too(now):
    gone = text_at(now, timedelta(days=M + 1), sender="966500000001", name="Gone Person")
    kept = text_at(now, timedelta(days=1), sender="966500000002", name="Kept Person")

    counts = purge_expired(now)

    assert not Conversation.objects.filter(pk=gone.conversation_id).exists()
    assert not Contact.objects.filter(wa_id="966500000001").exists()
    assert Contact.objects.filter(wa_id="966500000002").exists()
    assert Conversation.objects.filter(pk=kept.conversation_id).exists()
    assert counts["conversations"] == 1
    assert counts["contacts"] == 1
    assert BusinessNumber.objects.exists()  # the organisation's numbers are not personal data


def test_a_contact_with_an_open_deletion_request_is_left_for_erasure(now):
    message = text_at(now, timedelta(days=M + 1))
    contact = message.conversation.contact
    DeletionRequest.objects.create(contact=contact, phone=contact.wa_id, channel="email")

    purge_expired(now)

    assert not Message.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()

    DeletionRequest.objects.update(status="rejected", rejection_reason="Not the account holder")
    purge_expired(now)

    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_raw_webhook_bodies_are_deleted_after_k_days(now):
    text_at(now, timedelta(days=1))
    text_at(now, timedelta(days=1), sender="966500000003")
    old, young = WebhookEvent.objects.order_by("pk")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=now - timedelta(days=K, minutes=1))
    WebhookEvent.objects.filter(pk=young.pk).update(received_at=now - timedelta(days=K - 1))

    counts = purge_expired(now)

    assert list(WebhookEvent.objects.all()) == [young]
    assert counts["webhook_events"] == 1
    assert Message.objects.count() == 2  # what the bodies brought stays, under its own periods


def test_task_results_audit_events_login_records_sessions_and_inbox_changes(now):
    finished = now - timedelta(days=8)
    for status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED, TaskResultStatus.READY):
        DBTaskResult.objects.create(
            status=status,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="messaging.tasks.send_message",
            backend_name="default",
            run_after=finished,
            finished_at=None if status == TaskResultStatus.READY else finished,
        )
    fresh = DBTaskResult.objects.create(
        status=TaskResultStatus.SUCCESSFUL,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="messaging.tasks.send_message",
        backend_name="default",
        run_after=now,
        finished_at=now - timedelta(days=6),
    )
    AuditEvent.objects.create(action="view", at=now - timedelta(days=366))
    recent_audit = AuditEvent.objects.create(action="view", at=now - timedelta(days=364))
    for model in (AccessLog, AccessAttempt):
        extra = {"get_data": "", "post_data": "", "failures_since_start": 1}
        row = model.objects.create(
            username="amina",
            ip_address="10.0.0.1",
            user_agent="test",
            http_accept="*/*",
            path_info="/accounts/login/",
            **(extra if model is AccessAttempt else {}),
        )
        model.objects.filter(pk=row.pk).update(attempt_time=now - timedelta(days=366))
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="y" * 32, session_data="", expire_date=now + timedelta(1))
    message = text_at(now, timedelta(days=1))
    InboxChange.objects.update(created_at=now - timedelta(days=2))
    new_change = InboxChange.objects.create(conversation=message.conversation)
    InboxChange.objects.filter(pk=new_change.pk).update(created_at=now - timedelta(hours=1))

    counts = purge_expired(now)

    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {
        TaskResultStatus.READY,
        TaskResultStatus.SUCCESSFUL,
    }
    assert DBTaskResult.objects.filter(pk=fresh.pk).exists()
    assert counts["task_results"] == 2
    assert set(AuditEvent.objects.exclude(action="retention")) == {recent_audit}
    assert not AccessLog.objects.exists()
    assert not AccessAttempt.objects.exists()
    assert counts["login_records"] == 2
    assert list(Session.objects.values_list("session_key", flat=True)) == ["y" * 32]
    assert list(InboxChange.objects.all()) == [new_change]


def test_handled_deletion_requests_and_tombstones_go_after_their_period(now):
    def closed(status, days_ago, **fields):
        when = now - timedelta(days=days_ago)
        return DeletionRequest.objects.create(
            channel="email", status=status, received_at=when, completed_at=when, **fields
        )

    old_done = closed("completed", R + 1, erased={"messages": 3})
    old_rejected = closed("rejected", R + 1, phone="966500000009", rejection_reason="Not them")
    young_done = closed("completed", R - 1)
    long_open = DeletionRequest.objects.create(
        channel="email", phone="966500000008", received_at=now - timedelta(days=R + 50)
    )
    old_stone = ErasureTombstone.objects.create(
        id_hash="a" * 64, deletion_request=old_done, erased_at=now - timedelta(days=R + 1)
    )
    young_stone = ErasureTombstone.objects.create(
        id_hash="b" * 64, deletion_request=young_done, erased_at=now - timedelta(days=R - 1)
    )

    counts = purge_expired(now)

    assert set(DeletionRequest.objects.all()) == {young_done, long_open}
    assert list(ErasureTombstone.objects.all()) == [young_stone]
    assert (counts["deletion_requests"], counts["tombstones"]) == (2, 1)
    assert not DeletionRequest.objects.filter(pk__in=[old_done.pk, old_rejected.pk]).exists()
    assert not ErasureTombstone.objects.filter(pk=old_stone.pk).exists()


def test_a_request_closed_without_a_completion_time_counts_from_its_receipt(now):
    DeletionRequest.objects.create(
        channel="email", status="completed", received_at=now - timedelta(days=R + 1)
    )

    assert purge_expired(now)["deletion_requests"] == 1


def test_notes_and_staff_notifications_go_after_the_content_period(now, staff_user):
    conversation = text_at(now, timedelta(days=1)).conversation
    old = Note.objects.create(
        conversation=conversation,
        author=staff_user,
        text="Layla's sister called",
        created_at=now - timedelta(days=N, minutes=1),
    )
    old.mentions.add(staff_user)
    young = Note.objects.create(
        conversation=conversation,
        author=staff_user,
        text="recent",
        created_at=now - timedelta(days=N) + timedelta(minutes=1),
    )
    for age in (timedelta(days=N, minutes=1), timedelta(days=N - 1)):
        StaffNotification.objects.create(
            user=staff_user, kind="assigned", conversation=conversation, created_at=now - age
        )

    counts = purge_expired(now)

    assert list(Note.objects.all()) == [young]
    assert StaffNotification.objects.get().created_at == now - timedelta(days=N - 1)
    assert (counts["notes"], counts["note_mentions"], counts["staff_notifications"]) == (1, 1, 1)


def test_waiting_alerts_go_once_automation_no_longer_looks_at_the_wait(now):
    conversation = text_at(now, timedelta(days=1)).conversation
    WaitAlert.objects.create(
        conversation=conversation, waiting_since=now - timedelta(days=8, minutes=1)
    )
    kept = WaitAlert.objects.create(
        conversation=conversation, waiting_since=now - timedelta(days=7)
    )

    counts = purge_expired(now)

    assert list(WaitAlert.objects.all()) == [kept]
    assert counts["wait_alerts"] == 1


def test_what_goes_with_a_deleted_conversation_is_counted_by_kind(now, staff_user):
    message = text_at(now, timedelta(days=M + 1))
    conversation = message.conversation
    AutomationRun.objects.create(message=message)
    AutoReplyClaim.objects.create(conversation=conversation, kind="greeting", message=message)
    add_label(conversation, Label.objects.create(name="VIP"))
    ConversationPriority.objects.create(conversation=conversation, level=2)

    counts = purge_expired(now)

    assert not Conversation.objects.exists()
    assert counts == counts | {
        "automation_runs": 1,
        "auto_reply_claims": 1,
        "conversation_labels": 1,
        "conversation_priorities": 1,
    }
    assert not any("." in key for key in counts)  # every kind has its name


def test_automation_upkeep_leaves_retention_to_the_retention_run(now, staff_user):
    conversation = text_at(now, timedelta(days=1)).conversation
    Note.objects.create(
        conversation=conversation,
        author=staff_user,
        text="old",
        created_at=timezone.now() - timedelta(days=N + 1),
    )

    counts = automation_upkeep()

    assert Note.objects.exists()
    assert set(counts) == {"auto_close", "alert_waiting"}


def test_tasks_that_will_never_finish_go_after_thirty_days_but_scheduled_ones_stay(now):
    def task(status, enqueued_days_ago, **fields):
        row = DBTaskResult.objects.create(
            status=status,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="messaging.tasks.send_message",
            backend_name="default",
            **{"run_after": get_date_max(), **fields},
        )
        DBTaskResult.objects.filter(pk=row.pk).update(
            enqueued_at=now - timedelta(days=enqueued_days_ago)
        )
        return row.pk

    gone = {
        task("READY", 31),  # due at once, never picked up
        task("READY", 60, run_after=now - timedelta(days=31)),
        task("RUNNING", 40, started_at=now - timedelta(days=31)),  # its worker died
    }
    kept = {
        task("READY", 29),
        task("READY", 60, run_after=now - timedelta(days=29)),  # due recently
        task("READY", 60, run_after=now + timedelta(days=30)),  # scheduled for later
        task("RUNNING", 40, started_at=now - timedelta(days=29)),
    }

    counts = purge_expired(now)

    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == kept
    assert counts["task_results"] == len(gone)


# Runs.


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (Message, Conversation, Contact, StatusEvent, WebhookEvent)
    ]


def test_running_twice_changes_nothing_more(now):
    text_at(now, timedelta(days=M + 1), sender="966500000001")
    text_at(now, timedelta(days=N + 1), sender="966500000002")
    text_at(now, timedelta(days=1), sender="966500000003")
    WebhookEvent.objects.update(received_at=now - timedelta(days=K + 1))

    first = purge_expired(now)
    after_first = snapshot()
    second = purge_expired(now)

    assert first["content_redacted"] == 1
    assert first["messages"] == 1
    assert not any(second.values()), second
    assert snapshot() == after_first


def test_it_works_in_small_batches_and_reports_progress(now):
    for number in range(5):
        text_at(now, timedelta(days=N + 1), sender=f"96650000001{number}")
    steps = []

    counts = purge_expired(
        now, batch_size=2, progress=lambda step, done: steps.append((step, done))
    )

    assert counts["content_redacted"] == 5
    assert [done for step, done in steps if step == "content_redacted"] == [2, 4, 5]
    assert not Message.objects.filter(content_redacted_at__isnull=True).exists()


def test_each_run_is_audited_and_logged_with_counts_only(now, caplog):
    text_at(now, timedelta(days=N + 1), "Layla's secret plan")
    caplog.set_level(logging.INFO, logger="privacy.retention")

    counts = purge_expired(now)

    event = AuditEvent.objects.get(action="retention")
    assert event.details == counts
    assert event.at == now
    assert event.actor is None
    assert "content_redacted 1" in caplog.text
    assert "secret" not in caplog.text
    assert "Layla" not in caplog.text


def test_the_daily_job_runs_once_a_day(now):
    assert daily_retention(now) is not None
    assert daily_retention(now + timedelta(hours=23, minutes=59)) is None
    assert daily_retention(now + timedelta(days=1)) is not None
    assert AuditEvent.objects.filter(action="retention").count() == 2


# The inbox.


def test_the_inbox_shows_redacted_messages_as_removed_under_retention_policy(
    client, staff_user, now
):
    message = text_at(now, timedelta(days=N + 1), "Layla's private words")
    purge_expired(now)
    staff_client = client
    client.force_login(staff_user)  # after the run: it also clears sessions expired by `now`

    conversation_html = staff_client.get(
        reverse("inbox:conversation", args=[message.conversation_id])
    ).content.decode()
    list_html = staff_client.get(reverse("inbox:index")).content.decode()

    assert "content removed under retention policy" in conversation_html
    assert "content removed under retention policy" in list_html
    assert "private words" not in conversation_html + list_html


def test_the_media_of_a_redacted_message_is_gone(client, staff_user, now):
    deliver(p.media_message("image", caption="Me", timestamp=now - timedelta(days=N + 1)))
    image = Message.objects.get(type="image")
    purge_expired(now)
    client.force_login(staff_user)

    assert client.get(reverse("inbox:media", args=[image.pk])).status_code == 404


# Settings.

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "config" / "settings.py"


@pytest.fixture
def load_settings(monkeypatch):
    def load(**env):
        monkeypatch.setenv("ENV_FILE", "")
        monkeypatch.setenv("DEBUG", "on")
        for name in list(os.environ):
            if name.startswith("RETENTION_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_the_defaults(load_settings):
    loaded = load_settings()

    assert loaded["RETENTION_CONTENT_DAYS"] == 90
    assert loaded["RETENTION_METADATA_DAYS"] == 365
    assert loaded["RETENTION_WEBHOOK_DAYS"] == 7
    assert loaded["RETENTION_TASK_RESULTS_DAYS"] == 7
    assert loaded["RETENTION_AUDIT_DAYS"] == 730
    assert loaded["RETENTION_DELETION_REQUESTS_DAYS"] == 365


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"RETENTION_CONTENT_DAYS": "0"}, "at least 1"),
        ({"RETENTION_AUDIT_DAYS": "a year"}, "whole number"),
        ({"RETENTION_CONTENT_DAYS": "400"}, r"RETENTION_METADATA_DAYS \(365\) must be at least"),
        ({"RETENTION_WEBHOOK_DAYS": "30", "RETENTION_CONTENT_DAYS": "14"}, "must not exceed"),
        (
            {"RETENTION_DELETION_REQUESTS_DAYS": "13"},
            r"RETENTION_DELETION_REQUESTS_DAYS \(13\) must be at least RETENTION_WEBHOOK_DAYS \+ 7",
        ),
    ],
)
def test_bad_periods_stop_the_start(load_settings, env, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        load_settings(**env)


def test_overridden_settings_are_checked(settings):
    settings.RETENTION_METADATA_DAYS = 10  # below content (30)
    settings.RETENTION_WEBHOOK_DAYS = 31
    settings.RETENTION_DELETION_REQUESTS_DAYS = 37  # below webhook + 7

    ids = {message.id for message in run_checks()}

    assert {"privacy.E002", "privacy.E003", "privacy.E004"} <= ids


def test_the_admin_index_shows_the_periods(client, django_user_model, settings):
    settings.RETENTION_CONTENT_DAYS = 45
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    client.force_login(admin)

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="retention-settings"' in html
    assert "removed 45 days after the message" in html
    assert "deleted 60 days after the message" in html
    assert "deleted 45 days after they were written" in html
    assert "deleted 100 days after the request was closed" in html
    assert "Empty (PRIVACY_CONTACT)" in html


def test_attachment_files_left_behind_are_deleted_after_a_day(settings, now):
    outbox = settings.MEDIA_ROOT / "outbox-media"
    outbox.mkdir(parents=True)
    stale, fresh = outbox / "stale", outbox / "fresh"
    stale.write_bytes(b"%PDF-")
    fresh.write_bytes(b"%PDF-")
    # Times on the run's clock (`now`, two months ahead of the real one).
    for path, age in ((stale, timedelta(days=1, minutes=1)), (fresh, timedelta(hours=23))):
        os.utime(path, ((now - age).timestamp(), (now - age).timestamp()))

    counts = purge_expired(now)

    assert counts["uploads"] == 1
    assert not stale.exists()
    assert fresh.exists()


def test_attachment_files_left_in_a_shared_bucket_are_deleted_whichever_machine_wrote_them(
    s3_storage, s3_bucket, settings, tmp_path, now
):
    for machine in ("web-1", "web-2"):
        settings.MEDIA_ROOT = tmp_path / machine
        store_upload(SimpleUploadedFile("form.pdf", b"%PDF-", content_type="application/pdf"))
    assert len(keys_in(s3_bucket, s3_storage)) == 2

    counts = purge_expired(now)  # two months on: both are left over

    assert counts["uploads"] == 2
    assert keys_in(s3_bucket, s3_storage) == []
