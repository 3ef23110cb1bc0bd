"""The public privacy policy page (/privacy/): the organisation's own words, the periods actually
configured, the contact address, in English and Arabic, open to anyone."""

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

# The organisation's policy as it wrote it (a copy of the workspace's seed/privacy-policy.txt).
POLICY = Path(__file__).resolve().parents[2] / "docs" / "privacy-policy.txt"
SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "privacy-policy.txt"


def page(client, **headers):
    response = client.get(reverse("privacy"), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def text_of(markup):
    """The visible text: tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_it_is_at_privacy_and_needs_no_sign_in(client):
    assert reverse("privacy") == "/privacy/"

    response = client.get("/privacy/")

    assert response.status_code == 200
    assert "Privacy Policy for WABA AL QALAM" in response.content.decode()


def test_it_is_open_to_the_internet_even_with_an_office_only_inbox(client, settings):
    settings.INBOX_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/privacy/", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_it_answers_get_and_head_only(client):
    assert client.head("/privacy/").status_code == 200
    assert client.post("/privacy/").status_code == 405


def policy_lines():
    """The organisation's policy, line by line, as it should read on the page."""
    text = POLICY.read_text(encoding="utf-8")
    return [line.removeprefix("- ").strip() for line in text.splitlines() if line.strip()]


@pytest.mark.skipif(not SEED.is_file(), reason="the workspace's seed is not here")
def test_the_copy_in_docs_is_the_organisations_seed():
    assert POLICY.read_text(encoding="utf-8") == SEED.read_text(encoding="utf-8")


def the_organisations_words(markup):
    """The policy article's visible text without what the App adds to it: the "In practice"
    notes and the configured contact."""
    article = re.search(r'<article class="policy".*?</article>', markup, re.S)[0]
    article = re.sub(r'<aside class="policy-note">.*?</aside>', " ", article, flags=re.S)
    article = re.sub(r'<p class="policy-contact".*?</p>', " ", article, flags=re.S)
    return text_of(article)


def test_the_english_page_has_the_organisations_policy_word_for_word(client, settings):
    settings.PRIVACY_CONTACT = "privacy@alqalam.example"

    words = the_organisations_words(page(client, accept_language="en"))

    # Every line, in order, nothing between them: the page is the docs copy, rendered.
    assert words == " ".join(policy_lines())
    assert len(policy_lines()) > 40


def test_it_shows_the_configured_periods(client, settings):
    settings.RETENTION_CONTENT_DAYS = 45
    settings.RETENTION_METADATA_DAYS = 400
    settings.RETENTION_WEBHOOK_DAYS = 5
    settings.RETENTION_TASK_RESULTS_DAYS = 3
    settings.RETENTION_AUDIT_DAYS = 1000
    settings.DELETION_REQUEST_DEADLINE_DAYS = 21
    settings.RETENTION_DELETION_REQUESTS_DAYS = 500

    visible = text_of(page(client))

    assert "removed 45 days after the message" in visible
    assert "deleted 45 days after they were written" in visible  # internal notes
    assert "deleted 400 days after the message" in visible
    assert "deleted after 5 days" in visible
    assert "deleted 3 days after they finish" in visible
    assert "deleted 30 days after it was due" in visible  # work that never finished
    assert "deleted after 1000 days" in visible
    assert "Requests are answered within 21 days" in visible
    assert "deleted 500 days after the request was closed" in visible
    assert "are deleted 500 days after the request is closed" in visible
    assert "90 days" not in visible
    assert "365 days" not in visible


def test_changing_a_setting_changes_the_page(client, settings):
    settings.RETENTION_CONTENT_DAYS = 90
    before = text_of(page(client))
    settings.RETENTION_CONTENT_DAYS = 30

    after = text_of(page(client))

    assert "removed 90 days after the message" in before
    assert "removed 30 days after the message" in after
    assert "90 days" not in after


def test_one_day_is_singular(client, settings):
    settings.RETENTION_WEBHOOK_DAYS = 1

    assert "deleted after 1 day" in text_of(page(client))


def test_section_10_gives_the_configured_contact(client, settings):
    settings.PRIVACY_CONTACT = "privacy@alqalam.example"

    markup = page(client)

    assert '<a href="mailto:privacy@alqalam.example">privacy@alqalam.example</a>' in markup
    section_10 = text_of(markup.split("10. Contact Information")[1])
    assert section_10.startswith("For questions or data requests, please contact: privacy@")


def test_a_contact_that_is_not_an_email_is_shown_as_text(client, settings):
    settings.PRIVACY_CONTACT = "Data Protection Officer, Al Qalam <b>office</b>"

    markup = page(client)

    assert "Data Protection Officer, Al Qalam &lt;b&gt;office&lt;/b&gt;" in markup
    assert "mailto:" not in markup


def test_without_a_contact_people_are_told_to_write_on_whatsapp(client, settings):
    settings.PRIVACY_CONTACT = ""

    section_10 = text_of(page(client).split("10. Contact Information")[1])

    assert "Send a WhatsApp message to the number you wrote to." in section_10


def test_the_arabic_page_follows_the_browser_language(client, settings):
    settings.RETENTION_CONTENT_DAYS = 45
    settings.RETENTION_METADATA_DAYS = 400
    settings.RETENTION_WEBHOOK_DAYS = 5
    settings.RETENTION_TASK_RESULTS_DAYS = 3
    settings.RETENTION_AUDIT_DAYS = 1000
    settings.DELETION_REQUEST_DEADLINE_DAYS = 21
    settings.RETENTION_DELETION_REQUESTS_DAYS = 500

    markup = page(client, accept_language="ar")

    assert '<html lang="ar" dir="rtl">' in markup
    visible = text_of(markup)
    assert "سياسة الخصوصية لتطبيق WABA AL QALAM" in visible
    assert "10. معلومات الاتصال" in visible
    # Every configured period, in Arabic, in the table and in the notes.
    for arabic in (
        "يُحذف بعد 45 يومًا من الرسالة",  # message content
        "بعد 45 يومًا من إرسال الرسالة",
        "تُحذف بعد 400 يوم من الرسالة",  # metadata
        "لا يبقى شيء عن أي رسالة بعد 400 يوم منها",
        "تُحذف بعد 5 أيام سجلات",  # raw webhook bodies (the next row follows)
        "فتُحذف بعد 5 أيام",
        "تُحذف بعد 3 أيام من انتهائها",  # task results
        "تُحذف بعد 1000 يوم",  # audit log
        "يُحتفَظ به لمدة 1000 يوم",
        "في غضون 21 يومًا",  # deletion requests' deadline
        "500 يوم",  # handled deletion requests and tombstones
        "30 يومًا",  # background work that never finished
        "بعد يوم واحد",  # attachment files never sent
    ):
        assert arabic in visible, arabic
    assert visible.count("عمليًا:") == 3  # the notes are translated too
    assert "In practice" not in visible
    for english in ("content of each message", "deleted automatically", "one-way code", "days"):
        assert english not in visible
    assert "Privacy Policy for WABA AL QALAM" not in visible
    assert "This is a translation" not in visible  # (in Arabic, like the rest)


def test_the_language_can_be_chosen_by_link(client):
    arabic = page(client, accept_language="en").replace("&amp;", "&")

    assert 'href="?lang=ar"' in arabic
    assert '<html lang="ar" dir="rtl">' in client.get("/privacy/?lang=ar").content.decode()
    english = client.get("/privacy/?lang=en", headers={"accept-language": "ar"}).content.decode()
    assert '<html lang="en" dir="ltr">' in english
    assert '<html lang="en"' in client.get("/privacy/?lang=xx").content.decode()


def test_the_arabic_page_links_the_english_original(client):
    markup = page(client, accept_language="ar")

    assert 'href="?lang=en"' in markup


def test_a_signed_in_users_language_choice_applies(client, staff_user):
    from inbox.language import SESSION_KEY

    client.force_login(staff_user)
    session = client.session
    session[SESSION_KEY] = "ar"
    session.save()

    assert '<html lang="ar" dir="rtl">' in page(client, accept_language="en")


def test_it_shows_nothing_of_a_signed_in_user(client, staff_user):
    client.force_login(staff_user)

    markup = page(client)

    assert "amina" not in markup.lower()
    assert "Sign out" not in markup


def test_the_login_page_links_to_it(client):
    markup = client.get(reverse("login")).content.decode()

    assert 'href="/privacy/"' in markup


def test_the_organisation_can_replace_the_text(client, settings, tmp_path):
    own = tmp_path / "privacy"
    own.mkdir()
    (own / "policy_text_en.html").write_text(
        "<h1 id='policy-title'>Our own policy</h1>{% include 'privacy/partials/contact.html' %}"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    settings.PRIVACY_CONTACT = "dpo@alqalam.example"

    visible = text_of(page(client))

    assert "Our own policy" in visible
    assert "dpo@alqalam.example" in visible
    assert "Privacy Policy for WABA AL QALAM" not in visible
    assert "How long data is kept" in visible  # the configured periods are always shown


def test_its_stylesheet_carries_the_csp_nonce(client):
    response = client.get("/privacy/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])[1]

    assert "privacy/policy." in response.content.decode()
    assert f'nonce="{nonce}"' in response.content.decode()


# In a real browser: no CSP violations or console errors, and it fits a phone.


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_in_a_browser_it_runs_clean_and_fits_a_360_pixel_phone(page, page_errors, language):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Privacy policy").click()
    page.wait_for_url("**/privacy/")
    if language == "ar":
        page.get_by_role("link", name="العربية").click()
        page.wait_for_selector("html[dir=rtl]")

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    assert page.locator("#policy-title").is_visible()
    assert overflow <= 0
    assert page_errors == []
