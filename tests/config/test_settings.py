"""config/settings.py loaded afresh under different environments."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
SETTINGS_FILE = BASE_DIR / "config" / "settings.py"

PRODUCTION_ENV = {
    "DEBUG": "off",
    "SECRET_KEY": "k3Yq9-production-like-secret-key-for-tests-0123456789-abcdefghijkl",
    "ALLOWED_HOSTS": "inbox.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://inbox.example.org",
    "DATABASE_URL": "postgres://waba@db.internal:5432/waba",
    # Realistic shapes (check --deploy warns on weak ones), generated per run, never committed.
    "WHATSAPP_APP_SECRET": secrets.token_hex(16),
    "WHATSAPP_VERIFY_TOKEN": secrets.token_urlsafe(24),
    "WHATSAPP_ACCESS_TOKEN": "EAA" + secrets.token_urlsafe(150),
    "TRUSTED_PROXIES": "127.0.0.1/32",  # the TLS-terminating proxy on the same machine
    "ERASURE_HASH_KEY": secrets.token_urlsafe(50),
}

VARIABLES = [
    "DEBUG", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
    "HTTPS_ONLY", "DATABASE_URL", "CONN_MAX_AGE", "TIME_ZONE", "LOG_LEVEL",
    "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_WABA_ID",
    "WHATSAPP_API_VERSION", "WHATSAPP_GRAPH_URL", "WHATSAPP_BACKEND",
    "SECRET_KEY_FILE", "SECRET_KEY_FALLBACKS_FILE", "WHATSAPP_APP_SECRET_FILE",
    "WHATSAPP_VERIFY_TOKEN_FILE", "WHATSAPP_ACCESS_TOKEN_FILE", "TRUSTED_PROXIES",
    "INBOX_ALLOWED_NETWORKS", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS",
    "LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES", "ERASURE_HASH_KEY", "ERASURE_HASH_KEY_FILE",
]  # fmt: skip


def production_env(**changes):
    return {**PRODUCTION_ENV, **changes}


@pytest.fixture
def load_settings(monkeypatch):
    """Run the settings module with exactly the given variables (no .env file)."""

    def load(env):
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ENV_FILE", "")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_it_refuses_to_start_without_secret_key_when_debug_is_off(load_settings):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        load_settings(production_env(SECRET_KEY=""))


def test_debug_is_off_unless_asked_for(load_settings):
    env = production_env()
    del env["DEBUG"]

    assert load_settings(env)["DEBUG"] is False


def test_debug_runs_without_secret_key_on_localhost(load_settings):
    settings = load_settings({"DEBUG": "on"})

    assert settings["SECRET_KEY"]
    assert "localhost" in settings["ALLOWED_HOSTS"]


def test_a_misspelt_boolean_is_an_error_not_false(load_settings):
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        load_settings(production_env(DEBUG="ture"))


def test_production_needs_allowed_hosts(load_settings):
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        load_settings(production_env(ALLOWED_HOSTS=""))


def test_csrf_trusted_origins_need_a_scheme(load_settings):
    with pytest.raises(ImproperlyConfigured, match="CSRF_TRUSTED_ORIGINS"):
        load_settings(production_env(CSRF_TRUSTED_ORIGINS="inbox.example.org"))


def test_production_enforces_https(load_settings):
    settings = load_settings(production_env())

    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["CSRF_COOKIE_HTTPONLY"] is True
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_database_defaults_to_sqlite_next_to_manage_py(load_settings):
    settings = load_settings({"DEBUG": "on"})

    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(BASE_DIR / "db.sqlite3")


def test_postgres_url_selects_postgresql_with_persistent_connections(load_settings):
    database = load_settings(production_env())["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5432, "waba")
    assert database["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("option", "disabled"),
    [("", False), ("?disable_server_side_cursors=true", True),
     ("?disable_server_side_cursors=True", True), ("?disable_server_side_cursors=false", False)],
)  # fmt: skip
def test_server_side_cursors_can_be_disabled_in_the_url_for_pgbouncer(
    load_settings, option, disabled
):
    url = "postgres://waba@127.0.0.1:6432/waba" + option
    database = load_settings(production_env(DATABASE_URL=url))["DATABASES"]["default"]

    assert database.get("DISABLE_SERVER_SIDE_CURSORS", False) is disabled
    assert database["NAME"] == "waba"


def test_unsupported_databases_are_refused(load_settings):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        load_settings(production_env(DATABASE_URL="mysql://root@localhost/waba"))


def test_app_secrets_are_a_list_for_rotation(load_settings):
    settings = load_settings(production_env(WHATSAPP_APP_SECRET="new-secret, old-secret"))

    assert settings["WHATSAPP_APP_SECRETS"] == ["new-secret", "old-secret"]


@pytest.mark.parametrize(
    "url",
    ["http://graph.example.com", "ftp://127.0.0.1", "graph.facebook.com", "http://10.0.0.8:8080"],
)
def test_graph_url_must_be_https_unless_loopback(load_settings, url):
    with pytest.raises(ImproperlyConfigured, match="WHATSAPP_GRAPH_URL"):
        load_settings(production_env(WHATSAPP_GRAPH_URL=url))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:9000/", "http://[::1]"])
def test_graph_url_may_be_plain_http_on_loopback(load_settings, url):
    assert load_settings(production_env(WHATSAPP_GRAPH_URL=url))["WHATSAPP_GRAPH_URL"]


def check_deploy(env):
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in VARIABLES and key != "HTTPS_ONLY"
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={**inherited, **env, "ENV_FILE": "", "DATABASE_URL": "sqlite:///:memory:"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_passes_with_production_settings():
    result = check_deploy(production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# The erasure tombstones' key.


def test_the_tombstone_key_is_its_own_setting(load_settings, tmp_path):
    key_file = tmp_path / "erasure_hash_key"
    key_file.write_text("from-a-file-" + "k" * 40 + "\n")

    given = load_settings(production_env(ERASURE_HASH_KEY="a-key-of-its-own-" + "x" * 40))
    env = production_env(ERASURE_HASH_KEY_FILE=str(key_file))
    del env["ERASURE_HASH_KEY"]
    from_file = load_settings(env)

    assert given["ERASURE_HASH_KEY"] == "a-key-of-its-own-" + "x" * 40
    assert given["ERASURE_HASH_KEY_DERIVED"] is False
    assert from_file["ERASURE_HASH_KEY"] == "from-a-file-" + "k" * 40


def test_rotating_secret_key_leaves_a_set_tombstone_key_alone(load_settings):
    before = load_settings(production_env())
    after = load_settings(production_env(SECRET_KEY=secrets.token_urlsafe(50)))

    assert (
        before["ERASURE_HASH_KEY"]
        == after["ERASURE_HASH_KEY"]
        == PRODUCTION_ENV["ERASURE_HASH_KEY"]
    )


def test_without_a_tombstone_key_check_deploy_warns():
    env = production_env()
    del env["ERASURE_HASH_KEY"]

    result = check_deploy(env)

    assert result.returncode != 0
    assert "privacy.W001" in result.stderr + result.stdout
    assert "ERASURE_HASH_KEY is not set" in result.stderr + result.stdout


@pytest.mark.django_db
def test_a_short_tombstone_key_is_a_deployment_warning(settings):
    from django.core.checks import run_checks

    settings.ERASURE_HASH_KEY_DERIVED = False
    settings.ERASURE_HASH_KEY = "short"
    short = {message.id for message in run_checks(include_deployment_checks=True)}
    settings.ERASURE_HASH_KEY = secrets.token_urlsafe(50)
    long = {message.id for message in run_checks(include_deployment_checks=True)}

    assert "privacy.W002" in short
    assert not {"privacy.W001", "privacy.W002"} & long
