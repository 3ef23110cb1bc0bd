"""The message template admin: read-only rows, and a button and action to sync from Meta."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import MessageTemplate
from tests.account_health_support import NOW, template_status
from tests.staff_support import grant
from tests.template_helpers import HELLO_WORLD, make_template, meta_template

pytestmark = pytest.mark.django_db

WABA = "102290129340398"
CHANGELIST = "/admin/messaging/messagetemplate/"


@pytest.fixture(autouse=True)
def _waba_id(settings):
    settings.WHATSAPP_WABA_ID = WABA


def test_the_list_shows_name_language_category_and_status(admin_client):
    make_template("order_update", HELLO_WORLD, waba_id=WABA, status="PAUSED")

    html = admin_client.get(CHANGELIST).content.decode()

    assert "order_update" in html
    assert "en_US" in html
    assert "PAUSED" in html
    assert "Sync templates from Meta" in html


def test_rows_cannot_be_added_changed_or_deleted(admin_client):
    template = make_template("order_update", HELLO_WORLD, waba_id=WABA)

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.post(f"{CHANGELIST}{template.pk}/delete/").status_code == 403
    page = admin_client.get(f"{CHANGELIST}{template.pk}/change/").content.decode()
    assert "Welcome and congratulations!!" in page  # the components, shown read-only
    assert 'name="_save"' not in page


def test_the_sync_button_fetches_the_templates(admin_client):
    locmem.template_pages.append([meta_template("hello_world", HELLO_WORLD)])

    response = admin_client.post(f"{CHANGELIST}sync/", follow=True)

    assert MessageTemplate.objects.get().name == "hello_world"
    assert "Templates synchronised: 1 new, 0 changed, 0 removed." in response.content.decode()


def test_a_failed_sync_is_shown_as_an_error(admin_client, settings):
    settings.WHATSAPP_WABA_ID = ""

    response = admin_client.post(f"{CHANGELIST}sync/", follow=True)

    assert "set WHATSAPP_WABA_ID" in response.content.decode()


def test_the_sync_action_refreshes_the_selected_templates_account(admin_client):
    template = make_template("hello_world", HELLO_WORLD, waba_id=WABA, status="PENDING")
    locmem.template_pages.append([meta_template("hello_world", HELLO_WORLD)])

    admin_client.post(CHANGELIST, {"action": "sync_from_meta", ACTION_CHECKBOX_NAME: [template.pk]})

    template.refresh_from_db()
    assert template.status == "APPROVED"


def test_staff_without_the_permission_cannot_sync(client, staff_user):
    staff_user = grant(staff_user, "view_messagetemplate")
    client.force_login(staff_user)

    assert client.get(CHANGELIST).status_code == 200
    assert "Sync templates from Meta" not in client.get(CHANGELIST).content.decode()
    assert client.post(f"{CHANGELIST}sync/").status_code == 403
    assert client.get(f"{CHANGELIST}sync/").status_code == 405


def test_a_templates_page_shows_its_status_and_category_history(admin_client):
    template = make_template(
        "order_confirmation", HELLO_WORLD, waba_id=WABA, template_id="1689556908129832"
    )
    receive(p.encode(template_status("PAUSED", at=NOW - 60)))
    receive(p.encode(template_status("REINSTATED")))

    page = admin_client.get(f"{CHANGELIST}{template.pk}/change/").content.decode()

    history = page.split("Status and category changes", 1)[1]
    assert history.index("REINSTATED") < history.index("WhatsApp paused the template")
