"""Production server settings for `gunicorn config.wsgi` (read automatically from this folder)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 30
# Meta retries webhooks for days, but each request must still finish quickly.
keepalive = 5
# Recycle workers now and then so that slow leaks cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# Access log: method, path without query string (search terms are personal data), status,
# size and duration in microseconds. One line per request, on stdout.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(D)sus'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
