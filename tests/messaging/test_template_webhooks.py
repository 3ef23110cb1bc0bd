"""Template webhooks (status, category, quality) keep the mirrored templates current."""

import json
from pathlib import Path

import pytest

from messaging import payloads as p
from messaging.models import MessageTemplate, WebhookEvent
from tests.template_helpers import HELLO_WORLD, make_template

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "whatsapp-corpus"


def template_change(field, **value):
    return p.envelope(p.change(value, field))


def status_update(event, template_id=1689556908129832, **extra):
    return template_change(
        "message_template_status_update",
        event=event,
        message_template_id=template_id,
        message_template_name="order_confirmation",
        message_template_language="en_US",
        reason=extra.pop("reason", "NONE"),
        **extra,
    )


@pytest.fixture
def template():
    return make_template(
        "order_confirmation", HELLO_WORLD, template_id="1689556908129832", status="PENDING"
    )


def test_an_approval_makes_the_template_sendable(post_webhook, template):
    response = post_webhook(status_update("APPROVED", message_template_category="UTILITY"))

    assert response.status_code == 200
    template.refresh_from_db()
    assert (template.status, template.category) == ("APPROVED", "UTILITY")
    assert WebhookEvent.objects.get().state == "processed"


def test_a_rejection_keeps_metas_reason(post_webhook, template):
    post_webhook(
        status_update(
            "REJECTED",
            reason="INVALID_FORMAT",
            rejection_info={
                "reason": "Parameters are placed next to each other.",
                "recommendation": "Separate them with text.",
            },
        )
    )

    template.refresh_from_db()
    assert template.status == "REJECTED"
    assert template.rejected_reason == ("INVALID_FORMAT: Parameters are placed next to each other.")


@pytest.mark.parametrize(
    ("event", "before", "after"),
    [
        ("PAUSED", "APPROVED", "PAUSED"),
        ("DISABLED", "APPROVED", "DISABLED"),
        ("REINSTATED", "PAUSED", "APPROVED"),
        # Flagged: quality is low and Meta may pause it later; it can still be sent.
        ("FLAGGED", "APPROVED", "APPROVED"),
    ],
)
def test_pauses_and_reinstatements_move_the_status(post_webhook, template, event, before, after):
    MessageTemplate.objects.filter(pk=template.pk).update(status=before)

    post_webhook(status_update(event))

    template.refresh_from_db()
    assert template.status == after


def test_an_update_for_an_unknown_template_creates_nothing(post_webhook):
    post_webhook(status_update("APPROVED", template_id=42))

    assert not MessageTemplate.objects.exists()
    assert WebhookEvent.objects.get().state == "processed"


def test_a_template_not_yet_known_by_id_is_found_by_name_and_language(post_webhook):
    template = make_template("order_confirmation", HELLO_WORLD, template_id="", status="PENDING")

    post_webhook(status_update("APPROVED"))

    template.refresh_from_db()
    assert (template.status, template.template_id) == ("APPROVED", "1689556908129832")


def test_a_category_change_is_stored(post_webhook, template):
    post_webhook(
        template_change(
            "template_category_update",
            message_template_id=1689556908129832,
            message_template_name="order_confirmation",
            message_template_language="en_US",
            previous_category="UTILITY",
            new_category="MARKETING",
        )
    )

    template.refresh_from_db()
    assert template.category == "MARKETING"


def test_a_quality_change_is_logged_and_changes_nothing(post_webhook, template, caplog):
    before = template.updated_at

    post_webhook(
        template_change(
            "message_template_quality_update",
            previous_quality_score="GREEN",
            new_quality_score="YELLOW",
            message_template_id=1689556908129832,
            message_template_name="order_confirmation",
            message_template_language="en_US",
        )
    )

    template.refresh_from_db()
    assert (template.status, template.updated_at) == ("PENDING", before)
    assert "quality GREEN -> YELLOW" in caplog.text
    assert WebhookEvent.objects.get().state == "processed"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/whatsapp-corpus is not present")
def test_metas_captured_rejection_applies(post_webhook):
    body = json.loads((CORPUS / "pywa" / "template_status_update.json").read_text())["rejected"]
    template = make_template(
        "abandoned_cart", HELLO_WORLD, template_id="1689556908129835", language="en"
    )

    post_webhook(body)

    template.refresh_from_db()
    assert template.status == "REJECTED"
    assert template.rejected_reason.startswith("INVALID_FORMAT: Your template has parameters")
