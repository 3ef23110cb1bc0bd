"""Database-side steps of `make bench`, run by bench/run.py as `python -m bench.ops COMMAND`.

Each command sets Django up with the production settings (config.settings, from the
environment run.py passes) and prints one JSON object on stdout:

- `user NAME PASSWORD`: a staff member in the Supervisor role (not a superuser: permission
  checks run as they do for real staff), to sign in as.
- `info`: what the load needs from the seeded data: the first business number, senders of
  its conversations (webhook bodies come from them), the biggest conversations, row counts.
- `status-targets N`: N outbound messages to post statuses for (wamid, recipient, status).
- `latest-change`: the newest inbox change id (a poll after it has nothing new).
- `prepare-send N NAME`: N staff replies queued the way the inbox queues them (pending rows
  plus send tasks), in conversations whose 24-hour window is open. Other waiting tasks
  (automation runs left by the webhook benchmark) are discarded and the worker's periodic
  maintenance is postponed, so the send benchmark measures sending only.
- `send-stats FIRST LAST`: how the messages with ids FIRST..LAST ended up, and when the first
  and last were accepted.
- `webhook-stats`: stored webhook bodies by state, and why items of failed ones failed.
- `apply-stats SINCE`: the bodies applied since SINCE (ISO time): how many, how many
  messages and statuses they held, and when the first and last were applied.
- `backlog AUTOMATION BODIES`: the queues as a burst leaves them, for
  `reply_latency_under_backlog_ms`: other waiting tasks are discarded, then AUTOMATION real
  `run_automation` tasks (one per inbound text message that automation has not run for,
  newest first, as `messages_received` queues them) and BODIES single-message webhook bodies
  stored and queued as the webhook view does (`messaging.ingest.accept`), from existing
  senders, each with a unique wamid.
- `queue-replies N SECONDS NAME PREFIX`: N staff replies queued the way the inbox queues them
  (`queue_text_reply`, one transaction each, as one request), one every SECONDS / N, in
  conversations whose 24-hour window is open; prints each reply's text (starting with
  PREFIX) with the time (`time.time()`) just before it was queued.
- `queues`: tasks waiting (ready) and running, by queue.
- `discard-waiting`: waiting tasks are discarded (the automation runs the webhook phases
  queued and no worker of theirs ran), so that a phase starts from empty queues.
- `clear-backlog FIRST_BODY`: what `backlog` left: waiting tasks are discarded and the bodies it
  stored from id FIRST_BODY on that are still unapplied are deleted, so that a later run
  (`--keep-db`) starts from empty queues and no body is left stranded.
"""

import json
import os
import sys
import time
from datetime import timedelta


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def command_user(name, password):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _created = get_user_model().objects.update_or_create(
        username=name, defaults={"is_staff": True, "is_active": True, "first_name": "Bench"}
    )
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="Supervisor"))
    return {"user": user.pk}


def command_info():
    from django.db.models import Count

    from messaging.models import BusinessNumber, Contact, Conversation, Message, StatusEvent

    number = BusinessNumber.objects.order_by("pk").first()
    senders = list(
        Contact.objects.filter(conversations__business_number=number, wa_id__isnull=False)
        .order_by("pk")
        .values_list("wa_id", "profile_name")[:3000]
    )
    biggest = list(
        Message.objects.values_list("conversation_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("conversation_id", "n")[:3]
    )
    return {
        "number": {
            "phone_number_id": number.phone_number_id,
            "display_phone_number": number.display_phone_number,
            "waba_id": number.waba_id,
        },
        "senders": senders,
        "big_conversations": biggest,
        "counts": {
            "messages": Message.objects.count(),
            "conversations": Conversation.objects.count(),
            "contacts": Contact.objects.count(),
            "status_events": StatusEvent.objects.count(),
        },
    }


def command_status_targets(count):
    from django.db.models import Case, IntegerField, Value, When

    from messaging.models import Message

    # Messages still short of "read" first (their statuses move them forward), newest first.
    targets = (
        Message.objects.filter(direction="out", wamid__isnull=False)
        .exclude(status="failed")
        .annotate(
            done=Case(When(status="read", then=Value(1)), default=0, output_field=IntegerField())
        )
        .order_by("done", "-pk")
        .values_list("wamid", "status", "conversation__contact__wa_id")[: int(count)]
    )
    following = {"pending": "sent", "sent": "delivered", "delivered": "read", "read": "read"}
    return {
        "targets": [
            [wamid, following.get(status, "read"), wa_id or ""] for wamid, status, wa_id in targets
        ]
    }


def command_latest_change():
    from inbox.services import latest_change_id

    return {"latest_change": latest_change_id()}


def command_prepare_send(count, name):
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.tasks import TaskResultStatus
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from messaging.maintenance import run_maintenance
    from messaging.models import Conversation
    from messaging.sending import queue_text_reply

    count = int(count)
    user = get_user_model().objects.get(username=name)
    now = timezone.now()
    conversations = list(
        Conversation.objects.filter(last_inbound_at__gt=now - timedelta(hours=23))
        .select_related("contact", "business_number")
        .order_by("-last_inbound_at")[:count]
    )
    if not conversations:
        raise SystemExit("no conversation has an open 24-hour window: seed again")
    discarded, _ = DBTaskResult.objects.filter(status=TaskResultStatus.READY).delete()
    # A waiting maintenance run stops each db_worker from scheduling one at start-up.
    run_maintenance.using(run_after=now + timedelta(days=1)).enqueue()
    ids = []
    with transaction.atomic():
        for i in range(count):
            conversation = conversations[i % len(conversations)]
            text = f"Benchmark reply {i}: شكراً لتواصلكم"
            ids.append(queue_text_reply(conversation, user, text).pk)
    return {
        "first": min(ids),
        "last": max(ids),
        "count": len(ids),
        "conversations": len(conversations),
        "discarded_tasks": discarded,
    }


def command_send_stats(first, last):
    from django.db.models import Count, Max, Min

    from messaging.models import Message, SendAttempt

    messages = Message.objects.filter(pk__gte=int(first), pk__lte=int(last), direction="out")
    statuses = dict(
        messages.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    accepted = messages.filter(wamid__isnull=False).aggregate(
        first=Min("status_at"), last=Max("status_at"), count=Count("id")
    )
    attempts = SendAttempt.objects.filter(message__in=messages).count()
    return {
        "statuses": statuses,
        "accepted": accepted["count"],
        "first_accepted": accepted["first"].timestamp() if accepted["first"] else None,
        "last_accepted": accepted["last"].timestamp() if accepted["last"] else None,
        "attempts": attempts,
    }


def command_webhook_stats():
    from django.db.models import Count

    from messaging.models import WebhookEvent

    rows = WebhookEvent.objects.values_list("state").annotate(n=Count("id"))
    failed = WebhookEvent.objects.filter(state=WebhookEvent.State.FAILED)
    reasons = {}
    for error in failed.values_list("error", flat=True).iterator():
        for line in error.splitlines():
            reason = line.rsplit(": ", 1)[-1]  # "<item path>: <exception type>"
            reasons[reason] = reasons.get(reason, 0) + 1
    return {"states": dict(rows.values_list("state", "n")), "failed_items": reasons}


def command_apply_stats(since):
    from django.db.models import Max, Min
    from django.utils.dateparse import parse_datetime
    from django_tasks_db.models import DBTaskResult

    from messaging.ingest import apply_stored_webhook
    from messaging.models import WebhookEvent

    applied = WebhookEvent.objects.filter(processed_at__gte=parse_datetime(since))
    items = 0
    for summary in applied.values_list("summary", flat=True).iterator():
        events = summary.get("events", {})
        items += events.get("InboundMessage", 0) + events.get("StatusUpdate", 0)
    span = applied.aggregate(last=Max("processed_at"))
    # From the first apply task a worker took, not the first body applied: a task applies
    # up to a hundred bodies together, and the first of them is recorded when all are done.
    started = DBTaskResult.objects.filter(
        task_path=apply_stored_webhook.module_path, started_at__gte=parse_datetime(since)
    ).aggregate(first=Min("started_at"))
    span["first"] = started["first"] or applied.aggregate(first=Min("processed_at"))["first"]
    return {
        "bodies": applied.count(),
        "items": items,
        "first": span["first"].timestamp() if span["first"] else None,
        "last": span["last"].timestamp() if span["last"] else None,
        "waiting": WebhookEvent.objects.filter(state=WebhookEvent.State.RECEIVED).count(),
    }


def command_backlog(automation, bodies):
    from django.db import transaction
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from automation.engine import run_automation
    from automation.models import AutomationRun
    from messaging import payloads as p
    from messaging.ingest import accept
    from messaging.models import BusinessNumber, Contact, Message

    discarded, _ = DBTaskResult.objects.filter(status=TaskResultStatus.READY).delete()
    message_ids = list(
        Message.objects.filter(direction=Message.Direction.INBOUND, type="text")
        .exclude(pk__in=AutomationRun.objects.values("message_id"))
        .order_by("-pk")
        .values_list("pk", flat=True)[: int(automation)]
    )
    with transaction.atomic():
        for message_id in message_ids:
            run_automation.enqueue(message_id)
    number = BusinessNumber.objects.order_by("pk").first()
    senders = list(
        Contact.objects.filter(conversations__business_number=number, wa_id__isnull=False)
        .order_by("pk")
        .values_list("wa_id", "profile_name")[:3000]
    )
    now = int(time.time())
    stored = []
    for n in range(int(bodies)):
        wa_id, name = senders[n % len(senders)]
        body = p.envelope(
            p.value(
                phone_number_id=number.phone_number_id,
                display_phone_number=number.display_phone_number,
                contacts=[p.contact(wa_id=wa_id, name=name or None)],
                messages=[p.text_message(f"Backlog message {n}", sender=wa_id, timestamp=now)],
            ),
            waba_id=number.waba_id or p.WABA_ID,
        )
        stored.append(accept(p.encode(body)).pk)
    return {
        "discarded_tasks": discarded,
        "automation_tasks": len(message_ids),
        "bodies": len(stored),
        "first_body": min(stored, default=None),
    } | command_queues()


def command_queue_replies(count, seconds, name, prefix):
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from messaging.models import Conversation
    from messaging.sending import queue_text_reply

    count, spacing = int(count), float(seconds) / int(count)
    user = get_user_model().objects.get(username=name)
    conversations = list(
        Conversation.objects.filter(last_inbound_at__gt=timezone.now() - timedelta(hours=23))
        .select_related("contact", "business_number")
        .order_by("-last_inbound_at")[:count]
    )
    if not conversations:
        raise SystemExit("no conversation has an open 24-hour window: seed again")
    queued = {}
    started = time.monotonic()
    for i in range(count):
        time.sleep(max(0.0, started + i * spacing - time.monotonic()))
        text = f"{prefix} {i}: thank you for writing"
        queued[text] = time.time()
        with transaction.atomic():
            queue_text_reply(conversations[i % len(conversations)], user, text)
    return {"queued": queued, "conversations": len(conversations)}


def command_queues():
    from django.db.models import Count
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    rows = (
        DBTaskResult.objects.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        .values_list("queue_name", "status")
        .annotate(n=Count("id"))
    )
    waiting, running = {}, {}
    for queue, status, n in rows:
        (waiting if status == TaskResultStatus.READY else running)[queue] = n
    return {"waiting": waiting, "running": running}


def command_discard_waiting():
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    discarded, _ = DBTaskResult.objects.filter(status=TaskResultStatus.READY).delete()
    return {"discarded_tasks": discarded}


def command_clear_backlog(first_body):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from messaging.models import WebhookEvent

    discarded, _ = DBTaskResult.objects.filter(status=TaskResultStatus.READY).delete()
    deleted, _ = WebhookEvent.objects.filter(
        pk__gte=int(first_body), state=WebhookEvent.State.RECEIVED
    ).delete()
    return {"discarded_tasks": discarded, "deleted_bodies": deleted}


COMMANDS = {
    "apply-stats": command_apply_stats,
    "backlog": command_backlog,
    "clear-backlog": command_clear_backlog,
    "discard-waiting": command_discard_waiting,
    "queue-replies": command_queue_replies,
    "queues": command_queues,
    "user": command_user,
    "info": command_info,
    "status-targets": command_status_targets,
    "latest-change": command_latest_change,
    "prepare-send": command_prepare_send,
    "send-stats": command_send_stats,
    "webhook-stats": command_webhook_stats,
}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit(f"usage: python -m bench.ops {{{','.join(COMMANDS)}}} [arguments]")
    setup()
    result = COMMANDS[argv[0]](*argv[1:])
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
