"""The inbox's colours meet WCAG AA, in the light and the dark scheme (static/css/app.css).

Text needs 4.5:1 against what it sits on; the edges that show where a control is, the focus
ring and status glyphs need 3:1 (WCAG 1.4.3 and 1.4.11).
"""

import re

import pytest
from django.conf import settings

CSS = (settings.BASE_DIR / "static" / "css" / "app.css").read_text(encoding="utf-8")
WORKSPACE_CSS = (settings.BASE_DIR / "static" / "css" / "workspace.css").read_text(encoding="utf-8")


def declarations(block):
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\b", block))


def schemes():
    light = declarations(CSS.split(":root {", 1)[1].split("}", 1)[0])
    dark_block = CSS.split("@media (prefers-color-scheme: dark) {\n  :root {", 1)[1]
    dark = light | declarations(dark_block.split("}", 1)[0])
    # The outgoing bubble: a fallback in its rule, and a rule of its own when dark.
    light["--bubble-out"] = re.search(r"var\(--bubble-out, (#[0-9a-f]{6})\)", CSS).group(1)
    dark["--bubble-out"] = re.search(
        r"prefers-color-scheme: dark\) \{ \.msg-out \.bubble \{ background: (#[0-9a-f]{6}); \}",
        CSS,
    ).group(1)
    return {"light": light, "dark": dark}


def luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT = [
    ("--text", "--bg"),
    ("--text", "--surface"),
    ("--text", "--bubble-out"),
    ("--text", "--surface-muted"),  # the note of matches a search's filters hide
    ("--text-muted", "--bg"),
    ("--text-muted", "--surface"),
    ("--text-muted", "--surface-muted"),
    ("--text-muted", "--bubble-out"),  # times, senders and delivered ticks on our replies
    ("--accent", "--surface"),
    ("--accent", "--bubble-out"),
    ("--accent-strong", "--surface-muted"),
    ("--accent-contrast", "--accent"),  # unread badges, the Send button
    ("--danger", "--danger-bg"),
    ("--danger", "--bubble-out"),  # a failed tick
    ("--tick-read", "--bubble-out"),
]
EDGES = [
    ("--control-border", "--surface"),
    ("--control-border", "--bg"),
    ("--control-border", "--surface-muted"),
    ("--focus", "--bg"),
    ("--focus", "--surface"),
    ("--focus", "--bubble-out"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background"), TEXT)
def test_text_has_at_least_4_5_to_1_contrast(scheme, foreground, background):
    colours = schemes()[scheme]

    assert contrast(colours[foreground], colours[background]) >= 4.5


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background"), EDGES)
def test_control_edges_and_the_focus_ring_have_at_least_3_to_1_contrast(
    scheme, foreground, background
):
    colours = schemes()[scheme]

    assert contrast(colours[foreground], colours[background]) >= 3


def test_read_ticks_differ_from_delivered_ones_by_more_than_colour():
    rule = re.search(r"\.tick-read \{([^}]*)\}", CSS).group(1)

    assert "border: 1px solid currentColor" in rule
    assert "border-radius" in rule


def test_text_boxes_and_selects_are_edged_with_the_control_border():
    for css, selector in (
        (CSS, ".search, .list-filters select {"),
        (CSS, ".composer textarea {"),
        (WORKSPACE_CSS, ".assign-form select {"),
    ):
        rule = css.split(selector, 1)[1].split("}", 1)[0]
        assert "border: 1px solid var(--control-border)" in rule, selector
