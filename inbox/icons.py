"""Icons: Lucide's, drawn from one cached sprite (static/icons/sprite.svg, built by
scripts/icon_sprite.py) rather than emoji, which a machine without an emoji font shows as
empty boxes.

An icon is decoration by default (aria-hidden): the button or link around it carries the
name. Given a `label`, it is an image with that name, for an icon that stands alone.
"""

from django.templatetags.static import static
from django.utils.html import format_html

SPRITE = "icons/sprite.svg"


def icon(name, label=None):
    href = f"{static(SPRITE)}#{name}"
    if label:
        return format_html(
            '<svg class="icon icon-{}" role="img" aria-label="{}"><use href="{}"></use></svg>',
            name,
            label,
            href,
        )
    return format_html(
        '<svg class="icon icon-{}" aria-hidden="true" focusable="false">'
        '<use href="{}"></use></svg>',
        name,
        href,
    )
