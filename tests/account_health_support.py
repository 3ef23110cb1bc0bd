"""Webhook bodies about the account's standing, shaped as Meta's reference and the captured
payloads of ../shared/whatsapp-corpus (pywa/account_update.json) shape them, with entry.time."""

import time

from messaging import payloads as p
from tests.teamwork_support import run_queued

EMAIL_TASK = "messaging.account_health.mail.deliver_account_event"
NOW = int(time.time())


def account_change(value, field="account_update", *, at=NOW, waba_id=p.WABA_ID):
    return p.envelope(p.entry(p.change(value, field), waba_id=waba_id) | {"time": at})


def ban(state, *, at=NOW):
    value = {
        "event": "DISABLED_UPDATE",
        "ban_info": {"waba_ban_state": state, "waba_ban_date": "April 17, 2026"},
    }
    return account_change(value, at=at)


def restriction(expiration, *, at=NOW):
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": expiration}
        ],
    }
    return account_change(value, at=at)


def quality(event, *, at=NOW, display=p.DISPLAY_PHONE_NUMBER, limit="TIER_250"):
    value = {"display_phone_number": display, "event": event, "current_limit": limit}
    return account_change(value, "phone_number_quality_update", at=at)


def template_status(event, *, at=NOW, **extra):
    value = {
        "event": event,
        "message_template_id": 1689556908129832,
        "message_template_name": "order_confirmation",
        "message_template_language": "en_US",
        "reason": "NONE",
        **extra,
    }
    return account_change(value, "message_template_status_update", at=at)


def send_emails():
    """Run the queued account event e-mails as the worker would."""
    return run_queued(EMAIL_TASK)
