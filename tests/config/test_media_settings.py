"""The media settings in config/settings.py, loaded afresh under different environments."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
SETTINGS_FILE = BASE_DIR / "config" / "settings.py"
STORAGE_VARIABLES = [
    "MEDIA_STORAGE_URL",
    "MEDIA_STORAGE_ACCESS_KEY_ID",
    "MEDIA_STORAGE_ACCESS_KEY_ID_FILE",
    "MEDIA_STORAGE_SECRET_ACCESS_KEY",
    "MEDIA_STORAGE_SECRET_ACCESS_KEY_FILE",
]
BUCKET = "s3://waba-files/inbox/outbox?endpoint_url=https://s3.example.org&region=eu-central-1"


@pytest.fixture
def load_settings(monkeypatch):
    def load(**env):
        monkeypatch.setenv("ENV_FILE", "")
        monkeypatch.setenv("DEBUG", "on")
        for name in ("MEDIA_ROOT", "WHATSAPP_MEDIA_MAX_BYTES", *STORAGE_VARIABLES):
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


# Where the files wait: this machine's disk, or a bucket (MEDIA_STORAGE_URL)


def test_files_wait_on_this_machines_disk_unless_a_bucket_is_named(load_settings):
    storage = load_settings()["STORAGES"]["default"]

    assert storage == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_bucket_url_gives_the_private_s3_storage_its_bucket_prefix_endpoint_and_region(
    load_settings,
):
    storage = load_settings(MEDIA_STORAGE_URL=BUCKET)["STORAGES"]["default"]

    assert storage == {
        "BACKEND": "messaging.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": "waba-files",
            "location": "inbox/outbox",
            "endpoint_url": "https://s3.example.org",
            "region_name": "eu-central-1",
        },
    }


def test_a_bare_bucket_url_leaves_endpoint_region_and_keys_to_boto3(load_settings):
    storage = load_settings(MEDIA_STORAGE_URL="s3://waba-files")["STORAGES"]["default"]

    assert storage["OPTIONS"] == {"bucket_name": "waba-files", "location": ""}


def test_the_buckets_keys_come_from_their_own_variables_or_files(load_settings, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("wJalrXUtnFEMI/K7MDENG\n")

    storage = load_settings(
        MEDIA_STORAGE_URL=BUCKET + "&addressing_style=path",
        MEDIA_STORAGE_ACCESS_KEY_ID="AKIAEXAMPLE",
        MEDIA_STORAGE_SECRET_ACCESS_KEY_FILE=str(secret),
    )["STORAGES"]["default"]

    assert storage["OPTIONS"]["access_key"] == "AKIAEXAMPLE"
    assert storage["OPTIONS"]["secret_key"] == "wJalrXUtnFEMI/K7MDENG"
    assert storage["OPTIONS"]["addressing_style"] == "path"


def test_credentials_in_the_url_stop_the_start_without_being_repeated(load_settings):
    with pytest.raises(ImproperlyConfigured, match="must not hold credentials") as raised:
        load_settings(MEDIA_STORAGE_URL="s3://AKIAEXAMPLE:PASSWORD@waba-files/inbox")

    assert "PASSWORD" not in str(raised.value)
    assert "AKIAEXAMPLE" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://waba-files.s3.amazonaws.com/", "must look like s3://"),
        ("/var/lib/waba/media", "must look like s3://"),
        ("s3://", "no valid bucket"),
        ("s3://Waba_Files", "no valid bucket"),
        ("s3://waba-files/../elsewhere", "plain folder path"),
        ("s3://waba-files/a//b", "plain folder path"),
        ("s3://waba-files?region=eu-central-1&acl=public-read", "unknown parameter 'acl'"),
        ("s3://waba-files?region=", "one value for 'region'"),
        ("s3://waba-files?region=a&region=b", "one value for 'region'"),
        ("s3://waba-files?endpoint_url=http://s3.example.org", "endpoint_url must be an https"),
        ("s3://waba-files?addressing_style=sideways", "addressing_style must be one of"),
    ],
)
def test_a_bad_bucket_url_stops_the_start_saying_what_is_wrong(load_settings, url, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        load_settings(MEDIA_STORAGE_URL=url)


def test_plain_http_is_allowed_to_a_bucket_server_on_this_machine(load_settings):
    url = "s3://waba-files?endpoint_url=http://127.0.0.1:9000"

    storage = load_settings(MEDIA_STORAGE_URL=url)["STORAGES"]["default"]

    assert storage["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    "env",
    [
        {"MEDIA_STORAGE_URL": BUCKET, "MEDIA_STORAGE_ACCESS_KEY_ID": "AKIAEXAMPLE"},
        {"MEDIA_STORAGE_URL": BUCKET, "MEDIA_STORAGE_SECRET_ACCESS_KEY": "secret"},
    ],
)
def test_half_a_key_pair_stops_the_start(load_settings, env):
    with pytest.raises(ImproperlyConfigured, match="both MEDIA_STORAGE_ACCESS_KEY_ID"):
        load_settings(**env)


def test_keys_without_a_bucket_stop_the_start(load_settings):
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE_URL is not"):
        load_settings(
            MEDIA_STORAGE_ACCESS_KEY_ID="AKIAEXAMPLE", MEDIA_STORAGE_SECRET_ACCESS_KEY="x"
        )
