"""A transport for tests: requests are kept in `outbox`; failures can be queued up."""

import itertools
from collections.abc import Iterator
from typing import Any

from messaging.backends.base import BaseBackend, MediaInfo, SendError, SendResult

# (phone_number_id, payload) for every accepted message request, like django.core.mail.outbox.
outbox: list[tuple[str, dict[str, Any]]] = []
# SendErrors to raise, first in first out, before accepting requests again.
failures: list[SendError] = []
# Files uploaded to /{phone_number_id}/media, and media Meta would serve, by media id:
# {"content": bytes, "mime_type": str, "filename": str}.
media: dict[str, dict[str, Any]] = {}
# What GET /{waba_id}/message_templates returns, in pages.
template_pages: list[list[dict[str, Any]]] = []
_counter = itertools.count(1)


def reset() -> None:
    outbox.clear()
    failures.clear()
    media.clear()
    template_pages.clear()


def _fail_if_asked() -> None:
    if failures:
        raise failures.pop(0)


class LocmemBackend(BaseBackend):
    def send(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        _fail_if_asked()
        outbox.append((phone_number_id, payload))
        return SendResult(wamid=f"wamid.LOCMEM{next(_counter):08d}")

    def upload_media(
        self, phone_number_id: str, filename: str, content: bytes, mime_type: str
    ) -> str:
        _fail_if_asked()
        media_id = f"{next(_counter):015d}"
        media[media_id] = {"content": content, "mime_type": mime_type, "filename": filename}
        return media_id

    def media_info(self, media_id: str) -> MediaInfo:
        _fail_if_asked()
        if media_id not in media:
            raise SendError("Media not found or expired", code=100)
        item = media[media_id]
        return MediaInfo(
            url=f"locmem://{media_id}", mime_type=item["mime_type"], file_size=len(item["content"])
        )

    def download_media(self, url: str, max_bytes: int) -> Iterator[bytes]:
        _fail_if_asked()
        content = media.get(url.removeprefix("locmem://"), {}).get("content")
        if content is None:
            raise SendError("Media not found or expired", code=100)
        if len(content) > max_bytes:
            raise SendError("Media is larger than allowed")
        yield content

    def list_templates(self, waba_id: str) -> Iterator[dict[str, Any]]:
        _fail_if_asked()
        for page in template_pages:
            yield from page
