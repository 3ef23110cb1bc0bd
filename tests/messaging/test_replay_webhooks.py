import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from messaging import payloads as p
from messaging.ingest import receive
from messaging.models import Message, WebhookEvent

pytestmark = pytest.mark.django_db


def text_body(wamid):
    return p.encode(
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=p.USER_WA_ID)],
                messages=[p.text_message("hi", wamid=wamid)],
            )
        )
    )


def replay(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("replay_webhooks", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_by_default_it_reapplies_every_failed_event(message_insert_failure):
    message_insert_failure.start()
    failed = [receive(text_body(f"wamid.{i}")) for i in range(3)]
    message_insert_failure.stop()
    receive(text_body("wamid.ok"))

    out, _ = replay()

    assert "Re-applied 3 webhook event(s); 0 still failing." in out
    assert Message.objects.count() == 4
    assert {e.state for e in WebhookEvent.objects.filter(pk__in=[e.pk for e in failed])} == {
        WebhookEvent.State.PROCESSED
    }


def test_it_reports_events_that_still_fail(message_insert_failure):
    message_insert_failure.start()
    event = receive(text_body("wamid.1"))

    out, err = replay()

    assert "1 still failing" in out
    assert f"event {event.pk} still fails" in err
    assert "messages[0]: " in err  # where, and the exception type: never the content


def test_it_replays_chosen_ids_in_any_state_without_duplicating():
    event = receive(text_body("wamid.1"))

    replay(str(event.pk))
    replay(str(event.pk))

    assert Message.objects.count() == 1
    event.refresh_from_db()
    assert event.attempts == 3


def test_it_selects_by_time_range(message_insert_failure):
    message_insert_failure.start()
    old = receive(text_body("wamid.old"))
    new = receive(text_body("wamid.new"))
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=3))
    message_insert_failure.stop()

    replay("--since", (timezone.now() - timedelta(days=1)).isoformat())

    assert list(Message.objects.values_list("wamid", flat=True)) == ["wamid.new"]
    assert WebhookEvent.objects.get(pk=old.pk).state == WebhookEvent.State.FAILED
    assert WebhookEvent.objects.get(pk=new.pk).state == WebhookEvent.State.PROCESSED


def test_it_selects_events_received_before_a_moment_with_until(message_insert_failure):
    message_insert_failure.start()
    old = receive(text_body("wamid.old"))
    new = receive(text_body("wamid.new"))
    cutoff = timezone.now() - timedelta(days=1)
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=cutoff - timedelta(days=2))
    WebhookEvent.objects.filter(pk=new.pk).update(received_at=cutoff)  # "before" excludes it
    message_insert_failure.stop()

    out, _ = replay("--until", cutoff.isoformat())

    assert "Re-applied 1 webhook event(s); 0 still failing." in out
    assert list(Message.objects.values_list("wamid", flat=True)) == ["wamid.old"]
    assert WebhookEvent.objects.get(pk=new.pk).state == WebhookEvent.State.FAILED


def test_it_says_so_when_nothing_matches():
    out, _ = replay()

    assert "No webhook events match." in out


def test_it_rejects_a_malformed_date():
    with pytest.raises(CommandError, match="Not a date"):
        replay("--since", "yesterday-ish")
