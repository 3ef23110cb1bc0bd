"""The inbox's Jinja2 partials (inbox/jinja.py): their wording reaches the catalogue and its
Arabic, and what they show from a customer is escaped."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.html import escape
from django.utils.translation.template import templatize

from inbox import jinja
from inbox.formatting import order_summary, unread_label
from messaging.models import Message

PARTIALS = sorted((Path(__file__).resolve().parents[2] / "inbox" / "jinja2").rglob("*.html"))
# A label as the partials write it: _("…") or _('…') with a literal.
LABEL = re.compile(r"""_\((?:"([^"]*)"|'([^']*)')\)""")


def labels(text):
    return [double or single for double, single in LABEL.findall(text)]


def bubble(**fields):
    fields = {
        "pk": 7,
        "conversation_id": 3,
        "direction": "in",
        "type": "text",
        "text": "Hello",
        "wamid": "wamid.TEST",
        "timestamp": datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
    } | fields
    context = {"can_reply": True, "filter_query": "", "reactions": "", "csrf_input": ""}
    return jinja.render("inbox/bubble.html", context | {"m": Message(**fields)})


def test_the_partials_are_there_and_have_labels():
    names = {path.name for path in PARTIALS}
    assert {"bubble.html", "bubble_media.html", "row.html"} <= names
    assert all(labels(path.read_text()) for path in PARTIALS)


@pytest.mark.parametrize("path", PARTIALS, ids=lambda path: path.name)
def test_makemessages_finds_every_label_of_a_partial(path):
    # makemessages reads .html files with Django's template lexer (templatize): a label it
    # cannot see there would be dropped from the catalogue by `make messages`.
    source = path.read_text()
    extracted = labels(templatize(source, origin=str(path)))
    assert sorted(set(labels(source)) - set(extracted)) == []


@pytest.mark.parametrize("path", PARTIALS, ids=lambda path: path.name)
def test_every_label_of_a_partial_has_its_arabic_wording(path):
    with translation.override("ar"):
        untranslated = [
            text for text in labels(path.read_text()) if translation.gettext(text) == text
        ]
    assert untranslated == []


def test_a_message_is_labelled_in_the_language_of_the_page():
    with translation.override("ar"):
        html = bubble()
        reply = translation.gettext("Reply")
    assert reply != "Reply"
    assert f">{reply}</a>" in html


def test_the_plural_wordings_moved_to_python_keep_their_arabic_forms():
    with translation.override("ar"):
        assert order_summary(2) == "طلب يضم منتجين"
        assert unread_label(1) == "رسالة واحدة غير مقروءة"
    assert order_summary(3) == "Order with 3 items"
    assert unread_label(1) == "1 unread message"


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("location", {"name": "<img src=x onerror=alert(1)>", "latitude": 1, "longitude": 2}),
        ("contacts", {"contacts": [{"name": {"formatted_name": "<img src=x onerror=alert(1)>"}}]}),
        ("document", {"filename": "<img src=x onerror=alert(1)>.pdf", "media_id": "1"}),
        ("button", {"title": "<img src=x onerror=alert(1)>"}),
    ],
)
def test_what_a_customer_sent_is_escaped(kind, data):
    html = bubble(type=kind, text="", data=data)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in html


def test_a_part_missing_from_a_message_renders_as_its_fallback():
    # Meta may leave out any part of a contact card: nothing raises, the label stands in.
    html = bubble(type="contacts", text="", data={"contacts": [{"phones": [{"wa_id": "4917"}]}]})
    assert '<strong dir="auto">Contact</strong>' in html
    assert ">4917</span>" in html


def test_an_unsupported_message_says_what_it_was_and_why_whatsapp_did_not_pass_it_on():
    error = {"code": 131051, "title": "Message type unknown <b>", "details": "Not supported."}
    data = {"unsupported": {"type": "poll"}, "errors": [error]}

    html = bubble(type="unsupported", text="", data=data)

    assert "Unsupported message (poll)" in html
    assert "Message type unknown &lt;b&gt;" in html
    assert "131051" in html
    assert "<b>" not in html


def test_an_unsupported_message_is_labelled_in_arabic_with_whatsapps_title_kept():
    data = {"errors": [{"code": 131051, "title": "Message type unknown"}]}

    with translation.override("ar"):
        html = bubble(type="unsupported", text="", data=data)
        label = translation.gettext("Unsupported message")

    assert label in html
    assert "Message type unknown" in html


LOCATION = {"latitude": 37.4611978, "longitude": -122.2164385}


def test_a_location_shows_its_name_address_and_https_url_as_a_link():
    data = LOCATION | {
        "name": "Facebook HQ",
        "address": "1 Hacker Way, Menlo Park, CA 94025",
        "url": "https://maps.google.com/?cid=2000000000000000000&x=1",
    }

    html = bubble(type="location", text="", data=data)

    assert "Facebook HQ" in html
    assert "1 Hacker Way, Menlo Park, CA 94025" in html
    link = re.search(r'<a href="https://maps\.google\.com/[^"]*"[^>]*>([^<]*)</a>', html)
    assert link is not None
    assert link.group(0).count("&amp;x=1") == 2  # in the href and in the text, escaped
    assert 'rel="noopener noreferrer nofollow"' in link.group(0)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "http://maps.example.org/?q=1",
        "data:text/html,<script>alert(1)</script>",
        "https:///no-host",
        "//maps.example.org/",
    ],
)
def test_a_location_url_that_is_not_https_is_shown_as_text_only(url):
    html = bubble(type="location", text="", data=LOCATION | {"url": url})

    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', html)
    assert all(href.startswith(("https://www.openstreetmap.org/", "/c/")) for href in hrefs)
    assert "<script>" not in html
    assert html.count(escape(url.strip())) == 1


def test_a_location_escapes_html_in_its_name_address_and_url():
    data = LOCATION | {
        "name": "<b onmouseover=alert(1)>Home</b>",
        "address": "<script>alert(2)</script>",
        "url": 'https://maps.example.org/"><script>alert(3)</script>',
    }

    html = bubble(type="location", text="", data=data)

    assert "<b onmouseover" not in html
    assert "<script>" not in html
    assert "&lt;b onmouseover=alert(1)&gt;Home&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert 'href="https://maps.example.org/&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"' in html
