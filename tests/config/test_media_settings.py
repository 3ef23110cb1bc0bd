"""The media settings in config/settings.py, loaded afresh under different environments."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
SETTINGS_FILE = BASE_DIR / "config" / "settings.py"


@pytest.fixture
def load_settings(monkeypatch):
    def load(**env):
        monkeypatch.setenv("ENV_FILE", "")
        monkeypatch.setenv("DEBUG", "on")
        for name in ("MEDIA_ROOT", "WHATSAPP_MEDIA_MAX_BYTES"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return load


def test_it_keeps_waiting_attachments_in_media_next_to_manage_py_by_default(load_settings):
    settings = load_settings()

    assert settings["MEDIA_ROOT"] == BASE_DIR / "media"
    assert "MEDIA_URL" not in settings  # nothing under MEDIA_ROOT is ever served


def test_media_root_may_be_relative_or_absolute(load_settings, tmp_path):
    assert load_settings(MEDIA_ROOT="private/files")["MEDIA_ROOT"] == BASE_DIR / "private/files"
    assert load_settings(MEDIA_ROOT=str(tmp_path))["MEDIA_ROOT"] == tmp_path


def test_the_media_download_limit_defaults_to_metas_100_mb(load_settings):
    assert load_settings()["WHATSAPP_MEDIA_MAX_BYTES"] == 100 * 1024 * 1024
    assert load_settings(WHATSAPP_MEDIA_MAX_BYTES="5000000")["WHATSAPP_MEDIA_MAX_BYTES"] == 5000000


@pytest.mark.parametrize("value", ["lots", "0", "-1"])
def test_a_bad_media_download_limit_stops_the_start(load_settings, value):
    with pytest.raises(ImproperlyConfigured, match="WHATSAPP_MEDIA_MAX_BYTES"):
        load_settings(WHATSAPP_MEDIA_MAX_BYTES=value)
