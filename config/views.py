import logging

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from messaging import health

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
