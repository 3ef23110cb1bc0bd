"""The client address behind trusted proxies, and INBOX_ALLOWED_NETWORKS."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from staff.security import client_ip, open_to_internet

pytestmark = pytest.mark.django_db

OFFICE = "10.20.0.0/16"
PROXY = "192.0.2.10"


def request_from(remote_addr, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


# client_ip


def test_without_trusted_proxies_the_socket_address_is_the_client(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("203.0.113.5", "10.20.0.1")) == "203.0.113.5"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    assert client_ip(request_from("203.0.113.5", "10.20.0.1")) == "203.0.113.5"


def test_behind_a_trusted_proxy_the_right_most_hop_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    # The client claims to be 10.20.0.1; the proxy appended what it really saw.
    assert client_ip(request_from(PROXY, "10.20.0.1, 203.0.113.5")) == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_skipped(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24", "2001:db8::/32"]

    forwarded = "10.20.0.1, 203.0.113.5, 2001:db8::7, 192.0.2.11"
    assert client_ip(request_from(PROXY, forwarded)) == "203.0.113.5"


def test_when_every_hop_is_a_proxy_the_left_most_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    assert client_ip(request_from(PROXY, "192.0.2.12,192.0.2.11")) == "192.0.2.12"


def test_a_trusted_proxy_that_forwards_nothing_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    assert client_ip(request_from(PROXY)) == PROXY


def test_a_garbled_hop_means_the_client_is_unknown(settings):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    assert client_ip(request_from(PROXY, "203.0.113.5, not-an-address")) is None


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("203.0.113.5:51234", "203.0.113.5"),
        ("[2001:db8:1::5]:443", "2001:db8:1::5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        (" 203.0.113.5 ", "203.0.113.5"),
    ],
)
def test_ports_brackets_and_mapped_addresses_are_understood(settings, forwarded, expected):
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    assert client_ip(request_from(PROXY, forwarded)) == expected


def test_an_ipv4_mapped_socket_address_is_plain_ipv4(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("::ffff:10.20.0.1")) == "10.20.0.1"


# INBOX_ALLOWED_NETWORKS


@pytest.fixture
def office_only(settings):
    settings.INBOX_ALLOWED_NETWORKS = [OFFICE]
    settings.TRUSTED_PROXIES = []


OUTSIDE = {"REMOTE_ADDR": "203.0.113.5"}
INSIDE = {"REMOTE_ADDR": "10.20.3.4"}


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/admin/", "/admin/login/", "/c/1/", "/poll/"]
)
def test_staff_pages_refuse_other_networks_with_a_short_message(client, office_only, path):
    response = client.get(path, **OUTSIDE)

    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"This page can only be reached from the organisation's network."


def test_signed_in_staff_outside_the_network_are_refused_too(staff_client, office_only):
    assert staff_client.get("/", **OUTSIDE).status_code == 403
    assert staff_client.post(reverse("inbox:language"), **OUTSIDE).status_code == 403


def test_staff_pages_answer_inside_the_network(staff_client, office_only):
    assert Client().get("/accounts/login/", **INSIDE).status_code == 200
    assert staff_client.get("/", **INSIDE).status_code == 200


def test_the_webhook_and_health_check_answer_from_anywhere(client, office_only, settings):
    token = settings.WHATSAPP_VERIFY_TOKEN
    verify = client.get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"},
        **OUTSIDE,
    )

    assert verify.status_code == 200
    assert verify.content == b"42"
    assert client.get("/healthz", **OUTSIDE).status_code == 200


def test_signed_webhooks_arrive_from_anywhere(post_webhook, office_only):
    from messaging import payloads as p

    response = post_webhook(
        p.envelope(p.value(messages=[p.text_message("hi")])), REMOTE_ADDR="203.0.113.5"
    )

    assert response.status_code == 200


def test_the_public_privacy_page_answers_from_anywhere(client, office_only):
    assert client.get("/privacy/", **OUTSIDE).status_code == 200


def test_static_files_are_served_from_anywhere(client, office_only):
    assert client.get("/favicon.ico", **OUTSIDE).status_code == 200


def test_behind_a_proxy_the_forwarded_client_address_decides(client, settings):
    settings.INBOX_ALLOWED_NETWORKS = [OFFICE]
    settings.TRUSTED_PROXIES = ["192.0.2.0/24"]

    inside = client.get("/accounts/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="10.20.3.4")
    spoofed = client.get(
        "/accounts/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="10.20.3.4, 203.0.113.5"
    )
    unknown = client.get("/accounts/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="garbage")

    assert inside.status_code == 200
    assert spoofed.status_code == 403
    assert unknown.status_code == 403


def test_without_a_list_every_network_is_allowed(client, settings):
    settings.INBOX_ALLOWED_NETWORKS = []

    assert client.get("/accounts/login/", **OUTSIDE).status_code == 200


def test_open_to_internet_marks_the_view_and_returns_it():
    def view(request):
        raise NotImplementedError

    assert open_to_internet(view) is view
    assert view.open_to_internet is True


def test_the_only_views_open_to_the_internet_are_the_public_ones():
    """Exactly the webhook, the health check, the metrics (which have their own network and
    token rule) and the privacy page."""
    from tests.url_walk import walk

    open_paths = {
        entry.path for entry in walk() if getattr(entry.callback, "open_to_internet", False)
    }

    assert open_paths == {"/webhooks/whatsapp/", "/healthz", "/metrics", "/privacy/"}
