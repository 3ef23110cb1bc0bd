"""Where the Graph API may be reached: https, or plain http to this machine (a test server).

Used by the cloud transport for every URL Meta hands it, and by the settings to check
WHATSAPP_GRAPH_URL at start-up, so this module imports nothing of Django's.
"""

import ipaddress
from urllib.parse import urlsplit


def is_safe_url(url: str) -> bool:
    """https, or plain http to this machine (a test server), as for WHATSAPP_GRAPH_URL."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
