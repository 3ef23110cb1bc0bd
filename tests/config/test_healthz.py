from datetime import timedelta

import pytest
from django.db.models.functions import Now


@pytest.mark.django_db
def test_it_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_reports_503_when_the_database_is_unreachable(client, unreachable_database):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


@pytest.mark.django_db
def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.fixture
def strict_health(settings):
    """/healthz with its worker (5 minutes) and backlog (10 minutes) checks on."""
    settings.HEALTHZ_WORKER_MINUTES = 5
    settings.HEALTHZ_WEBHOOK_BACKLOG_MINUTES = 10
    return settings


def seen(worker_id, minutes_ago):
    from messaging.health import WorkerHeartbeat, beat

    beat(worker_id)
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        last_seen=Now() - timedelta(minutes=minutes_ago)
    )


def waiting_webhook(minutes_ago, state="received"):
    from messaging.models import WebhookEvent

    event = WebhookEvent.objects.create(
        body=b"{}", body_sha256=f"{minutes_ago}{state}", state=state
    )
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=Now() - timedelta(minutes=minutes_ago)
    )


@pytest.mark.django_db
def test_it_reports_ok_when_a_worker_was_seen_lately_and_no_webhook_waits_long(
    client, strict_health, django_assert_max_num_queries
):
    seen("worker-a", minutes_ago=4)
    waiting_webhook(minutes_ago=9)
    waiting_webhook(minutes_ago=60, state="processed")

    with django_assert_max_num_queries(3):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_it_reports_503_when_every_worker_stopped_longer_ago_than_the_setting(
    client, strict_health
):
    seen("worker-a", minutes_ago=6)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "workers": "no worker seen for 5 minutes"}


@pytest.mark.django_db
def test_it_reports_503_when_no_worker_was_ever_seen(client, strict_health):
    assert client.get("/healthz").status_code == 503


@pytest.mark.django_db
def test_it_reports_503_when_a_webhook_waits_longer_than_the_setting(
    client, strict_health, django_assert_max_num_queries
):
    seen("worker-a", minutes_ago=0)
    waiting_webhook(minutes_ago=11)

    with django_assert_max_num_queries(3):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "webhooks": "a webhook has waited over 10 minutes",
    }


@pytest.mark.django_db
def test_a_worker_that_stops_turns_it_to_503_within_the_configured_time(client, strict_health):
    from messaging.health import WorkerHeartbeat, beat

    beat("worker-a")
    assert client.get("/healthz").status_code == 200

    # The worker stops: its last beat ages past the setting (by the database's clock).
    WorkerHeartbeat.objects.update(last_seen=Now() - timedelta(minutes=5, seconds=1))

    assert client.get("/healthz").status_code == 503
