import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "sha256="
# "sha256=" and 64 hex digits; anything longer is refused before any work is done.
HEADER_LENGTH = len(PREFIX) + 64


def sign(body: bytes, secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for `body`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """Check Meta's HMAC-SHA256 of the raw body bytes against every configured app secret.

    The body is never decoded or re-serialised (Meta escapes unicode and "/", so JSON that
    round-trips differently would not verify). Comparison is constant-time and over bytes;
    each secret is tried, so an old and a new secret both work while rotating.
    """
    if not secrets or not header or len(header) != HEADER_LENGTH or not header.isascii():
        return False
    if not header.startswith(PREFIX):
        return False
    try:
        provided = bytes.fromhex(header.removeprefix(PREFIX))
    except ValueError:
        return False
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        valid |= hmac.compare_digest(expected, provided)
    return valid
