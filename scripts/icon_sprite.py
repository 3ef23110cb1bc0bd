"""Build static/icons/sprite.svg from the Lucide icons the templates use (no JS build step:
the sprite is committed; run this again only to add an icon).

    npm pack lucide-static@1.87.0 && tar xzf lucide-static-1.87.0.tgz
    python scripts/icon_sprite.py package/icons

Each icon becomes a <symbol id="NAME">; templates draw one with inbox.icons.icon (the
`{% icon %}` tag, `icon()` in the Jinja2 partials).
"""

import re
import sys
from pathlib import Path

# Every icon a template asks for (inbox.icons.icon draws them by these names).
NAMES = [
    "arrow-left",
    "ban",
    "bell",
    "camera",
    "check",
    "check-check",
    "circle-check",
    "clipboard-list",
    "clock",
    "ellipsis-vertical",
    "file-text",
    "lock",
    "mail",
    "mail-open",
    "map-pin",
    "mic",
    "music",
    "panel-right",
    "paperclip",
    "rotate-ccw",
    "settings",
    "shield-check",
    "shopping-cart",
    "sticker",
    "trash-2",
    "triangle-alert",
    "user",
    "user-minus",
    "user-plus",
    "video",
    "x",
]

STROKE = (
    'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
    'stroke-linejoin="round"'
)
SPRITE = Path(__file__).resolve().parent.parent / "static" / "icons" / "sprite.svg"


def symbol(source: Path) -> str:
    text = source.read_text()
    inner = re.search(r"<svg[^>]*>(.*)</svg>", text, re.S).group(1)
    shapes = " ".join(line.strip() for line in inner.strip().splitlines())
    # The stroke lives on each symbol: a <use> clones the symbol, not the sprite's root.
    return f'<symbol id="{source.stem}" viewBox="0 0 24 24" {STROKE}>{shapes}</symbol>'


def main(icons: Path) -> None:
    symbols = "\n".join(symbol(icons / f"{name}.svg") for name in NAMES)
    SPRITE.write_text(
        "<!-- Lucide icons (lucide-static 1.87.0, ISC licence: static/icons/LICENSE) -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg">\n'
        f"{symbols}\n</svg>\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
