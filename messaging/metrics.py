"""What /metrics reports (Prometheus text format), read from the database at each scrape.

Gunicorn runs several processes and workers run on other machines, so counters kept in one
process's memory would each see a part: every figure here is a query instead, a fixed number
per scrape (five), all ages by the database's clock. Labels are queue names, states, statuses,
Meta error codes and worker ids/hosts: never anything about people.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Count, DateTimeField, F, Min, Q, When
from django.db.models.functions import Greatest, Now
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from messaging.health import WorkerHeartbeat
from messaging.models import Message, WebhookEvent

# Outbound messages are counted over a recent window (indexed by timestamp): the whole table
# grows for a year, and a count that falls as retention deletes rows would not be a counter.
OUTBOUND_WINDOW = timedelta(hours=1)
# Meta has hundreds of error codes; the most frequent ones get a label each, the rest "other",
# so a burst of odd errors cannot multiply the series Prometheus stores.
MAX_ERROR_CODES = 20
CONTENT_TYPE = CONTENT_TYPE_LATEST


def _seconds(age: timedelta | None) -> float:
    return max(age.total_seconds(), 0.0) if age is not None else 0.0


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._tasks()
        yield from self._webhooks()
        yield from self._outbound()
        yield from self._workers()

    def _tasks(self) -> Iterator[GaugeMetricFamily]:
        # A task is waiting once it may run: from its run_after, or from when it was queued
        # when it had none (django-tasks-db stores "none" as the largest date).
        no_delay = get_date_max()
        waiting = Q(status=TaskResultStatus.READY) & (
            Q(run_after=no_delay) | Q(run_after__lte=Now())
        )
        waiting_since = Case(
            When(run_after=no_delay, then=F("enqueued_at")),
            default=Greatest("enqueued_at", "run_after"),
            output_field=DateTimeField(),
        )
        rows = (
            DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
            )
            .values("queue_name")
            .annotate(
                waiting=Count("id", filter=waiting),
                running=Count("id", filter=Q(status=TaskResultStatus.RUNNING)),
                oldest_age=Now() - Min(waiting_since, filter=waiting),
            )
            .order_by("queue_name")
        )
        depth = GaugeMetricFamily(
            "waba_task_queue_depth", "Tasks ready to run and not yet started", labels=["queue"]
        )
        running = GaugeMetricFamily(
            "waba_task_queue_running", "Tasks a worker is running", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "waba_task_queue_oldest_age_seconds",
            "How long the longest-waiting ready task has waited (0: none waits)",
            labels=["queue"],
        )
        # Configured queues appear with 0 when empty, so an alert can tell "empty" from "gone".
        by_queue = {row["queue_name"]: row for row in rows}
        configured = {queue for backend in settings.TASKS.values() for queue in backend["QUEUES"]}
        for queue in sorted(configured | by_queue.keys()):
            row = by_queue.get(queue)
            depth.add_metric([queue], row["waiting"] if row else 0)
            running.add_metric([queue], row["running"] if row else 0)
            oldest.add_metric([queue], _seconds(row["oldest_age"] if row else None))
        yield from (depth, running, oldest)

    def _webhooks(self) -> Iterator[GaugeMetricFamily]:
        rows = WebhookEvent.objects.values("state").annotate(
            count=Count("id"), oldest_age=Now() - Min("received_at")
        )
        by_state = {row["state"]: row for row in rows}
        bodies = GaugeMetricFamily(
            "waba_webhook_bodies", "Stored webhook bodies by state", labels=["state"]
        )
        for state in WebhookEvent.State.values:
            row = by_state.get(state)
            bodies.add_metric([state], row["count"] if row else 0)
        waiting = by_state.get(WebhookEvent.State.RECEIVED)
        lag = GaugeMetricFamily(
            "waba_webhook_apply_lag_seconds",
            "Age of the oldest stored webhook body not yet applied (0: none waits)",
            value=_seconds(waiting["oldest_age"] if waiting else None),
        )
        yield from (bodies, lag)

    def _outbound(self) -> Iterator[GaugeMetricFamily]:
        recent = Message.objects.filter(
            direction=Message.Direction.OUTBOUND, timestamp__gte=Now() - OUTBOUND_WINDOW
        )
        counts = dict(recent.values_list("status").annotate(count=Count("id")).order_by("status"))
        by_status = GaugeMetricFamily(
            "waba_outbound_messages_last_hour",
            "Outbound messages sent in the last hour, by their current status",
            labels=["status"],
        )
        for status in Message.Status.values:
            if status != Message.Status.RECEIVED:
                by_status.add_metric([status], counts.get(status, 0))
        codes = (
            recent.filter(status=Message.Status.FAILED)
            .values_list("error_code")
            .annotate(count=Count("id"))
            .order_by("-count", "error_code")
        )
        failures = GaugeMetricFamily(
            "waba_outbound_failures_last_hour",
            "Outbound messages of the last hour that failed, by Meta error code "
            f"(the {MAX_ERROR_CODES} most frequent; the rest 'other', none 'none')",
            labels=["error_code"],
        )
        other = 0
        for rank, (code, count) in enumerate(codes):
            if rank < MAX_ERROR_CODES:
                failures.add_metric(["none" if code is None else str(code)], count)
            else:
                other += count
        if other:
            failures.add_metric(["other"], other)
        yield from (by_status, failures)

    def _workers(self) -> Iterator[GaugeMetricFamily]:
        ages = GaugeMetricFamily(
            "waba_worker_last_seen_age_seconds",
            "Time since each task worker last recorded that it was alive",
            labels=["worker", "host"],
        )
        rows = WorkerHeartbeat.objects.annotate(age=Now() - F("last_seen")).order_by("worker_id")
        for worker_id, host, age in rows.values_list("worker_id", "host", "age"):
            ages.add_metric([worker_id, host], _seconds(age))
        yield ages


def render() -> bytes:
    """The current figures in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)
