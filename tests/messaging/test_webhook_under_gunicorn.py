"""/webhooks/whatsapp/ served by gunicorn with the project's gunicorn.conf.py: bodies framed
as a proxy may forward them (chunked, without Content-Length) are read whole, within the
3 MB limit. Django's test client and live server cannot show this: neither speaks chunked
framing the way gunicorn presents it (no CONTENT_LENGTH, wsgi.input_terminated)."""

import pytest
import requests

from messaging import payloads as p
from messaging.models import WebhookEvent
from messaging.signature import sign
from tests.live_support import APP_SECRET

pytestmark = [
    pytest.mark.usefixtures("transactional_db"),
    # One server for the module: under xdist its tests run on one worker, one after another.
    pytest.mark.xdist_group("gunicorn"),
]

MB = 1024 * 1024


def webhook_body(padding=0):
    payload = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, name="أمينة")],
            messages=[p.text_message("مرحبا، هل وصل طلبي؟")],
        )
    )
    if padding:
        payload["padding"] = "x" * padding
    return p.encode(payload)


def in_chunks(body, size=64 * 1024):
    """An iterator body: requests sends it with Transfer-Encoding: chunked, no length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post(server, data, body, *, secret=APP_SECRET):
    return requests.post(
        f"{server.url}/webhooks/whatsapp/",
        data=data,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)},
        timeout=30,
    )


@pytest.mark.parametrize("padding", [0, int(2.9 * MB)], ids=["small", "above-djangos-2.5-MB"])
def test_a_signed_chunked_body_is_read_whole_and_stored(gunicorn_server, padding):
    body = webhook_body(padding)

    response = post(gunicorn_server, in_chunks(body), body)

    assert response.status_code == 200, gunicorn_server.output()
    assert bytes(WebhookEvent.objects.get().body) == body


def test_a_chunked_body_over_three_megabytes_is_refused_with_413_and_nothing_stored(
    gunicorn_server,
):
    body = webhook_body(3 * MB)

    response = post(gunicorn_server, in_chunks(body), body)

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_a_chunked_body_with_a_bad_signature_is_still_refused(gunicorn_server):
    body = webhook_body()

    response = post(gunicorn_server, in_chunks(body), body, secret="another-secret")

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_a_body_with_content_length_is_read_as_before(gunicorn_server):
    body = webhook_body()

    response = post(gunicorn_server, body, body)

    assert response.status_code == 200
    assert response.request.headers["Content-Length"] == str(len(body))
    assert bytes(WebhookEvent.objects.get().body) == body
