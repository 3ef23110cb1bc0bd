"""Where attachments wait between the web request and the sending task: MEDIA_STORAGE_URL.

Unset, they wait on this machine's disk under MEDIA_ROOT, which is enough while the web
process and the workers share one machine. With web and workers on several machines they
must share a bucket: MEDIA_STORAGE_URL=s3://BUCKET/PREFIX?endpoint_url=…&region=… names an
S3-compatible one (django-storages with boto3; messaging.storage.PrivateS3Storage).

The URL never holds credentials, so it can be shown in errors and logs: they come from
MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY (or their _FILE variants), or,
both unset, from boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an
instance role).

Imported by the settings, so it imports nothing that needs them.
"""

from posixpath import normpath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

from messaging.safe_urls import is_safe_url

S3_BACKEND = "messaging.storage.PrivateS3Storage"
LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"
# Query parameters a MEDIA_STORAGE_URL may carry → the S3 backend's option.
S3_PARAMETERS = {
    "endpoint_url": "endpoint_url",
    "region": "region_name",
    "addressing_style": "addressing_style",
}
ADDRESSING_STYLES = {"auto", "path", "virtual"}
# S3's rules for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens.
BUCKET_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789.-")


def media_storage(url: str, access_key: str = "", secret_key: str = "") -> dict[str, Any]:
    """STORAGES["default"] for MEDIA_STORAGE_URL `url` ("" for the local disk under
    MEDIA_ROOT) and the bucket's credentials (both "", for boto3's own chain). Raises
    ImproperlyConfigured naming what is wrong; the message may quote `url`, never a key."""
    if not url:
        if access_key or secret_key:
            raise ImproperlyConfigured(
                "MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY are set but "
                "MEDIA_STORAGE_URL is not: set it to the bucket, or unset the keys."
            )
        return {"BACKEND": LOCAL_BACKEND}
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL must look like s3://bucket/prefix?endpoint_url=https://…, "
            f"or be empty for files on this machine's disk (MEDIA_ROOT); not {url!r}."
        )
    if "@" in parts.netloc:
        # Not quoted: the part before "@" is a secret.
        raise ImproperlyConfigured(
            "MEDIA_STORAGE_URL must not hold credentials: set MEDIA_STORAGE_ACCESS_KEY_ID and "
            "MEDIA_STORAGE_SECRET_ACCESS_KEY (or their _FILE variants) instead."
        )
    bucket = parts.netloc
    if not 3 <= len(bucket) <= 63 or not set(bucket) <= BUCKET_CHARACTERS:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL names no valid bucket (3 to 63 lower-case letters, digits, dots "
            f"and hyphens after s3://): {url!r}."
        )
    prefix = parts.path.strip("/")
    if prefix and (normpath(prefix) != prefix or prefix.split("/")[0] == ".."):
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL's prefix must be a plain folder path such as waba/outbox, "
            f"not {parts.path!r}."
        )
    options: dict[str, Any] = {"bucket_name": bucket, "location": prefix}
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ImproperlyConfigured(f"MEDIA_STORAGE_URL has a malformed query: {url!r}.") from None
    for name, values in query.items():
        if name not in S3_PARAMETERS:
            raise ImproperlyConfigured(
                f"MEDIA_STORAGE_URL has an unknown parameter {name!r}; it may have "
                f"{', '.join(sorted(S3_PARAMETERS))}."
            )
        if len(values) != 1 or not values[0]:
            raise ImproperlyConfigured(f"MEDIA_STORAGE_URL needs one value for {name!r}.")
        options[S3_PARAMETERS[name]] = values[0]
    endpoint = options.get("endpoint_url")
    if endpoint is not None and not is_safe_url(endpoint):
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL's endpoint_url must be an https:// URL (plain http only on "
            f"this machine), not {endpoint!r}."
        )
    style = options.get("addressing_style")
    if style is not None and style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL's addressing_style must be one of {sorted(ADDRESSING_STYLES)}, "
            f"not {style!r}."
        )
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured(
            "Set both MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY, or "
            "neither (boto3 then finds credentials itself: AWS_* variables, an instance role)."
        )
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key)
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}
