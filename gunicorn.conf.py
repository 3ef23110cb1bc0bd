"""Production server settings for `gunicorn config.wsgi` (read automatically from this folder)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Processes, not threads: pages are Python CPU, and threads of one process take turns on the
# interpreter lock. With 2 workers x 4 threads the conversation page's p95 was 202 to 281 ms;
# with 4 or 5 single-threaded (sync) workers 127 to 149 ms, at the same webhook throughput
# (docs/benchmarks.md, "Server shape").
# gunicorn's rule of thumb, 2 per core + 1, capped: each worker holds ~70 MB and a database
# connection.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 9)))
# One thread means gunicorn's sync worker: a connection per worker at a time, so a request
# never queues behind another inside a worker while others are idle (a threaded worker with
# one thread did: client time twice the server time). It needs a buffering reverse proxy in
# front (nginx buffers by default), which production has anyway for TLS.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 30
# Idle keep-alive seconds; used by threaded workers only (GUNICORN_THREADS above 1).
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
