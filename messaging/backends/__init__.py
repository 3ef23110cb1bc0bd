"""WhatsApp transports, in the shape of Django's email backends.

settings.WHATSAPP_TRANSPORT = {"BACKEND": "dotted.path.Backend", "OPTIONS": {...}}; the
WHATSAPP_BACKEND environment variable picks one by short name (cloud, console, locmem) or
dotted path.
"""

from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from messaging.backends.base import BaseBackend

SHORT_NAMES = {
    "cloud": "messaging.backends.cloud.CloudBackend",
    "console": "messaging.backends.console.ConsoleBackend",
    "locmem": "messaging.backends.locmem.LocmemBackend",
}


def backend_path(name: str) -> str:
    return SHORT_NAMES.get(name, name)


@cache
def _load(path: str, options: tuple[tuple[str, Any], ...]) -> BaseBackend:
    return import_string(path)(**dict(options))


def get_backend() -> BaseBackend:
    """The configured transport (one instance per process: it may hold a connection pool)."""
    config: dict[str, Any] = settings.WHATSAPP_TRANSPORT
    return _load(backend_path(config["BACKEND"]), tuple(sorted(config.get("OPTIONS", {}).items())))
