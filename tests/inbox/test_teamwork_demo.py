"""The demo's teamwork configuration (seed_demo): present, usable, and never duplicated."""

import io

import pytest
from django.core.management import call_command

from automation.models import (
    AutoReply,
    BusinessHours,
    Label,
    QuickReply,
    QuickReplyText,
    RoutingRule,
)

pytestmark = pytest.mark.django_db


def seed():
    call_command("seed_demo", password="a-demo-password", stdout=io.StringIO())


def counts():
    return [
        model.objects.count()
        for model in (Label, QuickReply, QuickReplyText, AutoReply, BusinessHours, RoutingRule)
    ]


def test_the_demo_has_labels_quick_replies_business_hours_and_a_routing_rule_once():
    seed()
    first = counts()
    seed()

    assert counts() == first
    assert first[0] >= 3
    assert first[1] >= 3
    assert QuickReplyText.objects.filter(language="ar").count() == first[1]
    assert BusinessHours.objects.get().periods.count() == 5
    rule = RoutingRule.objects.get()
    rule.full_clean()
    assert (rule.match, rule.action, rule.label.name) == ("contains", "label", "Billing")
