"""/metrics: Prometheus figures read from the database (messaging.metrics), for configured
networks or a bearer token only (config.views.may_scrape)."""

from datetime import timedelta

import pytest
from django.db.models.functions import Now
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging import payloads as p
from messaging.health import WorkerHeartbeat, beat
from messaging.ingest import accept
from messaging.models import Message, WebhookEvent

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scrapers(settings):
    """Prometheus in 10.9.0.0/16, behind a proxy at 10.0.0.1; or anywhere with the token."""
    settings.METRICS_ALLOWED_NETWORKS = ["10.9.0.0/16"]
    settings.METRICS_TOKEN = TOKEN
    settings.TRUSTED_PROXIES = ["10.0.0.1/32"]
    return settings


def scrape(client, **extra):
    return client.get("/metrics", **extra)


def figures(response):
    """{'name{labels}': value} of a Prometheus text body."""
    lines = response.content.decode().splitlines()
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in lines
        if line and not line.startswith("#")
    }


def test_it_does_not_exist_unless_networks_or_a_token_are_configured(client):
    assert scrape(client, REMOTE_ADDR="127.0.0.1").status_code == 404


def test_it_refuses_other_networks_without_the_right_token(client, scrapers):
    assert scrape(client, REMOTE_ADDR="203.0.113.5").status_code == 403
    assert (
        scrape(
            client, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer not-the-token"
        ).status_code
        == 403
    )
    assert scrape(client, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION=TOKEN).status_code == 403


def test_it_believes_forwarded_addresses_only_from_trusted_proxies(client, scrapers):
    through_proxy = scrape(client, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.9.4.2")
    spoofed = scrape(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.9.4.2")

    assert through_proxy.status_code == 200
    assert spoofed.status_code == 403


def test_it_answers_the_bearer_token_from_anywhere_without_a_sign_in(client, scrapers):
    response = scrape(client, REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]


def test_it_refuses_writes(client, scrapers):
    assert client.post("/metrics", REMOTE_ADDR="10.9.0.7").status_code == 405


def test_it_reports_503_when_the_database_is_unreachable(client, scrapers, unreachable_database):
    assert scrape(client, REMOTE_ADDR="10.9.0.7").status_code == 503


def outbound(conversation, status, error_code=None, minutes_ago=1):
    return Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        type="text",
        text="Your appointment is at 10",
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
        status=status,
        error_code=error_code,
    )


def test_it_reports_queues_webhooks_sends_and_workers_without_personal_data_in_five_queries(
    client, scrapers, conversation, django_assert_max_num_queries
):
    accept(p.encode(p.envelope(p.value(messages=[p.text_message("Hi", wamid="wamid.W1")]))))
    accept(p.encode(p.envelope(p.value(messages=[p.text_message("Yo", wamid="wamid.W2")]))))
    DBTaskResult.objects.update(enqueued_at=Now() - timedelta(seconds=120))
    WebhookEvent.objects.filter(state="received").update(received_at=Now() - timedelta(seconds=90))
    for _ in range(2):
        outbound(conversation, "delivered")
    outbound(conversation, "failed", error_code=131026)
    outbound(conversation, "failed", error_code=131026)
    outbound(conversation, "failed", error_code=None)
    outbound(conversation, "failed", error_code=131047, minutes_ago=61)  # outside the hour
    beat("worker-a")
    WorkerHeartbeat.objects.update(last_seen=Now() - timedelta(seconds=30))

    with django_assert_max_num_queries(5):
        response = scrape(client, REMOTE_ADDR="10.9.0.7")

    found = figures(response)
    assert found['waba_task_queue_depth{queue="webhooks"}'] == 2
    assert found['waba_task_queue_depth{queue="default"}'] == 0
    assert 119 <= found['waba_task_queue_oldest_age_seconds{queue="webhooks"}'] < 180
    assert found['waba_webhook_bodies{state="received"}'] == 2
    assert found['waba_webhook_bodies{state="processed"}'] == 1  # Amina's "Hello?"
    assert 89 <= found["waba_webhook_apply_lag_seconds"] < 150
    assert found['waba_outbound_messages_last_hour{status="delivered"}'] == 2
    assert found['waba_outbound_messages_last_hour{status="failed"}'] == 3
    assert found['waba_outbound_failures_last_hour{error_code="131026"}'] == 2
    assert found['waba_outbound_failures_last_hour{error_code="none"}'] == 1
    assert 'waba_outbound_failures_last_hour{error_code="131047"}' not in found
    worker = next(key for key in found if key.startswith("waba_worker_last_seen_age_seconds"))
    assert 'worker="worker-a"' in worker
    assert 29 <= found[worker] < 90
    body = response.content.decode()
    for personal in ("Amina", p.USER_WA_ID, "Hello?", "appointment", "wamid"):
        assert personal not in body


def test_its_query_count_does_not_grow_with_queues_codes_or_workers(
    client, scrapers, conversation, django_assert_max_num_queries
):
    for code in range(131000, 131030):
        outbound(conversation, "failed", error_code=code)
    for number in range(10):
        beat(f"worker-{number}")

    with django_assert_max_num_queries(5):
        response = scrape(client, REMOTE_ADDR="10.9.0.7")

    found = figures(response)
    codes = [key for key in found if key.startswith("waba_outbound_failures_last_hour")]
    assert len(codes) == 21  # the 20 most frequent, and "other" for the rest
    assert found['waba_outbound_failures_last_hour{error_code="other"}'] == 10
