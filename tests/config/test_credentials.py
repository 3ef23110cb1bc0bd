"""API credentials and SECRET_KEY: only from the environment or *_FILE secrets; never rendered,
logged or stored; their strength checked by `check --deploy`; their presence shown in admin."""

import logging
import runpy

import pytest
import responses
from axes.models import AccessAttempt
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from messaging import payloads as p
from messaging.checks import check_credential_strength
from messaging.models import Message, WebhookEvent
from messaging.tasks import send_message
from staff.checks import check_proxy_addresses
from tests.config.test_settings import SETTINGS_FILE, VARIABLES, production_env
from tests.url_walk import walk

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "EAAGm0PX4ZCpsBAJ7ZBzZCxUnlikelyAccessTokenValue" + "Zq9" * 20
APP_SECRETS = ["0f1e2d3c4b5a69788796a5b4c3d2e1f0", "a1b2c3d4e5f60718293a4b5c6d7e8f90"]
VERIFY_TOKEN = "vT-unlikely-verify-token-8Qx2"
SECRET_KEY = "sk-unlikely-secret-key-value-for-this-test-only-7Hq2Lw9Zr4Tn6Yb1"
SECRETS = [ACCESS_TOKEN, *APP_SECRETS, VERIFY_TOKEN, SECRET_KEY]


# env_secret and the settings that use it


@pytest.fixture
def load_settings(monkeypatch):
    def load(env):
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ENV_FILE", "")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_secrets_come_from_files_named_by_file_variables(load_settings, tmp_path):
    files = {
        "SECRET_KEY": SECRET_KEY,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": "\n".join(APP_SECRETS),  # one per line, while rotating
        "SECRET_KEY_FALLBACKS": "old-key-1,old-key-2",
    }
    env = production_env()
    for name, content in files.items():
        env.pop(name, None)
        (tmp_path / name).write_text(content + "\n")  # editors and `echo` add a newline
        env[f"{name}_FILE"] = str(tmp_path / name)

    settings = load_settings(env)

    assert settings["SECRET_KEY"] == SECRET_KEY
    assert settings["WHATSAPP_ACCESS_TOKEN"] == ACCESS_TOKEN
    assert settings["WHATSAPP_VERIFY_TOKEN"] == VERIFY_TOKEN
    assert settings["WHATSAPP_APP_SECRETS"] == APP_SECRETS
    assert settings["SECRET_KEY_FALLBACKS"] == ["old-key-1", "old-key-2"]


def test_a_secret_set_both_ways_is_an_error(load_settings, tmp_path):
    (tmp_path / "token").write_text(ACCESS_TOKEN)

    with pytest.raises(ImproperlyConfigured, match="WHATSAPP_ACCESS_TOKEN or WHATSAPP_ACCESS"):
        load_settings(production_env(WHATSAPP_ACCESS_TOKEN_FILE=str(tmp_path / "token")))


def test_an_unreadable_secret_file_is_an_error_naming_the_variable(load_settings, tmp_path):
    env = production_env(SECRET_KEY_FILE=str(tmp_path / "missing"))
    del env["SECRET_KEY"]

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE") as caught:
        load_settings(env)
    assert "FileNotFoundError" in str(caught.value)


def test_secret_values_are_stripped(load_settings):
    settings = load_settings(production_env(WHATSAPP_VERIFY_TOKEN=f"  {VERIFY_TOKEN}\n"))

    assert settings["WHATSAPP_VERIFY_TOKEN"] == VERIFY_TOKEN


# The other settings of this issue, validated at start-up


@pytest.mark.parametrize("name", ["TRUSTED_PROXIES", "INBOX_ALLOWED_NETWORKS"])
@pytest.mark.parametrize("value", ["10.0.0.0/33", "intranet", "10.0.0.1/8", "10.0.0.0/8;"])
def test_bad_networks_stop_the_start_naming_the_variable(load_settings, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(production_env(**{name: value}))


def test_networks_are_read_as_cidr_lists(load_settings):
    settings = load_settings(
        production_env(
            INBOX_ALLOWED_NETWORKS="10.20.0.0/16, 2001:db8::/32,192.0.2.7", TRUSTED_PROXIES=""
        )
    )

    assert settings["INBOX_ALLOWED_NETWORKS"] == ["10.20.0.0/16", "2001:db8::/32", "192.0.2.7/32"]
    assert settings["TRUSTED_PROXIES"] == []


def test_throttling_and_session_defaults(load_settings):
    settings = load_settings(production_env())

    assert settings["AXES_FAILURE_LIMIT"] == 5
    assert settings["AXES_COOLOFF_TIME"].total_seconds() == 15 * 60
    assert settings["AXES_LOCKOUT_PARAMETERS"] == ["username", "ip_address"]
    assert settings["AXES_RESET_ON_SUCCESS"] is True
    assert settings["SESSION_IDLE_MINUTES"] == 480
    assert settings["SESSION_MAX_HOURS"] == 12
    assert settings["SESSION_COOKIE_AGE"] == 12 * 60 * 60


def test_throttling_and_session_limits_are_configurable(load_settings):
    settings = load_settings(
        production_env(
            LOGIN_FAILURE_LIMIT="10",
            LOGIN_COOLOFF_MINUTES="60",
            SESSION_IDLE_MINUTES="20",
            SESSION_MAX_HOURS="9",
        )
    )

    assert settings["AXES_FAILURE_LIMIT"] == 10
    assert settings["AXES_COOLOFF_TIME"].total_seconds() == 60 * 60
    assert settings["SESSION_IDLE_MINUTES"] == 20
    # The session cookie never outlives the absolute maximum.
    assert settings["SESSION_COOKIE_AGE"] == 9 * 60 * 60


@pytest.mark.parametrize(
    "name",
    ["LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"],
)
@pytest.mark.parametrize("value", ["0", "five"])
def test_bad_limits_stop_the_start_naming_the_variable(load_settings, name, value):
    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings(production_env(**{name: value}))


# check --deploy


@pytest.fixture
def strong(settings):
    settings.WHATSAPP_APP_SECRETS = list(APP_SECRETS)
    settings.WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.WHATSAPP_ACCESS_TOKEN = ACCESS_TOKEN
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "cloud", "OPTIONS": {}}
    return settings


def ids(problems):
    return [problem.id for problem in problems]


def test_strong_credentials_pass(strong):
    assert check_credential_strength(None) == []


def test_an_app_secret_that_is_not_32_hex_characters_warns(strong):
    strong.WHATSAPP_APP_SECRETS = [APP_SECRETS[0], "not-a-meta-app-secret"]

    problems = check_credential_strength(None)

    assert ids(problems) == ["credentials.W001"]
    assert "secret 2 of 2" in problems[0].msg


def test_a_short_verify_token_warns(strong):
    strong.WHATSAPP_VERIFY_TOKEN = "short-token"

    assert ids(check_credential_strength(None)) == ["credentials.W002"]


def test_a_short_or_missing_access_token_warns_when_sending_through_meta(strong):
    strong.WHATSAPP_ACCESS_TOKEN = "EAA-placeholder"
    assert ids(check_credential_strength(None)) == ["credentials.W004"]

    strong.WHATSAPP_ACCESS_TOKEN = ""
    assert ids(check_credential_strength(None)) == ["credentials.W003"]

    strong.WHATSAPP_TRANSPORT = {"BACKEND": "console", "OPTIONS": {}}
    assert check_credential_strength(None) == []


def test_the_warnings_never_quote_a_value(strong):
    strong.WHATSAPP_APP_SECRETS = ["weak-app-secret-value"]
    strong.WHATSAPP_VERIFY_TOKEN = "weak-verify"
    strong.WHATSAPP_ACCESS_TOKEN = "weak-access-token"

    problems = check_credential_strength(None)

    assert len(problems) == 3
    for problem in problems:
        for value in ("weak-app-secret-value", "weak-verify", "weak-access-token"):
            assert value not in problem.msg + problem.hint


def test_behind_a_proxy_an_empty_trusted_proxies_warns(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = []
    assert ids(check_proxy_addresses(None)) == ["access.W001"]

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    assert check_proxy_addresses(None) == []

    settings.SECURE_PROXY_SSL_HEADER = None  # no proxy assumed (HTTPS_ONLY off)
    settings.TRUSTED_PROXIES = []
    assert check_proxy_addresses(None) == []


def test_they_are_deployment_checks(settings):
    settings.WHATSAPP_VERIFY_TOKEN = "short"

    assert "credentials.W002" not in ids(run_checks())
    assert "credentials.W002" in ids(run_checks(include_deployment_checks=True))


# The admin shows which credentials are set, never their values


@pytest.fixture
def superuser_client(staff_client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    return staff_client


def test_the_admin_index_shows_whether_each_credential_is_set(superuser_client, strong):
    html = superuser_client.get("/admin/").content.decode()

    assert "WhatsApp credentials" in html
    assert "Set (2 secrets, rotating)" in html
    assert "Not set" not in html
    for secret in SECRETS:
        assert secret not in html


def test_the_admin_index_flags_missing_and_weak_credentials(superuser_client, strong):
    strong.WHATSAPP_APP_SECRETS = []
    strong.WHATSAPP_VERIFY_TOKEN = "short"
    strong.WHATSAPP_ACCESS_TOKEN = ""

    html = superuser_client.get("/admin/").content.decode()

    assert "Not set: the webhook refuses everything" in html
    assert "Short: use at least 16 random characters" in html
    assert "Not set: replies cannot be sent" in html


def test_only_superusers_see_the_credentials_box(staff_client, staff_user, strong):
    assert b"WhatsApp credentials" not in staff_client.get("/admin/").content


# Never rendered, never logged


@pytest.fixture
def secrets_in_use(settings):
    settings.SECRET_KEY = SECRET_KEY
    settings.WHATSAPP_APP_SECRETS = list(APP_SECRETS)
    settings.WHATSAPP_VERIFY_TOKEN = VERIFY_TOKEN
    settings.WHATSAPP_ACCESS_TOKEN = ACCESS_TOKEN
    return settings


def assert_no_secret_in(text, where):
    for secret in SECRETS:
        assert secret not in text, (where, secret[:6])


def response_text(response):
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8", "replace")
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    return headers + "\n" + body


def test_no_page_ever_shows_a_secret(
    client, staff_user, secrets_in_use, post_webhook, django_capture_on_commit_callbacks
):
    # Data on every kind of page: a conversation with text and media, a reply, a status, a
    # webhook event that failed to apply, a failed sign-in.
    media = p.media_message("image", caption="a photo")
    post_webhook(
        p.envelope(
            p.value(
                contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
                messages=[p.text_message("Hello?"), media],
            )
        )
    )
    post_webhook(p.envelope(p.value(statuses=[p.status("wamid.unknown", "delivered")])))
    post_webhook(None, body=b'{"entry": "not a list"}')
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    Client().post(reverse("login"), {"username": "omar", "password": "wrong"})
    assert AccessAttempt.objects.exists()
    conversation = Message.objects.first().conversation
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("inbox:reply", args=[conversation.pk]), {"text": "Hi there"})
    image = Message.objects.get(wamid=media["id"])

    routes = list(walk({"pk": conversation.pk, "message_pk": image.pk}, objects=True))
    assert len(routes) > 80
    for route in routes:
        response = client.get(route.path)
        assert response.status_code < 500, route
        assert_no_secret_in(response_text(response), route.path)
    # And the pages the URL walk cannot guess: search, filters, a webhook event's detail.
    event = WebhookEvent.objects.order_by("pk").first()
    for path in (
        f"/?q={p.USER_WA_ID}",
        f"/c/{conversation.pk}/?state=closed",
        reverse("admin:messaging_webhookevent_change", args=[event.pk]),
        reverse("admin:axes_accessattempt_change", args=[AccessAttempt.objects.get().pk]),
    ):
        assert_no_secret_in(response_text(client.get(path)), path)


@pytest.fixture
def all_logs(caplog):
    """caplog sees the root logger; "django" does not propagate there (settings.LOGGING)."""
    caplog.set_level(logging.DEBUG)
    django_logger = logging.getLogger("django")
    django_logger.addHandler(caplog.handler)
    yield caplog
    django_logger.removeHandler(caplog.handler)


@pytest.fixture
def graph(settings):
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "cloud", "OPTIONS": {}}
    settings.WHATSAPP_GRAPH_URL = "https://graph.facebook.com"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked


def test_logs_of_a_webhook_and_reply_flow_never_contain_a_secret(
    client,
    staff_user,
    secrets_in_use,
    graph,
    post_webhook,
    all_logs,
    django_capture_on_commit_callbacks,
):
    staff = Client()
    staff.force_login(staff_user)  # after secrets_in_use has set SECRET_KEY
    messages_url = f"https://graph.facebook.com/v23.0/{p.PHONE_NUMBER_ID}/messages"

    # Meta verifies the webhook (and someone guesses wrong), then posts messages, some badly
    # signed; staff reply; Meta refuses once, then accepts; statuses follow.
    client.get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    )
    client.get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"},
    )
    body = p.envelope(
        p.value(
            contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
            messages=[p.text_message("Hello?")],
        )
    )
    assert post_webhook(body).status_code == 200
    assert post_webhook(body, secret="wrong-secret").status_code == 403
    assert post_webhook(body, secret=APP_SECRETS[1]).status_code == 200
    conversation = Message.objects.get().conversation
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("inbox:reply", args=[conversation.pk]), {"text": "Hi there"})
    reply = Message.objects.get(direction="out")
    graph.post(
        messages_url,
        status=400,
        json={"error": {"message": "(#131000) Something", "code": 131000, "type": "X"}},
    )
    send_message.call(reply.pk)
    graph.replace(responses.POST, messages_url, json={"messages": [{"id": "wamid.OUT"}]})
    Message.objects.filter(pk=reply.pk).update(next_attempt_at=None)
    send_message.call(reply.pk)
    post_webhook(p.envelope(p.value(statuses=[p.status("wamid.OUT", "read")])))

    assert graph.calls, "the flow reached the Graph API"
    assert graph.calls[-1].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    logged = all_logs.text + "\n".join(
        str(record.args) + str(record.exc_text) for record in all_logs.records
    )
    assert "webhook" in logged
    assert "django.request" in logged  # the 403s, logged by Django itself
    assert_no_secret_in(logged, "logs")
