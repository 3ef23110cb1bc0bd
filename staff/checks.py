"""Deployment checks (`manage.py check --deploy`) on how staff sign-ins are protected."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_proxy_addresses(app_configs, **kwargs):
    """Behind a TLS-terminating proxy (what HTTPS_ONLY assumes), client addresses are only
    known if the proxy is trusted to report them."""
    if settings.SECURE_PROXY_SSL_HEADER and not settings.TRUSTED_PROXIES:
        return [
            Warning(
                "HTTPS_ONLY expects a TLS-terminating proxy, but TRUSTED_PROXIES is empty: every "
                "visitor seems to come from the proxy's address, so a few failed sign-ins by "
                "anyone lock everyone out, and INBOX_ALLOWED_NETWORKS cannot tell networks apart.",
                hint="List the proxy's address (e.g. TRUSTED_PROXIES=127.0.0.1/32) and have it "
                "append the client's address to X-Forwarded-For.",
                id="access.W001",
            )
        ]
    return []
