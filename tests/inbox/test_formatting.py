"""inbox.formatting and the inbox_tags filters: how messages are shown to staff."""

import random
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from inbox.formatting import (
    describe_remaining,
    https_link,
    human_size,
    map_url,
    message_preview,
    reported_errors,
    whatsapp_to_html,
    whatsapp_to_text,
)
from messaging.models import Conversation, Message, window_remaining
from messaging.phones import format_phone

LINK_ATTRS = 'rel="noopener noreferrer nofollow" target="_blank"'


def link(href, text=None):
    return f'<a href="{href}" {LINK_ATTRS}>{text or href}</a>'


def message(kind, text="", data=None, **fields):
    """An unsaved message: previews never need the database."""
    return Message(
        direction=fields.pop("direction", Message.Direction.INBOUND),
        type=kind,
        text=text,
        data=data or {},
        status=Message.Status.RECEIVED,
        **fields,
    )


def render(template, **context):
    return Template("{% load inbox_tags %}" + template).render(Context(context))


# WhatsApp formatting: emphasis.


def test_it_returns_safe_html_and_empty_html_for_no_text():
    assert isinstance(whatsapp_to_html("hi"), SafeString)
    assert whatsapp_to_html("") == ""
    assert whatsapp_to_html(None) == ""


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold*", "<strong>bold</strong>"),
        ("_italic_", "<em>italic</em>"),
        ("~strike~", "<s>strike</s>"),
        ("*a*", "<strong>a</strong>"),
        ("a *bold* word", "a <strong>bold</strong> word"),
        ("*two words*", "<strong>two words</strong>"),
    ],
)
def test_it_turns_markers_into_bold_italic_and_strike_through(text, html):
    assert whatsapp_to_html(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*_bold italic_*", "<strong><em>bold italic</em></strong>"),
        ("_*italic bold*_", "<em><strong>italic bold</strong></em>"),
        ("~*_all three_*~", "<s><strong><em>all three</em></strong></s>"),
        ("*bold _and italic_ inside*", "<strong>bold <em>and italic</em> inside</strong>"),
    ],
)
def test_it_nests_formatting(text, html):
    assert whatsapp_to_html(text) == html


@pytest.mark.parametrize(
    "text",
    [
        "2*3*4",
        "snake_case_name",
        "a~b~c",
        "word*bold*",  # the opening marker follows a letter
        "*bold*word",  # the closing marker is followed by a letter
        "a * not bold*",  # content starts with a space
        "*not bold *",  # content ends with a space
        "**",  # empty content
        "*unclosed",
        "*across\nlines*",
        "كلمة*عربية*",  # Arabic letters are letters too
    ],
)
def test_it_leaves_markers_literal_unless_they_sit_at_word_boundaries(text):
    html = whatsapp_to_html(text)

    assert "<strong>" not in html
    assert "<em>" not in html
    assert "<s>" not in html
    assert html.replace("<br>", "\n") == text


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("(*bold*)", "(<strong>bold</strong>)"),
        ("*bold*, then", "<strong>bold</strong>, then"),
        ("«_quoted_»", "«<em>quoted</em>»"),
        ("*it's*", "<strong>it&#x27;s</strong>"),
    ],
)
def test_it_lets_markers_touch_punctuation(text, html):
    assert whatsapp_to_html(text) == html


def test_it_closes_a_span_at_the_first_valid_closing_marker():
    assert whatsapp_to_html("*a*b* c*") == "<strong>a*b</strong> c*"


def test_it_never_produces_crossed_tags():
    assert whatsapp_to_html("*a _b* c_") == "<strong>a _b</strong> c_"


# WhatsApp formatting: code.


def test_it_renders_a_multi_line_code_block_verbatim_without_formatting_inside():
    html = whatsapp_to_html("Try:\n```\ndef f(*args, **kw):\n    return _x_\n```\nDone")

    assert html == ("Try:<pre><code>def f(*args, **kw):\n    return _x_</code></pre>Done")


def test_it_renders_a_one_line_code_block_inline():
    assert whatsapp_to_html("run ```ls *.txt``` now") == "run <code>ls *.txt</code> now"


def test_it_renders_inline_code_without_formatting_or_links_inside():
    html = whatsapp_to_html("use `*x* https://x.org` please")

    assert html == "use <code>*x* https://x.org</code> please"


def test_it_leaves_unclosed_or_empty_code_markers_literal():
    assert whatsapp_to_html("```open") == "```open"
    assert whatsapp_to_html("``` ```") == "``` ```"
    assert whatsapp_to_html("it`s and don`t") == "it`s and don`t"


def test_it_escapes_html_inside_code():
    html = whatsapp_to_html("```<script>alert(1)</script>```")

    assert html == "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"


def test_it_allows_formatting_around_code():
    assert whatsapp_to_html("*`code`*") == "<strong><code>code</code></strong>"


def test_it_cannot_be_tricked_into_repeating_code_by_nul_characters_in_the_text():
    html = whatsapp_to_html("```secret``` and \x000\x00")

    assert html.count("secret") == 1
    assert html == "<code>secret</code> and 0"


# WhatsApp formatting: lines and blocks.


def test_it_turns_newlines_into_line_breaks():
    assert whatsapp_to_html("one\ntwo\r\nthree\n\nfour") == "one<br>two<br>three<br><br>four"


def test_it_drops_leading_and_trailing_blank_lines():
    assert whatsapp_to_html("\nhello\n\n") == "hello"


def test_it_groups_quote_lines_into_one_blockquote_with_formatting():
    html = whatsapp_to_html("> first *line*\n> second\nreply")

    assert html == "<blockquote>first <strong>line</strong><br>second</blockquote>reply"


def test_it_needs_a_space_after_the_quote_marker():
    assert whatsapp_to_html(">not a quote") == "&gt;not a quote"


def test_it_turns_dash_and_star_bullets_into_one_list():
    html = whatsapp_to_html("Menu:\n- tea\n* _coffee_")

    assert html == "Menu:<ul><li>tea</li><li><em>coffee</em></li></ul>"


def test_it_turns_numbered_lines_into_an_ordered_list():
    assert whatsapp_to_html("1. one\n2. two") == "<ol><li>one</li><li>two</li></ol>"


def test_it_starts_an_ordered_list_at_its_first_number():
    assert whatsapp_to_html("3. three\n4. four") == '<ol start="3"><li>three</li><li>four</li></ol>'


def test_it_does_not_take_a_bold_start_or_a_bare_dash_for_a_list():
    assert whatsapp_to_html("*bold* start") == "<strong>bold</strong> start"
    assert whatsapp_to_html("-no space\n- ") == "-no space<br>- "
    assert whatsapp_to_html("2.5 kg") == "2.5 kg"


# WhatsApp formatting: links.


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("https://x.org", link("https://x.org")),
        ("http://x.org/a?b=c", link("http://x.org/a?b=c")),
        ("www.x.org/page", link("https://www.x.org/page", "www.x.org/page")),
        ("HTTPS://X.ORG", link("HTTPS://X.ORG")),
    ],
)
def test_it_links_http_https_and_www_addresses(text, html):
    assert whatsapp_to_html(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("see https://x.org/a.", f"see {link('https://x.org/a')}."),
        ("https://x.org, then", f"{link('https://x.org')}, then"),
        ("really https://x.org?!", f"really {link('https://x.org')}?!"),
        ("(see https://x.org/a)", f"(see {link('https://x.org/a')})"),
        ("_https://x.org_", f"<em>{link('https://x.org')}</em>"),
        ("www.", "www."),
        ("www.)", "www.)"),
        (
            "https://en.wikipedia.org/wiki/Pen_(tool).",
            link("https://en.wikipedia.org/wiki/Pen_(tool)") + ".",
        ),
        ("*https://x.org*", f"<strong>{link('https://x.org')}</strong>"),
        ("_https://x.org/a_b_", f"<em>{link('https://x.org/a_b')}</em>"),
    ],
)
def test_it_leaves_trailing_punctuation_and_markers_outside_links(text, html):
    assert whatsapp_to_html(text) == html


def test_it_does_not_format_markers_inside_a_url():
    html = whatsapp_to_html("https://x.org/*a*/_b_/~c~/d")

    assert html == link("https://x.org/*a*/_b_/~c~/d")


def test_it_keeps_ampersands_in_links_escaped():
    html = whatsapp_to_html("https://x.org/?a=1&b=2")

    assert html == link("https://x.org/?a=1&amp;b=2")


def test_it_links_urls_next_to_arabic_text():
    html = whatsapp_to_html("الرابط: https://x.org/كتب وشكراً")

    assert html == f"الرابط: {link('https://x.org/كتب')} وشكراً"


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://x.org/file",
        "mailto:a@x.org",
        "https://",
        "email me@www.x.org",
    ],
)
def test_it_links_nothing_but_http_and_https(text):
    assert "<a " not in whatsapp_to_html(text)


def test_it_does_not_link_a_url_hidden_inside_a_javascript_url():
    assert "<a " not in whatsapp_to_html("javascript:alert(1)//https://x.org")


# WhatsApp formatting: hostile input.


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('"><img src=x onerror=alert(1)>', "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        ("*<b>bold?</b>*", "<strong>&lt;b&gt;bold?&lt;/b&gt;</strong>"),
        ("_<img src=x onerror=alert(1)>_", "<em>&lt;img src=x onerror=alert(1)&gt;</em>"),
        ("&lt;already escaped&gt;", "&amp;lt;already escaped&amp;gt;"),
        ("- <i>item</i>", "<ul><li>&lt;i&gt;item&lt;/i&gt;</li></ul>"),
        ("> <svg onload=alert(1)>", "<blockquote>&lt;svg onload=alert(1)&gt;</blockquote>"),
    ],
)
def test_it_escapes_html_everywhere(text, html):
    assert whatsapp_to_html(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            'https://x.org/"onmouseover="alert(1)',
            link("https://x.org/") + "&quot;onmouseover=&quot;alert(1)",
        ),
        ("https://x.org/'onclick='x", link("https://x.org/") + "&#x27;onclick=&#x27;x"),
        ("https://x.org/<script>", link("https://x.org/") + "&lt;script&gt;"),
        ("https://x.org/a>b", link("https://x.org/a") + "&gt;b"),
    ],
)
def test_it_ends_a_url_at_a_quote_or_angle_bracket(text, html):
    assert whatsapp_to_html(text) == html


def test_it_escapes_a_script_passed_in_as_already_safe_html():
    assert whatsapp_to_html(SafeString("<script>")) == "&lt;script&gt;"


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


ALLOWED_TAGS = {"strong", "em", "s", "code", "pre", "br", "blockquote", "ul", "ol", "li", "a"}
FUZZ_PIECES = [
    "*", "_", "~", "`", "```", "> ", "- ", "1. ", "\n", " ", "a", "ب", "😀", "<", ">", '"',
    "'", "&", "=", "(", ")", ".", "https://x.org/", "www.", "javascript:", "<script>",
    "onerror=", "<img src=x ", "\x00", "0",
]  # fmt: skip


def test_it_only_ever_emits_its_own_tags_and_http_links_for_random_input():
    rng = random.Random(20240601)
    for _ in range(3000):
        text = "".join(rng.choices(FUZZ_PIECES, k=rng.randint(1, 30)))
        collector = _TagCollector()
        collector.feed(whatsapp_to_html(text))

        for tag, attrs in collector.tags:
            assert tag in ALLOWED_TAGS, text
            if tag == "a":
                assert set(attrs) == {"href", "rel", "target"}, text
                assert attrs["href"].lower().startswith(("http://", "https://")), text
            elif tag == "ol":
                assert set(attrs) <= {"start"}, text
                assert all(value.isdigit() for value in attrs.values()), text
            else:
                assert attrs == {}, text


def test_it_formats_long_hostile_text_quickly():
    text = " *a _b ~c `d" * 2000 + "https://x.org/" + ")" * 5000

    html = whatsapp_to_html(text)

    assert html.endswith(")" * 5000)


# WhatsApp formatting: Arabic and emoji.


def test_it_formats_arabic_text():
    html = whatsapp_to_html("السلام عليكم *مهم* و _مائل_ و ~محذوف~")

    assert html == "السلام عليكم <strong>مهم</strong> و <em>مائل</em> و <s>محذوف</s>"


def test_it_treats_emoji_as_a_boundary_and_keeps_them_intact():
    html = whatsapp_to_html("👋*hi*🎉 *👍🏽 ok* 🇸🇦")

    assert html == "👋<strong>hi</strong>🎉 <strong>👍🏽 ok</strong> 🇸🇦"


def test_it_makes_lists_of_arabic_items():
    html = whatsapp_to_html("- كتاب\n- قلم")

    assert html == "<ul><li>كتاب</li><li>قلم</li></ul>"


# Previews.


def test_it_previews_a_text_by_its_first_line():
    assert message_preview(message("text", "Hello there\nsecond line")) == "Hello there"


def test_it_skips_blank_lines_and_squeezes_spaces_in_a_preview():
    assert message_preview(message("text", "\n\n  Hello    there  \nmore")) == "Hello there"


def test_it_truncates_a_long_preview_to_eighty_characters():
    preview = message_preview(message("text", "word " * 40))

    assert len(preview) == 80
    assert preview.endswith("…")
    assert preview.startswith("word word")


def test_it_keeps_a_preview_of_eighty_characters_whole():
    assert message_preview(message("text", "x" * 80)) == "x" * 80


def test_it_strips_formatting_markers_but_keeps_html_as_plain_text_in_previews():
    assert message_preview(message("text", "*Urgent* <b>")) == "Urgent <b>"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("*bold* _italic_ ~struck~", "bold italic struck"),
        ("*_both_* and ~*nested*~", "both and nested"),
        ("```print(1)```", "print(1)"),
        ("Use `*stars*` literally", "Use *stars* literally"),
        ("https://example.org/a_b_c_ stays", "https://example.org/a_b_c_ stays"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("* not bold *", "* not bold *"),
        ("*عاجل* الطلب", "عاجل الطلب"),
        ("Tom & Jerry's <tag> *x*", "Tom & Jerry's <tag> x"),
    ],
)
def test_it_reads_whatsapp_formatting_as_the_plain_text_a_reader_sees(text, plain):
    assert whatsapp_to_text(text) == plain


def test_it_strips_formatting_from_captions_and_edits_in_previews():
    photo = message("image", "", {"caption": "*Receipt* attached"})
    edit = message("edit", "_Fixed_ typo")

    assert message_preview(photo) == "Photo: Receipt attached"
    assert message_preview(edit) == "Edited: Fixed typo"


def test_it_previews_a_multi_line_code_block_by_its_first_line_without_backticks():
    assert message_preview(message("text", "```\nfirst line\nsecond\n```")) == "first line"


@pytest.mark.parametrize(
    ("kind", "text", "data", "preview"),
    [
        ("image", "", {"media_id": "1"}, "Photo"),
        ("image", "The receipt", {"caption": "The receipt"}, "Photo: The receipt"),
        ("image", "", {"caption": "From data"}, "Photo: From data"),
        ("video", "", {}, "Video"),
        ("video", "Look", {"caption": "Look"}, "Video: Look"),
        ("audio", "", {"voice": True}, "Voice message"),
        ("audio", "", {"voice": False}, "Audio"),
        ("document", "", {"filename": "invoice.pdf"}, "Document: invoice.pdf"),
        ("document", "", {}, "Document"),
        ("sticker", "", {"animated": True}, "Sticker"),
        ("location", "", {"latitude": 1, "longitude": 2}, "Location"),
        ("location", "", {"name": "Home", "address": "1 Road"}, "Location: Home"),
        ("location", "", {"address": "1 Road"}, "Location: 1 Road"),
        ("contacts", "", {"contacts": []}, "Contact"),
        (
            "contacts",
            "",
            {"contacts": [{"name": {"formatted_name": "Amina Khalid", "first_name": "Amina"}}]},
            "Contact: Amina Khalid",
        ),
        ("contacts", "", {"contacts": [{"name": {"first_name": "Omar"}}]}, "Contact: Omar"),
        (
            "contacts",
            "",
            {"contacts": [{"name": {"formatted_name": "A"}}, {}, {}]},
            "Contact: A and 2 others",
        ),
        (
            "interactive",
            "Yes please",
            {"interactive_type": "button_reply", "title": "Yes please"},
            "Yes please",
        ),
        ("interactive", "", {"interactive_type": "list_reply", "title": "Tuesday"}, "Tuesday"),
        ("interactive", "Sent", {"interactive_type": "nfm_reply", "body": "Sent"}, "Sent"),
        ("interactive", "", {"interactive_type": "nfm_reply"}, "Form response"),
        ("interactive", "", {"interactive_type": "call_permission_reply"}, "Interactive reply"),
        ("button", "Stop promotions", {"payload": "STOP", "text": "Stop promotions"}, None),
        ("reaction", "", {"emoji": "👍"}, "Reacted 👍"),
        ("reaction", "", {"emoji": ""}, "Removed a reaction"),
        ("reaction", "", {}, "Removed a reaction"),
        ("order", "", {"product_items": []}, "Order"),
        ("order", "", {"product_items": [{}, {}]}, "Order: 2 items"),
        ("order", "", {"product_items": [{}]}, "Order: 1 item"),
        ("system", "User changed number", {"body": "User changed number"}, None),
        ("system", "", {}, "System message"),
        ("request_welcome", "", {}, "Started the chat"),
        ("edit", "Fixed typo", {}, "Edited: Fixed typo"),
        ("unsupported", "", {"unsupported": {"type": "poll"}}, "Unsupported message (poll)"),
        ("unsupported", "", {}, "Unsupported message"),
        ("hologram", "", {"payload": {}}, "Unsupported message (hologram)"),
    ],
)
def test_it_previews_every_message_type(kind, text, data, preview):
    expected = preview or text

    assert message_preview(message(kind, text, data)) == expected


def test_it_previews_outbound_messages_the_same_way():
    outbound = message("image", "Here", {"caption": "Here"}, direction=Message.Direction.OUTBOUND)

    assert message_preview(outbound) == "Photo: Here"


def test_it_previews_a_sent_template_by_its_text_or_name():
    assert message_preview(message("template", "Your order shipped")) == "Your order shipped"
    assert message_preview(message("template", "", {"name": "order_update"})) == (
        "Template: order_update"
    )


@pytest.mark.parametrize("kind", ["text", "image", "reaction"])
def test_it_previews_a_deleted_message_as_deleted_whatever_its_type(kind):
    deleted = message(kind, "secret", {"caption": "secret"}, revoked_at=timezone.now())

    assert message_preview(deleted) == "🚫 This message was deleted"


def test_it_previews_a_revoke_as_a_deletion():
    assert message_preview(message("revoke")) == "🚫 This message was deleted"


def test_it_takes_the_first_line_of_a_multi_line_caption():
    preview = message_preview(message("image", "Line one\nLine two"))

    assert preview == "Photo: Line one"


def test_it_survives_data_of_the_wrong_shape():
    assert message_preview(message("contacts", "", {"contacts": "oops"})) == "Contact"
    assert message_preview(message("contacts", "", {"contacts": [{"name": 5}]})) == "Contact"
    assert message_preview(message("order", "", {"product_items": None})) == "Order"
    assert message_preview(message("document", "", {"filename": 42})) == "Document"


# What WhatsApp reported about a message it could not pass on.

ISOLATE, END_ISOLATE = "\u2068", "\u2069"


def test_it_says_why_whatsapp_could_not_pass_a_message_on():
    data = {
        "unsupported": {"type": "poll"},
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "details": "Message type is currently not supported.",
            }
        ],
    }

    assert reported_errors(data) == [
        f"WhatsApp reports: {ISOLATE}Message type unknown{END_ISOLATE} (error 131051)"
    ]


def test_it_keeps_whatsapps_title_as_it_came_in_an_arabic_page():
    data = {"errors": [{"code": 131051, "title": "Message type unknown"}]}

    with translation.override("ar"):
        (line,) = reported_errors(data)

    # Isolated: a left-to-right title does not reorder the right-to-left sentence around it.
    assert f"{ISOLATE}Message type unknown{END_ISOLATE}" in line
    assert "131051" in line


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ({"code": None, "title": "Media download error"}, "Media download error"),
        ({"code": 131052, "title": "", "message": "Media download error"}, "Media download error"),
        ({"code": 131052, "title": "", "details": "Try again"}, "Try again"),
        ({"code": 131052}, "WhatsApp reports error 131052"),
    ],
)
def test_it_says_what_it_can_of_an_incomplete_error(error, shown):
    (line,) = reported_errors({"errors": [error]})

    assert shown in line
    assert "None" not in line


@pytest.mark.parametrize(
    "data",
    [{}, None, "x", {"errors": None}, {"errors": "oops"}, {"errors": [None, 5, {}]}],
)
def test_it_reports_nothing_when_there_is_no_readable_error(data):
    assert reported_errors(data) == []


# Phone numbers.


@pytest.mark.parametrize(
    ("wa_id", "shown"),
    [
        ("966501234567", "+966 50 123 4567"),
        ("16505551234", "+1 650 555 1234"),
        ("447700900123", "+44 770 090 0123"),
        ("201001234567", "+20 100 123 4567"),
        ("919876543210", "+91 987 654 3210"),
        ("79161234567", "+7 916 123 4567"),
        ("97312345678", "+973 1234 5678"),
        ("+966501234567", "+966 50 123 4567"),
        ("96650", "+96650"),
    ],
)
def test_it_formats_a_wa_id_as_an_international_number(wa_id, shown):
    assert format_phone(wa_id) == shown


@pytest.mark.parametrize(
    "value", ["US.13491208655302741918", "SA.ENT.4417730098812244", "", "٩٦٦٥٠١٢٣٤٥٦٧"]
)
def test_it_returns_anything_but_ascii_digits_unchanged(value):
    assert format_phone(value) == value


def test_it_formats_no_phone_as_empty():
    assert format_phone(None) == ""


# Sizes.


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0\xa0bytes"),
        (1, "1\xa0byte"),
        (2048, "2.0\xa0KB"),
        (1234567, "1.2\xa0MB"),
        ("1234567", "1.2\xa0MB"),
        (None, ""),
        ("big", ""),
        (True, ""),
    ],
)
def test_it_shows_sizes_for_people(size, shown):
    assert human_size(size) == shown


# The 24-hour window.

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_it_says_the_window_was_never_opened_without_an_inbound_message():
    assert window_remaining(None, NOW) is None


@pytest.mark.parametrize(
    ("ago", "left"),
    [
        (timedelta(0), timedelta(hours=24)),
        (timedelta(seconds=1), timedelta(hours=23, minutes=59, seconds=59)),
        (timedelta(hours=23, minutes=59, seconds=59), timedelta(seconds=1)),
        (timedelta(hours=24) - timedelta(microseconds=1), timedelta(microseconds=1)),
    ],
)
def test_it_counts_down_the_window_from_the_last_inbound_message(ago, left):
    assert window_remaining(NOW - ago, NOW) == left


@pytest.mark.parametrize("ago", [timedelta(hours=24), timedelta(hours=24, seconds=1)])
def test_it_closes_the_window_at_exactly_twenty_four_hours(ago):
    assert window_remaining(NOW - ago, NOW) is None


def test_it_never_promises_more_than_a_full_window_for_a_future_timestamp():
    assert window_remaining(NOW + timedelta(minutes=5), NOW) == timedelta(hours=24)


def test_it_uses_the_current_time_by_default():
    assert window_remaining(timezone.now() - timedelta(hours=25)) is None
    assert window_remaining(timezone.now() - timedelta(hours=1)) > timedelta(hours=22)


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        (timedelta(hours=24), "24 h left"),
        (timedelta(hours=23, minutes=59), "23 h left"),
        (timedelta(hours=1), "1 h left"),
        (timedelta(minutes=59, seconds=59), "59 min left"),
        (timedelta(minutes=45), "45 min left"),
        (timedelta(minutes=1), "1 min left"),
        (timedelta(seconds=59), "less than 1 min left"),
        (timedelta(0), ""),
        (timedelta(seconds=-5), ""),
        (None, ""),
    ],
)
def test_it_describes_the_time_left_rounded_down(left, shown):
    assert describe_remaining(left) == shown


# Locations.


def test_it_links_a_location_to_openstreetmap():
    url = map_url({"latitude": 51.5072, "longitude": -0.1276, "name": "x"})

    assert url == (
        "https://www.openstreetmap.org/?mlat=51.5072&mlon=-0.1276#map=16/51.5072/-0.1276"
    )


@pytest.mark.parametrize(
    ("latitude", "longitude", "shown"),
    [
        (0.00001, 0, "mlat=0.00001&mlon=0#"),
        (-0.0000001, 180, "mlat=0&mlon=180#"),
        (-90, -180, "mlat=-90&mlon=-180#"),
        ("24.7136", "46.6753", "mlat=24.7136&mlon=46.6753#"),
        (21.42251234567, 39.82621234567, "mlat=21.422512&mlon=39.826212#"),
    ],
)
def test_it_writes_coordinates_in_plain_fixed_point(latitude, longitude, shown):
    assert shown in map_url({"latitude": latitude, "longitude": longitude})


@pytest.mark.parametrize(
    "data",
    [
        {"latitude": 90.1, "longitude": 0},
        {"latitude": 0, "longitude": -180.5},
        {"latitude": None, "longitude": 0},
        {"latitude": 0},
        {"latitude": float("nan"), "longitude": 0},
        {"latitude": 0, "longitude": float("inf")},
        {"latitude": "nan", "longitude": "0"},
        {"latitude": True, "longitude": 0},
        {"latitude": "1;alert(1)", "longitude": 0},
        {"latitude": [1], "longitude": 0},
        {},
        None,
        "51.5,0.1",
    ],
)
def test_it_gives_no_map_link_for_missing_or_bad_coordinates(data):
    assert map_url(data) == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://maps.google.com/?cid=2000000000000000000",
        "HTTPS://maps.example.org/place",
        "https://[2001:db8::1]/map",
        "https://خرائط.example/مكة",
    ],
)
def test_it_links_a_location_url_that_is_https(url):
    assert https_link(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT://maps.example.org/%0Aalert(1)",
        "http://maps.example.org/",
        "data:text/html;base64,PHNjcmlwdD4=",
        "https:maps.example.org",
        "https:///path-only",
        "//maps.example.org/",
        " https://maps.example.org/",
        "https://maps.example.org/\nalert",
        "https://maps.example.org/a b",
        "https://[::1/",
        "",
        None,
        42,
        {"href": "https://x.org"},
    ],
)
def test_it_links_nothing_else(url):
    assert https_link(url) == ""


# Template filters.


def test_the_whatsapp_filter_renders_formatting_without_double_escaping():
    html = render("{{ text|whatsapp }}", text="*hi* <b>")

    assert html == "<strong>hi</strong> &lt;b&gt;"


def test_the_preview_filter_output_is_escaped_by_the_template():
    html = render("{{ m|preview }}", m=message("text", "<b>hi</b>"))

    assert html == "&lt;b&gt;hi&lt;/b&gt;"


def test_the_preview_filter_accepts_a_conversation_without_messages():
    assert render("{{ m|preview }}", m=None) == ""


def test_the_phone_and_filesize_filters_format_their_values():
    assert render("{{ n|phone }}", n="966501234567") == "+966 50 123 4567"
    assert render("{{ s|filesize }}", s=1234567) == "1.2\xa0MB"


def test_the_window_left_filter_describes_an_open_window():
    conversation = Conversation(last_inbound_at=timezone.now() - timedelta(hours=1, minutes=30))

    assert render("{{ c|window_left }}", c=conversation) == "22 h left"


@pytest.mark.parametrize("ago", [timedelta(hours=24), timedelta(days=3)])
def test_the_window_left_filter_is_empty_for_a_closed_window(ago):
    conversation = Conversation(last_inbound_at=timezone.now() - ago)

    assert render("{{ c|window_left }}", c=conversation) == ""


def test_the_window_left_filter_is_empty_for_a_window_never_opened():
    assert render("{{ c|window_left }}", c=Conversation()) == ""


def test_the_map_url_filter_is_escaped_into_an_href():
    html = render('<a href="{{ d|map_url }}">', d={"latitude": 1.5, "longitude": 2.5})

    assert html == (
        '<a href="https://www.openstreetmap.org/?mlat=1.5&amp;mlon=2.5#map=16/1.5/2.5">'
    )
