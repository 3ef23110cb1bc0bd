import hmac
import logging

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
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return HttpResponse("body too large", status=413, content_type="text/plain")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return HttpResponse("body too large", status=413, content_type="text/plain")

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
