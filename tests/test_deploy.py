"""deploy/: the production environment file and the nginx limits agree with the app.

Their syntax is checked by scripts/check-deploy (systemd-analyze verify, nginx -t) in CI; these
tests catch what no syntax check can: a setting added to the app but not to the production
environment file, and a proxy limit that no longer matches the app's own.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def nginx_limits():
    """client_max_body_size in bytes, per location ("" for the server-wide one)."""
    text = (ROOT / "deploy" / "nginx" / "waba-proxy.conf").read_text()
    units = {"k": 1024, "m": 1024 * 1024}
    limits = {}
    for location, block in re.findall(r"location\s+([^{]*)\{([^}]*)\}", text):
        for size, unit in re.findall(r"client_max_body_size\s+(\d+)([km]?);", block):
            limits[location.strip()] = int(size) * units.get(unit, 1)
    outside = re.sub(r"location\s+[^{]*\{[^}]*\}", "", text)
    for size, unit in re.findall(r"client_max_body_size\s+(\d+)([km]?);", outside):
        limits[""] = int(size) * units.get(unit, 1)
    return limits


def test_the_production_environment_file_names_every_variable_the_app_reads():
    documented = set(VARIABLE.findall((ROOT / ".env.example").read_text()))
    production = set(VARIABLE.findall((ROOT / "deploy" / "env.example").read_text()))

    assert documented - production == set()


def test_nginx_lets_through_the_largest_webhook_meta_sends_and_no_more():
    from messaging.views import MAX_BODY_BYTES

    assert nginx_limits()["= /webhooks/whatsapp/"] == MAX_BODY_BYTES


def test_nginx_lets_the_app_refuse_an_oversized_attachment_with_its_own_message():
    from inbox.views_media import FORM_OVERHEAD_BYTES
    from messaging.media import MAX_UPLOAD_BYTES

    limit = nginx_limits()[""]

    assert MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES < limit <= 2 * MAX_UPLOAD_BYTES
