"""The real transport: Meta's Graph API (WhatsApp Business Cloud API)."""

import re
from collections.abc import Iterator
from typing import Any

import requests
from django.conf import settings
from requests import exceptions as http
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from messaging.backends.base import BaseBackend, MediaInfo, SendError, SendResult, UnsafeRequest
from messaging.safe_urls import is_safe_url

# Meta's error codes (developers.facebook.com, Cloud API error codes). Temporary: throttling,
# service hiccups, "try again later"; everything else is permanent unless listed below.
RETRYABLE_CODES = {1, 2, 4, 80007, 130429, 131000, 131016, 131056}
# The access token expired or was revoked: nothing can be sent until staff replace it.
STOP_SENDING_CODES = {190}
# Meta's messages start with the code ("(#131047) Re-engagement message"); the inbox shows the
# code on its own.
CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")
# requests errors raised before any byte of the request left: Meta cannot have it.
NOT_SENT = (http.ConnectTimeout, http.SSLError, http.ProxyError)
# The request could not even be built: the configuration is wrong, trying again cannot help.
UNUSABLE_URL = (
    http.InvalidURL, http.MissingSchema, http.InvalidSchema, http.URLRequired, http.InvalidHeader,
)  # fmt: skip
# Graph object ids (phone numbers, business accounts, templates, media) are decimal numbers
# in every answer and webhook of Meta's. An id goes into the request path, where anything
# else ("../", "?", "/messages") could reach another endpoint with the bearer token.
GRAPH_ID = re.compile(r"[0-9]{1,32}")
TEMPLATE_FIELDS = [
    "id", "name", "language", "status", "category", "components", "parameter_format",
    "rejected_reason",
]  # fmt: skip


class CloudBackend(BaseBackend):
    def __init__(self, timeout: tuple[float, float] = (5, 20)) -> None:
        # (connect, read) seconds. A connect timeout means Meta never saw the request (safe
        # to retry); a read timeout means it may have sent the message (ambiguous).
        self.timeout = timeout
        self.session = requests.Session()

    def url(self, object_id: str, edge: str = "") -> str:
        """The Graph URL of `object_id` (checked) or of one of its edges (our own constants)."""
        if not isinstance(object_id, str) or not GRAPH_ID.fullmatch(object_id):
            raise UnsafeRequest("Not a Graph API object id (digits only); nothing was sent")
        path = f"{object_id}/{edge}" if edge else object_id
        return f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_API_VERSION}/{path}"

    def send(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        data = self.request("POST", phone_number_id, "messages", json=payload)
        try:
            return SendResult(wamid=data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError(
                "Meta accepted the request but returned no message id", ambiguous=True
            ) from None

    def upload_media(
        self, phone_number_id: str, filename: str, content: bytes, mime_type: str
    ) -> str:
        data = self.request(
            "POST",
            phone_number_id,
            "media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        if not data.get("id"):
            raise SendError("Meta accepted the upload but returned no media id", ambiguous=True)
        return data["id"]

    def media_info(self, media_id: str) -> MediaInfo:
        data = self.request("GET", media_id)
        try:
            size = int(data["file_size"]) if data.get("file_size") else None
            return MediaInfo(
                url=data["url"], mime_type=data.get("mime_type", ""), file_size=size,
                sha256=data.get("sha256", ""),
            )  # fmt: skip
        except (KeyError, ValueError):
            raise SendError("The Graph API returned no media URL", code=100) from None

    def download_media(self, url: str, max_bytes: int) -> Iterator[bytes]:
        if not is_safe_url(url):
            # The token goes with this request: only to where nobody can read it on the way.
            raise UnsafeRequest("The Graph API gave a media URL that is not https")
        headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
        try:
            # Meta's media URLs answer with the file itself. requests would follow a redirect
            # with the token to any path of the same host (another Graph endpoint), and to
            # any other host without it: the token goes to the URL Meta named, and no further.
            response = self.session.get(
                url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise transport_error(exc, "Could not download the media") from exc
        with response:
            # Any 3xx, with or without a Location: none of them is the file.
            if 300 <= response.status_code < 400:
                raise UnsafeRequest(
                    f"The media URL answered with a redirect (HTTP {response.status_code}), "
                    "which the inbox does not follow"
                )
            if not response.ok:
                error = graph_error(response)
                if error.code is None and not error.retryable:
                    # No Graph error object: the URL expired or was never valid.
                    error = SendError(
                        f"Media download refused (HTTP {response.status_code})", code=100
                    )
                raise error
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise SendError("Media is larger than allowed")
            received = 0
            chunks = response.iter_content(chunk_size=64 * 1024)
            while True:
                try:
                    chunk = next(chunks, None)
                except requests.RequestException as exc:
                    raise transport_error(exc, "The media download broke off") from exc
                if chunk is None:
                    return
                received += len(chunk)
                if received > max_bytes:
                    raise SendError("Media is larger than allowed")
                yield chunk

    def list_templates(self, waba_id: str) -> Iterator[dict[str, Any]]:
        params: dict[str, str | int] = {
            "limit": 100,
            "fields": ",".join(TEMPLATE_FIELDS),
        }
        while True:
            page = self.request("GET", waba_id, "message_templates", params=params)
            yield from page.get("data", [])
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            # Meta includes "next" only while more pages exist.
            if not (page.get("paging") or {}).get("next") or not after:
                break
            params = {**params, "after": after}

    def request(self, method: str, object_id: str, edge: str = "", **kwargs: Any) -> Any:
        url = self.url(object_id, edge)
        headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
        try:
            # The Graph API does not redirect; following one would re-send a message
            # request somewhere else (or turn it into a GET).
            response = self.session.request(
                method,
                url,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise transport_error(exc, "Could not reach the Graph API") from exc
        if response.is_redirect:
            raise UnsafeRequest(
                f"The Graph API answered with a redirect (HTTP {response.status_code}); "
                "check WHATSAPP_GRAPH_URL"
            )
        if response.ok:
            try:
                return response.json()
            except ValueError:
                raise SendError(
                    "The Graph API answered with invalid JSON", ambiguous=True
                ) from None
        raise graph_error(response)


def transport_error(exc: requests.RequestException, title: str) -> SendError:
    """One SendError for a failure of `requests`, classified by whether Meta may have
    received the request: only a request that never left may be sent again."""
    if isinstance(exc, requests.ReadTimeout):
        return SendError("The Graph API did not answer in time", ambiguous=True)
    if isinstance(exc, NOT_SENT) or never_connected(exc):
        return SendError(title, retryable=True)
    if isinstance(exc, UNUSABLE_URL):
        return SendError(f"{title}: the request could not be made ({type(exc).__name__})")
    # The connection broke after the request was written (reset, aborted, a truncated
    # answer): Meta may have acted on it, as after a read timeout.
    return SendError(
        f"{title}: the connection broke before an answer ({type(exc).__name__})", ambiguous=True
    )


def never_connected(exc: requests.RequestException) -> bool:
    """Whether a requests ConnectionError failed while opening the connection (refused, no
    route, unknown host), before anything was sent."""
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    return isinstance(cause, NewConnectionError | ConnectTimeoutError)


def graph_error(response: requests.Response) -> SendError:
    """One SendError from Meta's error object, classified by code rather than HTTP status."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    return SendError(
        error.get("error_user_title")
        or error.get("title")
        or CODE_PREFIX.sub("", str(error.get("message") or ""))
        or f"Graph API error (HTTP {response.status_code})",
        code=code,
        subcode=error.get("error_subcode"),
        details=details,
        retryable=code in RETRYABLE_CODES or (code is None and response.status_code >= 500),
        stop_sending=code in STOP_SENDING_CODES,
        fbtrace_id=error.get("fbtrace_id", ""),
    )
