"""manage.py sync_templates."""

import io

import pytest
from django.core.management import CommandError, call_command

from messaging.backends import locmem
from messaging.backends.base import SendError
from messaging.models import MessageTemplate
from tests.template_helpers import HELLO_WORLD, ORDER_UPDATE, make_template, meta_template

pytestmark = pytest.mark.django_db

WABA = "102290129340398"


def sync(*args):
    out = io.StringIO()
    call_command("sync_templates", *args, stdout=out)
    return out.getvalue()


def test_it_fetches_every_page_and_prints_the_counts(settings):
    settings.WHATSAPP_WABA_ID = WABA
    make_template("gone", HELLO_WORLD, waba_id=WABA)
    make_template("hello_world", HELLO_WORLD, waba_id=WABA, status="PENDING")
    locmem.template_pages.extend(
        [
            [meta_template(f"bulk_{n}", HELLO_WORLD) for n in range(100)],
            [meta_template("hello_world", HELLO_WORLD), meta_template("order", ORDER_UPDATE)],
        ]
    )

    output = sync()

    assert f"Fetching the message templates of WABA {WABA}" in output
    assert "100 templates fetched\r" in output
    assert "102 templates fetched\n" in output
    assert "Templates synchronised: 101 new, 1 changed, 1 removed." in output
    assert MessageTemplate.objects.count() == 102


def test_it_takes_the_account_id_as_an_option(settings):
    settings.WHATSAPP_WABA_ID = ""
    locmem.template_pages.append([meta_template("hello_world", HELLO_WORLD)])

    sync("--waba-id", "555")

    assert MessageTemplate.objects.get().waba_id == "555"


def test_without_an_account_id_it_says_what_to_set(settings):
    settings.WHATSAPP_WABA_ID = ""

    with pytest.raises(CommandError, match="WHATSAPP_WABA_ID"):
        sync()


def test_a_graph_api_error_fails_the_command_and_keeps_the_templates(settings):
    settings.WHATSAPP_WABA_ID = WABA
    make_template("kept", HELLO_WORLD, waba_id=WABA)
    locmem.failures.append(SendError("Invalid OAuth access token", code=190))

    with pytest.raises(CommandError, match=r"Invalid OAuth access token \(190\)"):
        sync()

    assert MessageTemplate.objects.filter(name="kept").exists()
