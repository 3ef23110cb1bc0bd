"""Presenting messages to staff: WhatsApp's text formatting as safe HTML, list previews,
sizes and the time left in the 24-hour customer-service window (the window itself is the
Conversation model's; phone numbers are formatted by messaging.phones).

Message text comes from strangers, so `whatsapp_to_html` escapes the whole text before it
looks at it. Every later step only removes formatting markers and inserts tags from a fixed
set; no step ever unescapes, so no character of the input can become markup.
"""

import html
import re
import unicodedata
from bisect import bisect_left
from datetime import timedelta
from math import isfinite
from urllib.parse import urlsplit

from django.template.defaultfilters import filesizeformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# WhatsApp formatting.

_LINK_ATTRS = 'rel="noopener noreferrer nofollow" target="_blank"'
_EMPHASIS_TAGS = {"*": "strong", "_": "em", "~": "s"}

# Fragments of finished HTML (code, links) are parked in the text as \x00<n>\x00 so later
# steps cannot format inside them. NUL is removed from the input, so users cannot forge one.
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")

_CODE_BLOCK = re.compile(r"```(.+?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\x00\n]+)`")

# On escaped text, so <, >, " and ' appear as entities: a URL ends at one of them (they are
# never literally part of a URL), at whitespace, or at a placeholder. `&amp;` stays inside.
# It must not start inside a word, path, host or e-mail address; "_" may precede it (italic).
_URL = re.compile(
    r"(?<![^\W_])(?<![/.@-])(?:https?://|www\.)(?:(?!&(?:lt|gt|quot|#x27);)[^\s\x00])+",
    re.IGNORECASE,
)
# Characters that end a sentence or close formatting rather than end the URL itself.
_URL_TRAILING = ".,:;!?*_~"
_URL_PAIRS = {")": "(", "]": "["}
_LINKABLE = re.compile(r"(?:https?://|www\.)\w", re.IGNORECASE)

_QUOTE_LINE = re.compile(r"&gt; (?=.*\S)(.*)")
_BULLET_LINE = re.compile(r"[-*] (?=.*\S)(.*)")
_NUMBERED_LINE = re.compile(r"(\d{1,9})\. (?=.*\S)(.*)")


def whatsapp_to_html(text: str) -> SafeString:
    """WhatsApp-formatted text as HTML: bold, italic, strike-through, code, quotes, lists,
    http(s) links and line breaks. Safe for any input.

    The result may contain block elements (ul, ol, blockquote, pre), so put it in a div,
    not a p.
    """
    text = str(text or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    fragments: list[str] = []

    def park(html: str) -> str:
        fragments.append(html)
        return f"\x00{len(fragments) - 1}\x00"

    escaped = escape(text.strip("\n"))
    block_lines = set()

    def code_block(match: re.Match) -> str:
        code = match[1].strip("\n")
        if not code.strip():
            return match[0]
        if "\n" not in code:
            return park(f"<code>{code}</code>")
        # <pre> keeps the lines and indentation of code without any CSS.
        token = park(f"<pre><code>{code}</code></pre>")
        block_lines.add(token)
        return token

    escaped = _CODE_BLOCK.sub(code_block, escaped)
    lines = [_parse_line(line, block_lines) for line in escaped.split("\n")]
    html = "".join(_render_block(kind, group, park) for kind, group in _group_lines(lines))
    return mark_safe(_PLACEHOLDER.sub(lambda m: fragments[int(m[1])], html))  # noqa: S308


_EMPHASIS_TAG = re.compile(r"</?(?:strong|em|s)>")


def whatsapp_to_text(text: str) -> str:
    """The text a reader sees in WhatsApp-formatted `text`, markers removed by the same rules
    as whatsapp_to_html (for one-line previews and quotes; not escaped)."""
    text = str(text or "").replace("\x00", "")
    if not any(marker in text for marker in "*_~`"):
        return text
    fragments: list[str] = []

    def park(plain: str) -> str:
        fragments.append(plain)
        return f"\x00{len(fragments) - 1}\x00"

    def code(match: re.Match) -> str:
        return park(match[1].strip("\n")) if match[1].strip() else match[0]

    def inline_code(match: re.Match) -> str:
        if _is_span(match.string, *match.span(), match[1]):
            return park(match[1])
        return match[0]

    # On escaped text, as whatsapp_to_html works, so that the same URLs and spans are found;
    # the only tags in the result are the emphasis tags, removed before unescaping.
    lines = _CODE_BLOCK.sub(code, escape(text)).split("\n")
    plain = []
    for line in lines:
        line = _INLINE_CODE.sub(inline_code, line)
        line = _URL.sub(lambda match: park(match[0]), line)
        plain.append(_EMPHASIS_TAG.sub("", _emphasis(line)))
    joined = _PLACEHOLDER.sub(lambda m: fragments[int(m[1])], "\n".join(plain))
    return html.unescape(joined)


def _parse_line(line: str, block_lines: set[str]) -> tuple[str, str, str]:
    """(kind, content, list number) of one escaped line."""
    if line in block_lines:
        return "block", line, ""
    if match := _QUOTE_LINE.fullmatch(line):
        return "quote", match[1], ""
    if match := _BULLET_LINE.fullmatch(line):
        return "ul", match[1], ""
    if match := _NUMBERED_LINE.fullmatch(line):
        return "ol", match[2], match[1]
    return "text", line, ""


def _group_lines(lines):
    """Consecutive lines of the same kind; each multi-line code block stands alone."""
    groups: list[tuple[str, list]] = []
    for kind, content, number in lines:
        if groups and groups[-1][0] == kind and kind != "block":
            groups[-1][1].append((content, number))
        else:
            groups.append((kind, [(content, number)]))
    return groups


def _render_block(kind, group, park) -> str:
    if kind == "block":
        return group[0][0]
    inline = [_inline(content, park) for content, _number in group]
    if kind == "quote":
        return f"<blockquote>{'<br>'.join(inline)}</blockquote>"
    if kind in ("ul", "ol"):
        items = "".join(f"<li>{item}</li>" for item in inline)
        first = int(group[0][1] or 1)
        start = f' start="{first}"' if kind == "ol" and first != 1 else ""
        return f"<{kind}{start}>{items}</{kind}>"
    return "<br>".join(inline)


def _inline(line: str, park) -> str:
    """Format one escaped line: code first (nothing is formatted inside it), then links (so
    markers inside URLs are left alone), then emphasis."""

    def inline_code(match: re.Match) -> str:
        if _is_span(match.string, *match.span(), match[1]):
            return park(f"<code>{match[1]}</code>")
        return match[0]

    line = _INLINE_CODE.sub(inline_code, line)
    line = _URL.sub(lambda match: _link(match[0], park), line)
    return _emphasis(line)


def _is_span(text: str, start: int, end: int, content: str) -> bool:
    """WhatsApp's rule for a marked span text[start:end]: the markers sit at word boundaries
    and the content neither starts nor ends with a space."""
    return (
        (start == 0 or _is_boundary(text[start - 1]))
        and (end == len(text) or _is_boundary(text[end]))
        and not content[0].isspace()
        and not content[-1].isspace()
    )


def _is_boundary(char: str) -> bool:
    # Any non-alphanumeric character counts, so markers may touch punctuation, emoji and
    # each other (`*_both_*`); isalnum() knows Arabic letters and digits too.
    return not char.isalnum()


def _link(url: str, park) -> str:
    url, rest = _trim_url(url)
    # Trimming may leave nothing after the scheme, or eat the dot of "www.".
    if not _LINKABLE.match(url):
        return url + rest
    href = f"https://{url}" if url[:4].lower() == "www." else url
    return park(f'<a href="{href}" {_LINK_ATTRS}>{url}</a>') + rest


def _trim_url(url: str) -> tuple[str, str]:
    """Split a matched URL from the punctuation that follows it in the sentence."""
    end = len(url)
    while end:
        char = url[end - 1]
        if url[:end].endswith("&amp;"):
            end -= len("&amp;")
        elif char in _URL_TRAILING:
            end -= 1
        elif char in _URL_PAIRS and url.count(_URL_PAIRS[char], 0, end) < url.count(char, 0, end):
            end -= 1  # a closing bracket the URL did not open: "(see https://x.org)"
        else:
            break
    return url[:end], url[end:]


def _emphasis(text: str) -> str:
    """Bold, italic and strike-through in one escaped line, nested to any depth.

    Whether a position can open or close a span depends only on its neighbours, and those
    are the same inside a span's content as in the whole line (the span's own markers count
    as boundaries), so each level can find its closers up front.
    """
    closers = {
        marker: [
            j
            for j, char in enumerate(text)
            if char == marker
            and not text[j - 1].isspace()
            and (j + 1 == len(text) or _is_boundary(text[j + 1]))
        ]
        for marker in _EMPHASIS_TAGS
    }
    out, start, i = [], 0, 0
    while i < len(text):
        marker = text[i]
        if (
            marker in _EMPHASIS_TAGS
            and (i == 0 or _is_boundary(text[i - 1]))
            and i + 1 < len(text)
            and not text[i + 1].isspace()
        ):
            ends = closers[marker]
            k = bisect_left(ends, i + 2)
            if k < len(ends):
                j, tag = ends[k], _EMPHASIS_TAGS[marker]
                out += [text[start:i], f"<{tag}>{_emphasis(text[i + 1 : j])}</{tag}>"]
                start = i = j + 1
                continue
        i += 1
    out.append(text[start:])
    return "".join(out)


# Previews for the conversation list.

PREVIEW_LENGTH = 80


def order_summary(count: int) -> str:
    """ "Order with 3 items", in Python so that makemessages finds the plural (inbox/jinja.py)."""
    return ngettext("Order with %(counter)s item", "Order with %(counter)s items", count) % {
        "counter": count
    }


def unread_label(count: int) -> str:
    """ "3 unread messages", for a list row's badge (see order_summary)."""
    return ngettext("%(counter)s unread message", "%(counter)s unread messages", count) % {
        "counter": count
    }


def message_preview(message) -> str:
    """One short line of plain text saying what a message is (not escaped: templates do)."""
    if message.revoked_at or message.type == "revoke":
        return "🚫 " + _("This message was deleted")
    if getattr(message, "content_redacted_at", None):
        return _("content removed under retention policy")
    data = message.data if isinstance(message.data, dict) else {}
    describe = _PREVIEWS.get(message.type)
    preview = describe(message, data) if describe else _unsupported(message.type, data)
    return _one_line(preview)


def _one_line(text: str) -> str:
    line = " ".join(next((line for line in text.splitlines() if line.strip()), "").split())
    if len(line) <= PREVIEW_LENGTH:
        # What Truncator returns for a line that fits, without its character-by-character walk.
        return unicodedata.normalize("NFC", line)
    return Truncator(line).chars(PREVIEW_LENGTH)


def _labelled(label: str, detail) -> str:
    # Words, not emoji: a preview is read on machines without an emoji font too.
    if not detail or not str(detail).strip():
        return label
    return _("%(label)s: %(detail)s") % {"label": label, "detail": detail}


def _caption(message, data) -> str:
    return whatsapp_to_text(message.text or _text(data.get("caption")))


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _contact_name(card) -> str:
    name = card.get("name") if isinstance(card, dict) else None
    if not isinstance(name, dict):
        return ""
    return _text(name.get("formatted_name")) or _text(name.get("first_name"))


def _contacts_preview(message, data) -> str:
    cards = data.get("contacts") if isinstance(data.get("contacts"), list) else []
    name = _contact_name(cards[0]) if cards else ""
    if name and len(cards) > 1:
        others = len(cards) - 1
        name = ngettext("%(name)s and %(count)d other", "%(name)s and %(count)d others", others) % {
            "name": name,
            "count": others,
        }
    return _labelled(_("Contact"), name)


def _audio_preview(message, data) -> str:
    if data.get("voice"):
        return _labelled(_("Voice message"), "")
    return _labelled(_("Audio"), "")


def _interactive_preview(message, data) -> str:
    chosen = _text(data.get("title")) or message.text
    if chosen:
        return chosen
    if data.get("interactive_type") == "nfm_reply":
        return _("Form response")
    return _("Interactive reply")


def _reaction_preview(message, data) -> str:
    emoji = _text(data.get("emoji"))
    if emoji:
        return _("Reacted %(emoji)s") % {"emoji": emoji}
    return _("Removed a reaction")


def _order_preview(message, data) -> str:
    items = data.get("product_items") if isinstance(data.get("product_items"), list) else []
    count = ""
    if items:
        count = ngettext("%(count)d item", "%(count)d items", len(items)) % {"count": len(items)}
    return _labelled(_("Order"), count)


def _unsupported(kind: str, data: dict) -> str:
    inner = data.get("unsupported")
    if kind == "unsupported":
        kind = _text(inner.get("type")) if isinstance(inner, dict) else ""
    if not kind:
        return _("Unsupported message")
    return _("Unsupported message (%(type)s)") % {"type": kind}


_PREVIEWS = {
    "text": lambda m, d: whatsapp_to_text(m.text),
    "image": lambda m, d: _labelled(_("Photo"), _caption(m, d)),
    "video": lambda m, d: _labelled(_("Video"), _caption(m, d)),
    "audio": _audio_preview,
    "document": lambda m, d: _labelled(_("Document"), _text(d.get("filename")) or _caption(m, d)),
    "sticker": lambda m, d: _("Sticker"),
    "location": lambda m, d: _labelled(
        _("Location"), _text(d.get("name")) or _text(d.get("address"))
    ),
    "contacts": _contacts_preview,
    "interactive": _interactive_preview,
    "button": lambda m, d: _text(d.get("text")) or m.text or _("Button reply"),
    "reaction": _reaction_preview,
    "order": _order_preview,
    "system": lambda m, d: _text(d.get("body")) or m.text or _("System message"),
    "request_welcome": lambda m, d: _("Started the chat"),
    "edit": lambda m, d: _labelled(_("Edited"), whatsapp_to_text(m.text)),
    # Outbound only: sent templates are stored with their rendered text when we have it.
    "template": lambda m, d: (
        whatsapp_to_text(m.text) or _labelled(_("Template"), _text(d.get("name")))
    ),
    "unsupported": lambda m, d: _unsupported("unsupported", d),
}


# What WhatsApp reported about a message it could not pass on.

# Unicode's first-strong isolate: WhatsApp's English title keeps its own direction without
# reordering the sentence around it on a right-to-left page.
_ISOLATE, _END_ISOLATE = "\u2068", "\u2069"


def reported_errors(data) -> list[str]:
    """One line per error Meta attached to an inbound message (e.g. 131051 "Message type
    unknown" on an unsupported one), in our words with Meta's title as it came."""
    errors = data.get("errors") if isinstance(data, dict) else None
    lines = []
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        code = error.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        title = next(
            (
                text.strip()
                for text in (error.get(key) for key in ("title", "message", "details"))
                if isinstance(text, str) and text.strip()
            ),
            "",
        )
        if title:
            title = f"{_ISOLATE}{title}{_END_ISOLATE}"
            if code is None:
                lines.append(_("WhatsApp reports: %(title)s") % {"title": title})
            else:
                lines.append(
                    _("WhatsApp reports: %(title)s (error %(code)s)")
                    % {"title": title, "code": code}
                )
        elif code is not None:
            lines.append(_("WhatsApp reports error %(code)s") % {"code": code})
    return lines


# Sizes.


def human_size(size) -> str:
    """A byte count for people ("1.2 MB", localised); "" when unknown."""
    if size is None or isinstance(size, bool):
        return ""
    try:
        size = int(size)
    except (TypeError, ValueError):
        return ""
    return str(filesizeformat(size))


def describe_remaining(remaining: timedelta | None) -> str:
    """Remaining time as "23 h left" or "45 min left", rounded down so that it never
    promises time that is not there; "" when there is none."""
    if remaining is None or remaining <= timedelta(0):
        return ""
    seconds = int(remaining.total_seconds())
    hours, minutes = seconds // 3600, seconds // 60
    if hours:
        return ngettext("%(hours)d h left", "%(hours)d h left", hours) % {"hours": hours}
    if minutes:
        return ngettext("%(minutes)d min left", "%(minutes)d min left", minutes) % {
            "minutes": minutes
        }
    return _("less than 1 min left")


# Locations.


def https_link(url) -> str:
    """`url` when it is safe to link to: https, with a host, and nothing in it a browser
    would read differently (spaces, control characters); else "" (show it as text)."""
    if not isinstance(url, str):
        return ""
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 address
        return ""
    return url if parts.scheme == "https" and url[6:8] == "//" and host else ""


def map_url(data) -> str:
    """An OpenStreetMap link for a location message's data; "" unless the coordinates are
    real numbers within range."""
    if not isinstance(data, dict):
        return ""
    latitude = _coordinate(data.get("latitude"), 90)
    longitude = _coordinate(data.get("longitude"), 180)
    if latitude is None or longitude is None:
        return ""
    return (
        f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}"
        f"#map=16/{latitude}/{longitude}"
    )


def _coordinate(raw, limit: float) -> str | None:
    if isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    if not isfinite(value) or abs(value) > limit:
        return None
    # Fixed-point (never "1e-05"), about 10 cm of precision, without trailing zeros.
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
