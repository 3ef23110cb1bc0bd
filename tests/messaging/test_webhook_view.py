"""/webhooks/whatsapp/: Meta's handshake, signature checks, size limits and durability."""

import json

import pytest
from django.db import connection

from messaging import payloads as p
from messaging.models import Contact, Conversation, Message, StatusEvent, WebhookEvent
from messaging.signature import sign
from tests.webhook_support import corpus_dir, post_concurrently

pytestmark = pytest.mark.django_db

URL = "/webhooks/whatsapp/"


def one_text(body="Hello", wamid="wamid.ONE", **options):
    return p.envelope(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
            messages=[p.text_message(body, wamid=wamid, **options)],
        )
    )


def nothing_written():
    return not (WebhookEvent.objects.exists() or Message.objects.exists())


# The subscription handshake


def test_it_echoes_the_challenge_for_the_right_verify_token(client):
    response = client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "1158201444",
        },
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
        {},
    ],
)
def test_it_refuses_any_other_verification_request(client, params):
    assert client.get(URL, params).status_code == 403


def test_verification_is_refused_when_no_verify_token_is_configured(client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""

    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )

    assert response.status_code == 403


# Signatures


def test_a_correctly_signed_message_is_accepted_and_stored(post_webhook):
    response = post_webhook(one_text())

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.signature_valid
    assert Message.objects.get().wamid == "wamid.ONE"


def test_it_needs_no_login_and_no_csrf_token(post_webhook, client):
    client.logout()

    assert post_webhook(one_text()).status_code == 200


def test_a_missing_signature_is_refused_and_nothing_is_written(client):
    response = client.post(URL, p.encode(one_text()), content_type="application/json")

    assert response.status_code == 403
    assert nothing_written()


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=" + "z" * 64,
        "SHA256=" + "0" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 10_000,
    ],
    ids=["empty", "no-digest", "sha1", "zeros", "not-hex", "upper-prefix", "short", "10kb"],
)
def test_malformed_or_wrong_signatures_are_refused(client, header):
    response = client.post(
        URL,
        p.encode(one_text()),
        content_type="application/json",
        headers={"X-Hub-Signature-256": header},
    )

    assert response.status_code == 403
    assert nothing_written()


def test_a_non_ascii_signature_header_is_refused(client):
    body = p.encode(one_text())
    header = sign(body, "test-app-secret")[:-1] + "é"

    response = client.post(
        URL, body, content_type="application/json", headers={"X-Hub-Signature-256": header}
    )

    assert response.status_code == 403
    assert nothing_written()


def test_a_body_signed_with_another_secret_is_refused(post_webhook):
    assert post_webhook(one_text(), secret="not-our-secret").status_code == 403
    assert nothing_written()


def test_a_tampered_byte_is_refused(client, settings):
    body = p.encode(one_text("Pay 100"))
    signature = sign(body, settings.WHATSAPP_APP_SECRETS[0])

    response = client.post(
        URL,
        body.replace(b"100", b"900"),
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature},
    )

    assert response.status_code == 403
    assert nothing_written()


def test_old_and_new_secrets_both_verify_while_rotating(post_webhook, settings):
    settings.WHATSAPP_APP_SECRETS = ["new-secret", "old-secret"]

    assert post_webhook(one_text(wamid="wamid.A"), secret="old-secret").status_code == 200
    assert post_webhook(one_text(wamid="wamid.B"), secret="new-secret").status_code == 200
    assert Message.objects.count() == 2


def test_without_any_app_secret_every_post_is_refused(post_webhook, settings):
    settings.WHATSAPP_APP_SECRETS = []

    assert post_webhook(one_text(), secret="anything").status_code == 403
    assert nothing_written()


@pytest.mark.parametrize(
    "text",
    [
        "caf\u00e9 crème",
        "ok 👍🏽 \U0001f9d5\u200d\u2640\ufe0f",
        "see https://example.org/a/b",
        "مرحبا، كيف حالك؟",
    ],
    ids=["latin-accent", "emoji-surrogates", "slashes", "arabic"],
)
def test_signatures_are_checked_over_the_raw_bytes_meta_sent(post_webhook, text):
    body = p.encode(one_text(text))
    assert b"\\u" in body or b"\\/" in body  # escaped on the wire, as Meta sends it

    response = post_webhook(None, body=body)

    assert response.status_code == 200
    assert Message.objects.get().text == text


# Size


def test_a_body_of_three_megabytes_is_accepted(post_webhook):
    padding = "x" * (3 * 1024 * 1024 - 2_000)
    payload = one_text()
    payload["padding"] = padding
    body = p.encode(payload)
    assert len(body) > 2.5 * 1024 * 1024  # above Django's default upload limit

    assert post_webhook(None, body=body).status_code == 200


def test_a_body_over_three_megabytes_is_refused_with_413(post_webhook):
    payload = one_text()
    payload["padding"] = "x" * (3 * 1024 * 1024)

    assert post_webhook(payload).status_code == 413
    assert nothing_written()


def test_a_chunked_body_the_server_cannot_decode_is_refused_as_such_not_as_forged(client, settings):
    """Django's runserver neither decodes chunked bodies nor says it has (gunicorn does both:
    tests/messaging/test_webhook_under_gunicorn.py): the answer must say so, and Meta, seeing
    no 200, delivers the body again."""
    body = p.encode(one_text())

    response = client.post(
        URL,
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(body, settings.WHATSAPP_APP_SECRETS[0])},
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert b"chunked" in response.content
    assert nothing_written()


def test_other_routes_still_refuse_bodies_over_djangos_limit(client, settings):
    """Only the webhook reads up to 3 MB: everywhere else Django's 2.5 MB limit stands."""
    body = b"username=amina&password=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440  # Django's default, unchanged
    assert response.status_code == 400


# Durability


def test_signed_but_unparseable_json_is_stored_and_acknowledged(post_webhook):
    response = post_webhook(None, body=b'{"object": "whatsapp_business_account", "entry": [')

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert bytes(event.body).startswith(b'{"object"')
    assert event.state == WebhookEvent.State.FAILED
    assert "not JSON" in event.error


def test_the_same_body_delivered_twice_lands_once(post_webhook):
    payload = one_text()

    assert post_webhook(payload).status_code == 200
    assert post_webhook(payload).status_code == 200

    assert WebhookEvent.objects.count() == 1
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_a_failure_while_applying_still_answers_200_and_keeps_the_body(
    post_webhook, message_insert_failure
):
    message_insert_failure.start()
    response = post_webhook(one_text())

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED
    assert "messages[0]" in event.error
    assert not Message.objects.exists()


def test_when_the_database_is_down_it_answers_5xx_so_meta_retries(
    post_webhook, unreachable_database
):
    assert post_webhook(one_text(), apply=False).status_code == 503


def test_other_methods_are_not_allowed(client):
    assert client.put(URL, b"{}").status_code == 405


def test_the_response_does_not_echo_the_body(post_webhook):
    response = post_webhook(one_text("secret plans"))

    assert b"secret" not in response.content


# Contract: Meta's own examples and real captured payloads, end to end.

CORPUS = corpus_dir()


def corpus_cases():
    if not CORPUS.is_dir():
        return []
    cases = []
    for path in sorted((CORPUS / "pywa").glob("*.json")):
        cases += [
            (f"pywa/{path.stem}/{name}", body)
            for name, body in json.loads(path.read_text()).items()
        ]
    webhooks = json.loads((CORPUS / "meta-openapi" / "webhooks.json").read_text())
    cases += [(f"meta/{name}", body) for name, body in webhooks.items()]
    return cases


def count_items(body, key):
    """Messages or statuses in a body; statuses of group messages are not ours to track."""
    return sum(
        1
        for entry in body.get("entry", [])
        for change in entry.get("changes", [])
        if change.get("field") == "messages"
        for item in change.get("value", {}).get(key, []) or []
        if item.get("recipient_type") != "group"
    )


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/whatsapp-corpus is not present")
@pytest.mark.parametrize(("name", "body"), corpus_cases(), ids=[c[0] for c in corpus_cases()])
def test_every_corpus_payload_is_accepted_and_lands(post_webhook, name, body):
    response = post_webhook(body)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PROCESSED, event.error
    messages = count_items(body, "messages")
    statuses = count_items(body, "statuses")
    assert Message.objects.count() == messages
    assert StatusEvent.objects.count() == statuses
    if messages:
        assert Contact.objects.exists()


# Concurrency (PostgreSQL: SQLite serialises writers, so there is no race to test)


@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_body", [True, False], ids=["same-body", "same-message-new-body"])
def test_twenty_concurrent_deliveries_make_one_message(settings, same_body):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises every write, so nothing races")
    # One fixed timestamp: a default of "now" could cross a second while the bodies are built.
    payload = one_text(timestamp=1764000000)
    if same_body:
        bodies = [p.encode(payload)] * 20
    else:  # different bodies carrying the same message
        bodies = [p.encode({**payload, "delivery": attempt}) for attempt in range(20)]
    statuses = post_concurrently(bodies, settings)

    assert statuses == [200] * 20
    assert WebhookEvent.objects.count() == (1 if same_body else 20)
    assert not WebhookEvent.objects.exclude(state=WebhookEvent.State.PROCESSED).exists()
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1
