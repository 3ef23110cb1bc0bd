import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from messaging import health
from messaging import metrics as metrics_figures
from staff.security import client_ip, in_networks, parse_ip

logger = logging.getLogger(__name__)


@login_not_required
@require_safe
@never_cache
def healthz(request):
    """For load balancers and uptime checks: the process answers, so does the database, a task
    worker was seen lately and no webhook body waits too long (messaging.health). The body
    names the failed check, never anything about people."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        problems = health.problems()
    except DatabaseError as exc:
        logger.error("health check: database unavailable (%s)", type(exc).__name__)
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    if problems:
        logger.warning("health check failed: %s", ", ".join(sorted(problems)))
        return JsonResponse({"status": "error", **problems}, status=503)
    return JsonResponse({"status": "ok"})


def may_scrape(request):
    """From a network in METRICS_ALLOWED_NETWORKS, or with the bearer token METRICS_TOKEN."""
    address = parse_ip(client_ip(request))
    networks = settings.METRICS_ALLOWED_NETWORKS
    if address is not None and networks and in_networks(address, networks):
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(
        settings.METRICS_TOKEN
        and scheme.lower() == "bearer"
        and constant_time_compare(token.strip(), settings.METRICS_TOKEN)
    )


@login_not_required
@require_safe
@never_cache
def metrics(request):
    """Queue, webhook, sending and worker figures for Prometheus (messaging.metrics). Its own
    access rule, never a staff sign-in: a scraper has none."""
    if not settings.METRICS_ALLOWED_NETWORKS and not settings.METRICS_TOKEN:
        raise Http404
    if not may_scrape(request):
        return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
    try:
        body = metrics_figures.render()
    except DatabaseError as exc:
        logger.error("metrics: database unavailable (%s)", type(exc).__name__)
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=metrics_figures.CONTENT_TYPE)
