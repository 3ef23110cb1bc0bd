"""Settings for the benchmark server: the production settings plus one URL, /bench/bare/.

Only `make bench` uses this module (bench/wsgi.py selects it for gunicorn); production runs
`config.wsgi`, which never imports anything from bench/. Two locks keep the bench URL out of
production even if this module were named by mistake: DJANGO_BENCH=1 must be set as well, and
DEBUG must be off (the benchmark measures production behaviour). Nothing else differs from
config.settings, so the bare view and the real views run with the same middleware, database
settings and logging.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if os.environ.get("DJANGO_BENCH") != "1":
    raise ImproperlyConfigured(
        "bench.settings is for `make bench` only: it needs DJANGO_BENCH=1 (see bench/run.py)."
    )

from config.settings import *  # noqa: F403 - the production settings, unchanged
from config.settings import DEBUG

if DEBUG:
    raise ImproperlyConfigured("bench.settings measures production behaviour: set DEBUG=off.")

ROOT_URLCONF = "bench.urls"
