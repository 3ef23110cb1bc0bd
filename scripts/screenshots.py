"""Capture the inbox screenshots in docs/screenshots/ from a running server with demo data.

Re-run after UI or translation changes. From the project root:

    export DATABASE_URL=sqlite:////tmp/shots.sqlite3 DEBUG=on WHATSAPP_BACKEND=console \\
        WHATSAPP_APP_SECRET=dev WHATSAPP_VERIFY_TOKEN=x DEMO_PASSWORD=demo-password-123
    rm -f /tmp/shots.sqlite3
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py runserver 127.0.0.1:8011 --noreload &
    .venv/bin/python scripts/screenshots.py          # --help for the options
    kill %1

It signs in as the demo user and writes, each with the first conversation of the list open,
desktop (1366x820) and phone (360x740) shots in English and Arabic, light and dark:
inbox-desktop-en-light.png … inbox-phone-ar-dark.png. It prints what the issue-18 acceptance
measures on each (header height, the timeline's visible height). Chromium comes from
CHROMIUM_PATH, else /usr/bin/chromium.
"""

import argparse
import os
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SCREENS = {"desktop": {"width": 1366, "height": 820}, "phone": {"width": 360, "height": 740}}
SHOTS = [  # file name, viewport, interface language, colour scheme
    (f"inbox-{screen}-{language}-{scheme}.png", viewport, language, scheme)
    for screen, viewport in SCREENS.items()
    for language in ("en", "ar")
    for scheme in ("light", "dark")
]
VISIBLE_HEIGHT = """el => {
  const r = el.getBoundingClientRect();
  return Math.max(0, Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0));
}"""


def capture(browser, args, name, viewport, language, scheme):
    phone = viewport["width"] < 500
    context = browser.new_context(
        base_url=args.base_url,
        viewport=viewport,
        locale="en-GB",
        is_mobile=phone,
        has_touch=phone,
        color_scheme=scheme,
    )
    page = context.new_page()
    page.goto("/")
    page.get_by_label("Username").fill(args.username)
    page.get_by_label("Password").fill(args.password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#conversation-list .conversation-row").first.wait_for()
    # The choice is remembered for the account, so set it for every shot.
    if page.locator("html").get_attribute("lang") != language:
        page.locator(f".language-switch button[value={language}]").click()
        page.wait_for_selector(f"html[lang={language}]")
    page.locator("#conversation-list .conversation-row > a").first.click()
    page.locator("#timeline article.msg").last.wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / name)
    header = page.locator("#conversation-header").bounding_box()["height"]
    timeline = page.locator("#timeline").evaluate(VISIBLE_HEIGHT)
    context.close()
    print(
        f"wrote {OUT / name}: header {header:.0f} px, timeline {timeline:.0f} px "
        f"({timeline / viewport['height']:.0%} of {viewport['height']})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8011")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "demo-password-123"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for name, viewport, language, scheme in SHOTS:
            capture(browser, args, name, viewport, language, scheme)
        browser.close()


if __name__ == "__main__":
    main()
