"""The real transport: Meta's Graph API (WhatsApp Business Cloud API)."""

import requests
from django.conf import settings

from messaging.backends.base import BaseBackend, MediaInfo, SendError, SendResult

# Meta's error codes (developers.facebook.com, Cloud API error codes). Temporary: throttling,
# service hiccups, "try again later"; everything else is permanent unless listed below.
RETRYABLE_CODES = {1, 2, 4, 80007, 130429, 131000, 131016, 131056}
# The access token expired or was revoked: nothing can be sent until staff replace it.
STOP_SENDING_CODES = {190}
TEMPLATE_FIELDS = [
    "id", "name", "language", "status", "category", "components", "parameter_format",
    "rejected_reason",
]  # fmt: skip


class CloudBackend(BaseBackend):
    def __init__(self, timeout=(5, 20)):
        # (connect, read) seconds. A connect timeout means Meta never saw the request (safe
        # to retry); a read timeout means it may have sent the message (ambiguous).
        self.timeout = timeout
        self.session = requests.Session()

    def url(self, path):
        return f"{settings.WHATSAPP_GRAPH_URL}/{settings.WHATSAPP_API_VERSION}/{path}"

    def send(self, phone_number_id, payload):
        data = self.post(f"{phone_number_id}/messages", json=payload)
        try:
            return SendResult(wamid=data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError(
                "Meta accepted the request but returned no message id", ambiguous=True
            ) from None

    def upload_media(self, phone_number_id, filename, content, mime_type):
        data = self.post(
            f"{phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        if not data.get("id"):
            raise SendError("Meta accepted the upload but returned no media id", ambiguous=True)
        return data["id"]

    def media_info(self, media_id):
        data = self.request("GET", media_id)
        try:
            size = int(data["file_size"]) if data.get("file_size") else None
            return MediaInfo(
                url=data["url"], mime_type=data.get("mime_type", ""), file_size=size,
                sha256=data.get("sha256", ""),
            )  # fmt: skip
        except (KeyError, ValueError):
            raise SendError("The Graph API returned no media URL", code=100) from None

    def download_media(self, url, max_bytes):
        headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout, stream=True)
        except requests.RequestException as exc:
            raise SendError("Could not download the media", retryable=True) from exc
        with response:
            if not response.ok:
                raise SendError(f"Media download refused (HTTP {response.status_code})", code=100)
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > max_bytes:
                raise SendError("Media is larger than allowed")
            received = 0
            for chunk in response.iter_content(chunk_size=64 * 1024):
                received += len(chunk)
                if received > max_bytes:
                    raise SendError("Media is larger than allowed")
                yield chunk

    def list_templates(self, waba_id):
        params = {
            "limit": 100,
            "fields": ",".join(TEMPLATE_FIELDS),
        }
        path = f"{waba_id}/message_templates"
        while path:
            page = self.request("GET", path, params=params)
            yield from page.get("data", [])
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            # Meta includes "next" only while more pages exist.
            if not (page.get("paging") or {}).get("next") or not after:
                break
            params = {**params, "after": after}

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def request(self, method, path, **kwargs):
        headers = {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}
        try:
            response = self.session.request(
                method, self.url(path), headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.ConnectTimeout as exc:
            raise SendError("Could not connect to the Graph API", retryable=True) from exc
        except requests.ReadTimeout as exc:
            raise SendError("The Graph API did not answer in time", ambiguous=True) from exc
        except requests.ConnectionError as exc:
            raise SendError("Could not reach the Graph API", retryable=True) from exc
        if response.ok:
            try:
                return response.json()
            except ValueError:
                raise SendError(
                    "The Graph API answered with invalid JSON", ambiguous=True
                ) from None
        raise graph_error(response)


def graph_error(response):
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
        or error.get("message")
        or f"Graph API error (HTTP {response.status_code})",
        code=code,
        subcode=error.get("error_subcode"),
        details=details,
        retryable=code in RETRYABLE_CODES or (code is None and response.status_code >= 500),
        stop_sending=code in STOP_SENDING_CODES,
        fbtrace_id=error.get("fbtrace_id", ""),
    )
