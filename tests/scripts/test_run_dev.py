"""scripts/run_dev.py: the development defaults `make run` fills in, and only those missing."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_dev.py"


@pytest.fixture(scope="module")
def run_dev():
    spec = importlib.util.spec_from_file_location("run_dev", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_bare_environment_gets_every_development_default(run_dev):
    defaults = run_dev.development_defaults({})

    assert defaults == {
        "DEBUG": "on",
        "SECRET_KEY": "django-insecure-local-development-only",
        "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
        "WHATSAPP_APP_SECRET": "dev-app-secret",
        "WHATSAPP_BACKEND": "console",
    }


@pytest.mark.parametrize("name", ["SECRET_KEY", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET"])
def test_a_secret_given_as_a_file_gets_no_default_beside_it(run_dev, name):
    defaults = run_dev.development_defaults({f"{name}_FILE": "/run/secrets/x"})

    # The settings refuse NAME and NAME_FILE together.
    assert name not in defaults
    assert f"{name}_FILE" not in defaults


def test_variables_already_set_are_kept(run_dev):
    environment = {
        "DEBUG": "off",
        "SECRET_KEY": "mine",
        "WHATSAPP_VERIFY_TOKEN": "mine",
        "WHATSAPP_APP_SECRET": "mine",
        "WHATSAPP_BACKEND": "locmem",
    }

    assert run_dev.development_defaults(environment) == {}


@pytest.mark.parametrize("token", ["WHATSAPP_ACCESS_TOKEN", "WHATSAPP_ACCESS_TOKEN_FILE"])
def test_an_access_token_in_either_form_keeps_the_real_transport(run_dev, token):
    assert "WHATSAPP_BACKEND" not in run_dev.development_defaults({token: "x"})


def test_empty_values_count_as_unset(run_dev):
    defaults = run_dev.development_defaults({"SECRET_KEY": "", "SECRET_KEY_FILE": ""})

    assert defaults["SECRET_KEY"] == "django-insecure-local-development-only"


def test_the_settings_start_with_the_defaults_and_secrets_from_files(run_dev, tmp_path):
    (tmp_path / "key").write_text("k" * 60 + "\n")
    (tmp_path / "token").write_text("EAA-from-a-file\n")
    environment = {
        "SECRET_KEY_FILE": str(tmp_path / "key"),
        "WHATSAPP_ACCESS_TOKEN_FILE": str(tmp_path / "token"),
    }
    environment |= run_dev.development_defaults(environment)

    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        env={**environment, "ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["k" * 60, "EAA-from-a-file", "cloud"]


SHOW_SETTINGS = """
from django.conf import settings
print(settings.SECRET_KEY, settings.WHATSAPP_ACCESS_TOKEN, settings.WHATSAPP_BACKEND)
"""


def test_it_serves_on_run_address_when_set_and_on_the_default_otherwise(run_dev):
    assert run_dev.serving_address({"RUN_ADDRESS": "0.0.0.0:9000"}) == "0.0.0.0:9000"
    assert run_dev.serving_address({"RUN_ADDRESS": "  "}) == "127.0.0.1:8000"
    assert run_dev.serving_address({}) == "127.0.0.1:8000"


def test_make_run_gives_staff_replies_a_worker_of_their_own_beside_one_for_every_queue(run_dev):
    workers = [c[c.index("db_worker") + 1 :] for c in run_dev.commands(":8000") if "db_worker" in c]

    assert workers == [["--queue-name", "sending"], ["--queue-name", "*"]]
