import logging
import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest
import responses
from django.core.management import call_command
from django.test import Client, override_settings

from config.media_storage import media_storage
from messaging import payloads as p
from messaging.backends import locmem
from messaging.ingest import receive
from messaging.models import Conversation
from tests.staff_support import grant
from tests.storage_support import S3_BUCKET, S3_KEYS, S3_REGION, s3_client


def pytest_sessionstart(session):
    """Tests run with DEBUG off, so pages link hashed files from WhiteNoise's manifest: build it.

    Once, in the one process that is not an xdist worker (the controller starts the workers
    after this hook), so that parallel workers never write STATIC_ROOT at the same time. Doing
    it here rather than in the Makefile keeps a bare `pytest` run working too.
    """
    if hasattr(session.config, "workerinput"):
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    # What Django logged while starting was captured; the xdist controller runs no test to
    # report it with, so pytest would print it after the closing "N passed" line: print it now.
    capture = session.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:  # None under -p no:capture, where nothing was held back
        out, err = capture.read_global_capture()
        with capture.global_and_fixture_disabled():
            sys.stdout.write(out)
            sys.stderr.write(err)


def pytest_collection_modifyitems(items):
    """Browser tests take turns on one xdist worker (make test distributes by group): each
    drives a Chromium against a live server, and those that watch something on screen for a
    moment (a highlight lasts 1.6 s) miss it when two browsers share the CPU."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """Every create_user and sign-in would pay PBKDF2 at full strength (about half a second a
    hash); no test is about the hash's strength, so tests hash with MD5."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    """Files the code under test writes land in the test's own folder: never in the checkout,
    never in one that another test, or a parallel worker, also uses."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3 server (moto's, in a thread) on loopback for the whole session, with one
    bucket; its endpoint URL. Tests share the bucket, each under a prefix of its own
    (s3_storage)."""
    # Imported here, as playwright is below: moto and Flask take most of a second to import,
    # which runs without a test of the bucket need not pay.
    from moto.server import ThreadedMotoServer

    # One line per request on the console otherwise.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3_client(endpoint).create_bucket(Bucket=S3_BUCKET)
    yield endpoint
    server.stop()
    werkzeug.setLevel(level)


@pytest.fixture
def s3_bucket(s3_endpoint):
    """A boto3 client of the local S3 server, to look into the bucket behind the storage."""
    return s3_client(s3_endpoint)


@pytest.fixture
def s3_storage(settings, s3_endpoint):
    """Attachments wait in the local S3 bucket, under a prefix of this test's own, configured
    as MEDIA_STORAGE_URL would configure them; the prefix."""
    prefix = f"test-{uuid.uuid4().hex}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage(
            f"s3://{S3_BUCKET}/{prefix}?endpoint_url={s3_endpoint}&region={S3_REGION}", *S3_KEYS
        ),
    }
    return prefix


@pytest.fixture(autouse=True)
def _empty_outbox():
    """The locmem transport keeps what was sent in its module: each test starts and ends with
    an empty outbox, no queued failures, no media and no template pages."""
    locmem.reset()
    yield
    locmem.reset()


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def staff_user(django_user_model, password):
    """An agent: reads conversations and replies."""
    user = django_user_model.objects.create_user(
        username="amina", password=password, first_name="Amina", is_staff=True
    )
    return grant(user, "view_conversation", "reply_conversation")


@pytest.fixture
def supervisor(django_user_model, password):
    user = django_user_model.objects.create_user(
        username="salma", password=password, first_name="Salma", is_staff=True
    )
    return grant(
        user,
        "view_conversation",
        "reply_conversation",
        "assign_conversation",
        "close_any_conversation",
    )


@pytest.fixture
def non_staff_user(django_user_model, password):
    return django_user_model.objects.create_user(username="visitor", password=password)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def superuser(django_user_model, password):
    return django_user_model.objects.create_superuser("root", "root@example.org", password)


@pytest.fixture
def admin_client(django_user_model):
    """A superuser named root, signed in on a client of its own (replaces pytest-django's)."""
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("root", "root@example.org", None))
    return admin


@pytest.fixture
def conversation():
    """Amina's conversation, opened by her "Hello?" through the real ingestion."""
    receive(
        p.encode(
            p.envelope(
                p.value(
                    contacts=[p.contact(wa_id=p.USER_WA_ID, name="Amina")],
                    messages=[p.text_message("Hello?", wamid="wamid.IN")],
                )
            )
        )
    )
    return Conversation.objects.get()


@pytest.fixture
def cloud(settings):
    """The real Graph API transport, talking to `responses` instead of Meta."""
    settings.WHATSAPP_TRANSPORT = {"BACKEND": "cloud", "OPTIONS": {}}
    settings.WHATSAPP_ACCESS_TOKEN = "test-token"
    settings.WHATSAPP_GRAPH_URL = "https://graph.facebook.com"
    with responses.RequestsMock() as mocked:
        yield mocked


@pytest.fixture
def unreachable_database(django_db_blocker):
    """Point the default connection at a database that cannot be reached, then restore it."""
    from django.db import connections

    original = connections["default"]
    broken = connections.create_connection("default")
    if broken.vendor == "sqlite":
        broken.settings_dict = {**broken.settings_dict, "NAME": "/nonexistent/dir/db.sqlite3"}
    else:
        broken.settings_dict = {**broken.settings_dict, "HOST": "127.0.0.1", "PORT": "1"}
    connections["default"] = broken
    with django_db_blocker.unblock():
        yield
    broken.close()
    connections["default"] = original


# Browser tests: Playwright driving the system Chromium (Debian's `chromium`; Playwright cannot
# download its own browsers here). CHROMIUM_PATH overrides the location.


def chromium_path():
    configured = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if Path(configured).is_file():
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Flags from this environment's notes: as root Chromium needs --no-sandbox, and without the
# background-networking flags it keeps trying to reach Google over a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if not executable:
        pytest.skip("No Chromium found: install Debian's chromium package or set CHROMIUM_PATH.")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # refuse ORM calls as "async context". Allow them only while a browser module runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class ConsoleErrors(list):
    """Console errors and failed requests seen by a page; CSP violations land here."""


@pytest.fixture
def page_errors():
    return ConsoleErrors()


@pytest.fixture
def serialised_live_server(monkeypatch):
    """One request at a time on the live server (see tests/live_support.py for why)."""
    from django.core.handlers.wsgi import WSGIHandler

    from tests.live_support import DATABASE_LOCK

    handle = WSGIHandler.__call__

    def serialised(self, environ, start_response):
        with DATABASE_LOCK:
            return handle(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", serialised)


@pytest.fixture
def live_settings(settings):
    """Settings for a browser against the live server."""
    # pytest-django's live server answers /static/ itself, from the finders, which know only
    # unhashed names; WhiteNoise's manifest is exercised by the non-browser tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The live server answers one request at a time and each answer restarts the page's
    # poll timer: polling every second keeps "on screen within 3 s" well within reach.
    settings.INBOX_POLL_SECONDS = 1
    return settings


@pytest.fixture
def page(browser, live_server, page_errors, live_settings, serialised_live_server):
    from tests.live_support import close_browser_context

    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and page_errors.append(msg.text))
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("response", lambda r: r.status >= 400 and page_errors.append(f"{r.status} {r.url}"))
    yield page
    close_browser_context(context)


@pytest.fixture
def post_webhook(client, settings):
    """POST a webhook body to our endpoint, signed as Meta signs it, then let the worker
    apply what it stored (`apply=False`: leave it queued)."""
    from messaging.payloads import encode
    from messaging.signature import sign
    from tests.webhook_support import run_webhook_tasks

    def post(payload, *, secret=None, body=None, apply=True, **headers):
        raw = body if body is not None else encode(payload)
        signature = sign(raw, secret or settings.WHATSAPP_APP_SECRETS[0])
        response = client.post(
            "/webhooks/whatsapp/",
            raw,
            content_type="application/json",
            headers={"X-Hub-Signature-256": signature, **headers},
        )
        if apply:
            run_webhook_tasks()
        return response

    return post


@pytest.fixture
def capture():
    """`capture(file, case)`: a fresh copy of one real webhook body of the shared corpus
    (../shared/whatsapp-corpus, e.g. capture("pywa/message", "document")); the test is
    skipped when the corpus is not beside the repository (a user's fresh clone)."""
    import copy
    import json

    from tests.webhook_support import corpus_dir

    corpus = corpus_dir()
    if not corpus.is_dir():
        pytest.skip(f"WhatsApp payload corpus not found at {corpus}")

    def load(file, case):
        return copy.deepcopy(json.loads((corpus / f"{file}.json").read_text())[case])

    return load
