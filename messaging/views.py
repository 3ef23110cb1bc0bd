import hmac
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from messaging.ingest import accept
from messaging.signature import signature_is_valid

logger = logging.getLogger(__name__)

# Meta's largest webhook body. Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is lower, so this
# view reads the stream itself instead of request.body, on this route only.
MAX_BODY_BYTES = 3 * 1024 * 1024


class BodyTooLarge(Exception):
    """The body is over MAX_BODY_BYTES: answered 413, nothing stored."""


class LengthRequired(Exception):
    """A chunked body the server did not decode: answered 411, so Meta delivers it again."""


@csrf_exempt
@login_not_required
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return verify_subscription(request)
    if request.method == "POST":
        return receive_events(request)
    return HttpResponseNotAllowed(["GET", "POST"])


def verify_subscription(request: HttpRequest) -> HttpResponse:
    """Meta's one-time handshake when the webhook URL is configured: echo the challenge."""
    token = settings.WHATSAPP_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        token
        and request.GET.get("hub.mode") == "subscribe"
        and hmac.compare_digest(given.encode(), token.encode())
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    logger.warning("webhook verification refused")
    return HttpResponseForbidden("verification failed", content_type="text/plain")


def receive_events(request: HttpRequest) -> HttpResponse:
    try:
        body = read_body(request)
    except BodyTooLarge:
        return HttpResponse("body too large", status=413, content_type="text/plain")
    except LengthRequired:
        logger.warning("webhook refused: a chunked body this server does not decode")
        return HttpResponse(
            "chunked bodies need a server that decodes them (gunicorn), or a Content-Length",
            status=411,
            content_type="text/plain",
        )

    if not signature_is_valid(
        body, request.headers.get("X-Hub-Signature-256"), settings.WHATSAPP_APP_SECRETS
    ):
        logger.warning(
            "webhook refused: %s signature",
            "no app secret configured, so no" if not settings.WHATSAPP_APP_SECRETS else "bad",
        )
        return HttpResponseForbidden("invalid signature", content_type="text/plain")

    try:
        event = accept(body)
    except DatabaseError as exc:
        # Nothing was stored: a non-2xx makes Meta deliver this body again later.
        logger.error("webhook not stored: database unavailable (%s)", type(exc).__name__)
        return HttpResponse("try again later", status=503, content_type="text/plain")
    logger.info("webhook %s %s", event.pk, event.state)
    return HttpResponse("OK", content_type="text/plain")


def read_body(request: HttpRequest) -> bytes:
    """The whole body, however it was framed, up to MAX_BODY_BYTES (else BodyTooLarge).

    Django bounds its request stream by CONTENT_LENGTH. A body sent with Transfer-Encoding:
    chunked (as a proxy may forward Meta's) has none, and would read as empty. A server that
    decodes the chunks itself, as gunicorn does, says so with `wsgi.input_terminated` (its
    input ends where the body ends): then the input is read directly, up to the limit. Where
    it does not (Django's runserver), the body cannot be read, which is not a bad signature.
    """
    length = request.META.get("CONTENT_LENGTH")
    stream: Any = request
    if not length:
        if request.META.get("wsgi.input_terminated"):
            stream = request.META["wsgi.input"]
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            raise LengthRequired
    else:
        try:
            declared = int(length)
        except ValueError:
            declared = 0
        if declared > MAX_BODY_BYTES:
            # Refused before a byte of it is read.
            raise BodyTooLarge
    chunks = []
    received = 0
    # One read is usually all; a stream may hand the body over in parts.
    while chunk := stream.read(MAX_BODY_BYTES + 1 - received):
        chunks.append(chunk)
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise BodyTooLarge
    return b"".join(chunks)
