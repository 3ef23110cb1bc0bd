"""The S3-compatible storage for attachments waiting to be sent (MEDIA_STORAGE_URL,
config.media_storage): django-storages' S3 backend, kept private, failing the way the local disk
does.

Private: objects are written with no ACL (the bucket's owner alone reads them, whatever the
bucket allows by default) and the storage hands out no URL, signed or not: files reach Meta
through the sending task only.

Failing like FileSystemStorage: boto3 raises its own errors (ClientError, BotoCoreError), which
callers written for a disk would let through. Here a missing object raises FileNotFoundError
and any other storage failure (an outage, a refused request) OSError, so messaging.uploads
handles both storages with the same `except` clauses.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# What S3 answers for a key that is not there (HEAD requests carry no body, hence "404").
MISSING = {"404", "NoSuchKey", "NotFound"}


@contextmanager
def _as_os_errors(name: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in MISSING:
            raise FileNotFoundError(f"No such file in the bucket: {name}") from error
        raise OSError(f"The bucket refused a request for {name} ({code or 'no code'})") from error
    except BotoCoreError as error:
        raise OSError(f"The bucket could not be reached for {name}") from error


class PrivateS3Storage(S3Storage):
    def __init__(self, **options: Any) -> None:
        super().__init__(**{**options, "default_acl": None, "querystring_auth": True})

    def _open(self, name: str, mode: str = "rb") -> File:
        # One GET, read whole (the sending task needs every byte at once anyway): S3File would
        # ask with a HEAD first, whose bodiless 404 cannot tell a missing file from a missing
        # bucket, and fail later, from read(), with boto3's errors.
        if mode != "rb":
            raise ValueError("Waiting attachments are only ever read whole (mode 'rb').")
        with _as_os_errors(name):
            key = self._normalize_name(clean_name(name))
            content = self.bucket.Object(key).get()["Body"].read()
        return ContentFile(content, name=name)

    def _save(self, name: str, content: File) -> str:
        with _as_os_errors(name):
            return str(super()._save(name, content))

    def delete(self, name: str) -> None:
        with _as_os_errors(name):
            super().delete(name)

    def exists(self, name: str) -> bool:
        with _as_os_errors(name):
            return bool(super().exists(name))

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        with _as_os_errors(path):
            return super().listdir(path)

    def size(self, name: str) -> int:
        with _as_os_errors(name):
            return int(super().size(name))

    def get_modified_time(self, name: str) -> datetime:
        with _as_os_errors(name):
            return super().get_modified_time(name)

    def url(self, name: str | None, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("Waiting attachments are private: no URL reaches them.")
