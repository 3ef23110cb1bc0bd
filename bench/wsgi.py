"""The benchmark's WSGI application: Django under bench.settings, timed.

Every response carries `Server-Timing: app;dur=<ms>`: the time from the request reaching
Django to its response being ready (all middleware and the view; not gunicorn's parsing or
the network). wrk's Lua script collects it, so page figures are server time, free of the
load generator's own queueing.
"""

import os
import time

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

django_application = get_wsgi_application()


def application(environ, start_response):
    started = time.perf_counter()

    def timed_start_response(status, headers, exc_info=None):
        elapsed = (time.perf_counter() - started) * 1000
        headers.append(("Server-Timing", f"app;dur={elapsed:.3f}"))
        return start_response(status, headers, exc_info)

    return django_application(environ, timed_start_response)
