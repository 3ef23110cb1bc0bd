"""UI icons come from the vendored Lucide sprite, never emoji (which show as empty boxes on a
machine without an emoji font)."""

import re

from django.conf import settings

from inbox.icons import icon

SPRITE = (settings.BASE_DIR / "static" / "icons" / "sprite.svg").read_text(encoding="utf-8")
# Pictographs, dingbats and symbols that fonts draw as emoji, and the emoji variation selector.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f]")
TEMPLATES = [
    *(settings.BASE_DIR / "templates").rglob("*.html"),
    *(settings.BASE_DIR / "inbox" / "templates").rglob("*.html"),
    *(settings.BASE_DIR / "inbox" / "jinja2").rglob("*.html"),
]


def test_no_template_draws_an_icon_with_an_emoji():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for path in TEMPLATES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if EMOJI.search(line)
    ]

    assert offenders == []


def test_every_icon_a_template_names_is_in_the_sprite():
    used = {
        name
        for path in TEMPLATES
        for name in re.findall(
            r"""(?:\{% icon |icon\()["']([a-z0-9-]+)["']""", path.read_text(encoding="utf-8")
        )
    }

    assert used
    assert used <= set(re.findall(r'<symbol id="([a-z0-9-]+)"', SPRITE))


def test_the_sprite_comes_with_its_licence():
    licence = (settings.BASE_DIR / "static" / "icons" / "LICENSE").read_text(encoding="utf-8")

    assert "ISC License" in licence
    assert "lucide-static 1.87.0" in SPRITE


def test_an_icon_is_decoration_unless_given_a_name():
    assert 'aria-hidden="true"' in icon("bell")
    assert 'role="img" aria-label="Notifications"' in icon("bell", "Notifications")
    assert "aria-hidden" not in icon("bell", "Notifications")
