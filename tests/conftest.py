import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings


def pytest_sessionstart(session):
    """Tests run with DEBUG off, so pages link hashed files from WhiteNoise's manifest: build it.

    Once, in the one process that is not an xdist worker (the controller starts the workers
    after this hook), so that parallel workers never write STATIC_ROOT at the same time. Doing
    it here rather than in the Makefile keeps a bare `pytest` run working too.
    """
    if not hasattr(session.config, "workerinput"):
        call_command("collectstatic", interactive=False, verbosity=0)


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


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


def grant(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # a fresh instance: permissions are cached


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


class DatabaseFault:
    """Switches a database fault on and off (removed at teardown in any case)."""

    def __init__(self, run, create, drop):
        self.run, self.create, self.drop = run, create, drop

    def start(self):
        self.run(self.create)

    def stop(self):
        self.run(self.drop)


@pytest.fixture
def message_insert_failure(django_db_blocker):
    """Make the database refuse new message rows, like a crash while applying a webhook.

    A trigger, not a mock: the real code path runs and hits a real database error.
    Call .start() to break inserts and .stop() to mend them.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        create = [
            "CREATE FUNCTION test_fail_insert() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'forced failure for a test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER test_fail_message_insert BEFORE INSERT ON messaging_message "
            "FOR EACH ROW EXECUTE FUNCTION test_fail_insert()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS test_fail_message_insert ON messaging_message",
            "DROP FUNCTION IF EXISTS test_fail_insert()",
        ]
    else:
        create = [
            "CREATE TRIGGER test_fail_message_insert BEFORE INSERT ON messaging_message "
            "BEGIN SELECT RAISE(ABORT, 'forced failure for a test'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS test_fail_message_insert"]

    def run(statements):
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    fault = DatabaseFault(run, create, drop)
    yield fault
    fault.stop()
