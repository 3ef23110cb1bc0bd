"""Template webhooks (status, category, quality) keep the mirrored templates current."""

import json
from pathlib import Path

import pytest
from django.core import mail

from messaging import payloads as p
from messaging.account_health.wording import describe
from messaging.models import AccountEvent, MessageTemplate, WebhookEvent
from tests.account_health_support import send_emails
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


def test_category_changes_update_the_template_and_keep_its_history(
    post_webhook, template, superuser, django_capture_on_commit_callbacks
):
    MessageTemplate.objects.filter(pk=template.pk).update(category="UTILITY")
    changes = [("UTILITY", "MARKETING", 1750344882), ("MARKETING", "UTILITY", 1750431282)]
    for previous, new, at in changes:
        body = template_change(
            "template_category_update",
            message_template_id=1689556908129832,
            message_template_name="order_confirmation",
            message_template_language="en_US",
            previous_category=previous,
            new_category=new,
        )
        body["entry"][0]["time"] = at
        with django_capture_on_commit_callbacks(execute=True):
            post_webhook(body)
    send_emails()

    template.refresh_from_db()
    assert template.category == "UTILITY"
    history = AccountEvent.objects.filter(template=template)
    assert [(e.details["previous_category"], e.event) for e in history] == [
        ("MARKETING", "UTILITY"),
        ("UTILITY", "MARKETING"),
    ]
    assert len(mail.outbox) == 2
    assert "from \u2068UTILITY\u2069 to \u2068MARKETING\u2069" in mail.outbox[0].body


def test_an_impending_category_change_is_announced_not_applied(post_webhook, template):
    MessageTemplate.objects.filter(pk=template.pk).update(category="UTILITY")

    post_webhook(
        template_change(
            "template_category_update",
            message_template_id=1689556908129832,
            message_template_name="order_confirmation",
            message_template_language="en_US",
            correct_category="MARKETING",
            new_category="UTILITY",
            category_update_timestamp=1750431282,
        )
    )

    template.refresh_from_db()
    assert template.category == "UTILITY"
    event = AccountEvent.objects.get(template=template)
    assert "will change the category" in describe(event)


def test_a_status_change_of_a_template_we_do_not_mirror_is_kept(post_webhook):
    post_webhook(status_update("FLAGGED", template_id=42))

    assert not MessageTemplate.objects.exists()
    event = AccountEvent.objects.active().get()
    assert (event.kind, event.event, event.template) == ("template_status", "FLAGGED", None)


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
