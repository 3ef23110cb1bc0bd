import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models.functions import Now

from messaging.health import WorkerHeartbeat, beat


# The worker closes connections between tasks, as after each request: no test transaction.
@pytest.mark.django_db(transaction=True)
def test_a_worker_records_that_it_is_alive_when_it_starts():
    call_command(
        "db_worker",
        "--batch",
        "--no-reload",
        "--no-startup-delay",
        "--worker-id=worker-a",
        stdout=io.StringIO(),
    )

    heartbeat = WorkerHeartbeat.objects.get()
    assert heartbeat.worker_id == "worker-a"
    assert heartbeat.pid > 0


@pytest.mark.django_db
def test_a_beat_moves_last_seen_to_the_database_clock_in_one_query(
    django_assert_max_num_queries,
):
    beat("worker-a")
    WorkerHeartbeat.objects.update(last_seen=Now() - timedelta(minutes=3))

    with django_assert_max_num_queries(1):
        beat("worker-a")

    assert WorkerHeartbeat.objects.filter(last_seen__gte=Now() - timedelta(minutes=1)).count() == 1


@pytest.mark.django_db
def test_it_forgets_workers_gone_for_a_day_when_a_new_one_starts():
    beat("gone")
    beat("stopped-lately")
    WorkerHeartbeat.objects.filter(worker_id="gone").update(
        last_seen=Now() - timedelta(days=1, minutes=1)
    )
    WorkerHeartbeat.objects.filter(worker_id="stopped-lately").update(
        last_seen=Now() - timedelta(hours=23)
    )

    beat("new")

    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {
        "stopped-lately",
        "new",
    }
