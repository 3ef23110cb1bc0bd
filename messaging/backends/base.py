from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SendResult:
    """Meta accepted the request (which is not delivery: statuses arrive by webhook)."""

    wamid: str


class SendError(Exception):
    """The Graph API refused or could not be reached.

    `retryable`: the same request may succeed later (rate limits, transient errors, network).
    `ambiguous`: we cannot know whether Meta accepted it (a read timeout): never resend blindly.
    `stop_sending`: sending from this number cannot work until staff fix something (code 190).
    """

    def __init__(
        self,
        title: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        details: str = "",
        retryable: bool = False,
        ambiguous: bool = False,
        stop_sending: bool = False,
        fbtrace_id: str = "",
    ) -> None:
        super().__init__(title)
        self.title = title
        self.code = code
        self.subcode = subcode
        self.details = details
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.stop_sending = stop_sending
        self.fbtrace_id = fbtrace_id

    @property
    def permanent(self) -> bool:
        return not (self.retryable or self.ambiguous)


class UnsafeRequest(SendError):
    """The transport refused a request that could carry the access token somewhere other
    than where Meta's API lives: an id that is not a Graph id, a media URL that is not https,
    a redirect. Permanent: trying again gives the same answer."""


@dataclass(frozen=True)
class MediaInfo:
    """What GET /{media-id} tells: a download URL valid for about five minutes."""

    url: str
    mime_type: str
    file_size: int | None = None
    sha256: str = ""


class BaseBackend:
    """One transport to the Graph API. Every method raises SendError on failure."""

    def send(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        """POST `payload` to /{phone_number_id}/messages."""
        raise NotImplementedError

    def upload_media(
        self, phone_number_id: str, filename: str, content: bytes, mime_type: str
    ) -> str:
        """POST the file to /{phone_number_id}/media; return Meta's media id."""
        raise NotImplementedError

    def media_info(self, media_id: str) -> MediaInfo:
        """GET /{media_id}. Inbound media ids expire after 7 days (SendError, permanent)."""
        raise NotImplementedError

    def download_media(self, url: str, max_bytes: int) -> Iterator[bytes]:
        """Yield the bytes behind a media URL (it needs the token); raise SendError when it
        is gone or larger than `max_bytes`."""
        raise NotImplementedError

    def list_templates(self, waba_id: str) -> Iterator[dict[str, Any]]:
        """Yield every message template of the account, following Meta's paging."""
        raise NotImplementedError
