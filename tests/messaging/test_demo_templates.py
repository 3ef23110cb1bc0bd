"""The demo's message templates (messaging/demo_templates.py, loaded by seed_demo)."""

import io

import pytest
from django.core.management import call_command

from messaging import payloads as p
from messaging.demo_templates import DEMO_TEMPLATES, seed_templates
from messaging.message_templates.reading import (
    required_parameters,
    sendable_templates,
    unsupported_reason,
)
from messaging.models import Conversation, MessageTemplate

pytestmark = pytest.mark.django_db


def seed_demo():
    call_command("seed_demo", password="a-demo-password", stdout=io.StringIO())


def test_the_demo_offers_approved_templates_for_its_conversations():
    seed_demo()

    omar = Conversation.objects.get(contact__wa_id="201001234567")
    assert not omar.window_is_open()
    offered = {t.name for t in sendable_templates(omar)}
    assert offered == {"order_update", "welcome_back_ar", "follow_up"}
    assert all(unsupported_reason(t) == "" for t in MessageTemplate.objects.all())


def test_the_demo_has_positional_and_named_parameters():
    seed_demo()

    order = MessageTemplate.objects.get(name="order_update")
    welcome = MessageTemplate.objects.get(name="welcome_back_ar")
    assert [x.field for x in required_parameters(order)] == [
        "header-1",
        "body-1",
        "body-2",
        "body-3",
        "button0-1",
    ]
    assert [x.field for x in required_parameters(welcome)] == [
        "body-customer_name",
        "body-topic",
    ]


def test_existing_templates_are_left_alone():
    MessageTemplate.objects.create(waba_id=p.WABA_ID, name="real", language="en", template_id="1")

    assert seed_templates(p.WABA_ID) == 0
    assert seed_templates("another") == len(DEMO_TEMPLATES)
    assert MessageTemplate.objects.filter(waba_id=p.WABA_ID).count() == 1
