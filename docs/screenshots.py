"""Take the documentation screenshots of the demo store.

Usage::

    python docs/screenshots.py [--out docs/screenshots]

Builds the demo store in a temporary instance folder (migrated database, demo
HQ feeds pulled for PAR-01), serves it with waitress on a free port of
127.0.0.1, signs in as the demo associate S1001 in Chromium and writes PNG
files: the pages on a tablet held sideways (1024x768), the client book and
the customer page on a tablet held upright (768x1024), and the main pages at
phone width (390x844). Nothing outside the temporary folder and the output
folder is touched.

Chromium: Playwright's own browser if it is installed, else Debian's
/usr/bin/chromium (set STORESERVER_CHROMIUM to use another one).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TABLET = {"width": 1024, "height": 768}
UPRIGHT = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def build_demo_store(instance: Path):
    """A migrated store app on `instance`, with the demo HQ feeds pulled."""
    os.environ["STORESERVER_INSTANCE_PATH"] = str(instance)
    import storeserver
    from storeserver import demo
    from storeserver.sync import services

    app = storeserver.create_app()
    storeserver.upgrade_database(app)
    demo.write_demo_feeds(Path(app.config["HQ_FEED_DIR"]))
    with app.app_context():
        results = services.pull()
    if not results:
        raise SystemExit("the demo feed was not pulled: no feed for this store")
    return app


@contextmanager
def serving(app):
    """Serve the app with waitress on a free port; yields the base URL."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def launch(playwright):
    chromium = os.environ.get("STORESERVER_CHROMIUM")
    options = {"args": CHROMIUM_ARGS}
    if chromium:
        return playwright.chromium.launch(executable_path=chromium, **options)
    try:
        return playwright.chromium.launch(**options)
    except Exception:
        # No browser downloaded by Playwright: use the system's Chromium.
        return playwright.chromium.launch(
            executable_path="/usr/bin/chromium", **options
        )


def sign_in(page, base: str, staff_id: str = "S1001") -> None:
    from playwright.sync_api import expect

    from storeserver.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.locator("#staff_id").fill(staff_id)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/book")
    expect(page.locator("#card-count")).to_be_visible()


def open_first_customer(page, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/book")
    page.locator("#card-list .card .name a").first.click()
    expect(page.locator("article.customer h1")).to_be_visible()


def shoot(page, path: Path) -> None:
    # Let the focus ring and caret settle out of the picture.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    print(f"  {path}")


def take_screenshots(base: str, out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(
                viewport=TABLET, locale="en-GB", color_scheme="light"
            )
            page = context.new_page()

            page.goto(f"{base}/login")
            expect(page.locator("#staff_id")).to_be_visible()
            shoot(page, out / "login.png")

            sign_in(page, base)
            shoot(page, out / "client-book.png")
            page.goto(f"{base}/")
            expect(page.locator("#agenda-title")).to_be_visible()
            shoot(page, out / "today.png")
            page.goto(f"{base}/book")

            page.locator('input[name="a.likes"][value="Shoes"]').check()
            expect(page).to_have_url(re.compile(r"[?&]a\.likes=Shoes(&|$)"))
            expect(page.locator("#card-count")).to_contain_text("match")
            shoot(page, out / "client-book-filtered.png")

            page.goto(f"{base}/book/add")
            page.locator("#add-q").fill("ma")
            expect(page.locator("#add-results .candidate").first).to_be_visible()
            shoot(page, out / "add-customers.png")

            page.goto(f"{base}/book")
            page.locator("#card-list .card .name a").first.click()
            expect(page).to_have_url(re.compile(r"/customers/[^/]+$"))
            expect(page.locator("article.customer h1")).to_be_visible()
            shoot(page, out / "customer.png")
            context.close()

            manager = browser.new_context(
                viewport=TABLET, locale="en-GB", color_scheme="light"
            )
            page = manager.new_page()
            sign_in(page, base, "S1002")
            page.goto(f"{base}/store-book")
            boxes = page.locator("#card-list .card input[type=checkbox]")
            boxes.nth(0).check()
            expect(page.locator("#selection")).to_contain_text("1 customer selected")
            boxes.nth(1).check()
            expect(page.locator("#selection")).to_contain_text("2 customers selected")
            page.get_by_role("link", name="Reassign the selected customers").click()
            expect(page.locator("#dialog h2")).to_be_visible()
            shoot(page, out / "store-book-reassign.png")
            page.locator("#target").select_option("S1004")
            page.get_by_role("button", name="Move 2 customers").click()
            expect(page.locator("#messages")).to_contain_text("2 customers moved")
            page.goto(f"{base}/store-book/audit")
            shoot(page, out / "book-changes.png")

            page.goto(f"{base}/store-book")
            page.locator("#card-list .card .name a").first.click()
            expect(page.locator("article.customer h1")).to_be_visible()
            form = page.locator("#activity-form")
            form.get_by_label("Type").select_option(label="Appointment")
            form.get_by_label("Subject").fill("Private viewing of the new collection")
            form.get_by_label("Start").fill("11:00")
            form.get_by_label("End").fill("11:45")
            form.get_by_role("button", name="Save the activity").click()
            expect(page.locator("#messages")).to_contain_text("Activity saved.")
            notes = page.locator("#notes form.note-add")
            notes.get_by_label("Note").fill("Prefers to be called on Tuesdays.")
            notes.get_by_role("button", name="Save the note").click()
            expect(page.locator("#notes li.note").first).to_be_visible()
            page.locator("#notes").scroll_into_view_if_needed()
            shoot(page, out / "customer-notes-activities.png")
            page.goto(f"{base}/calendar?view=week")
            expect(page.locator("#calendar")).to_be_visible()
            shoot(page, out / "calendar-week.png")
            manager.close()

            upright = browser.new_context(
                viewport=UPRIGHT, locale="en-GB", color_scheme="light"
            )
            page = upright.new_page()
            sign_in(page, base)
            shoot(page, out / "client-book-upright.png")
            open_first_customer(page, base)
            shoot(page, out / "customer-upright.png")
            upright.close()

            phone = browser.new_context(
                viewport=PHONE,
                locale="en-GB",
                color_scheme="light",
                device_scale_factor=1,
                is_mobile=True,
                has_touch=True,
            )
            page = phone.new_page()
            sign_in(page, base)
            shoot(page, out / "client-book-phone.png")
            # The filter panel comes first on a phone; the cards follow it.
            page.evaluate(
                "document.getElementById('card-count').scrollIntoView({block: 'start'})"
            )
            shoot(page, out / "client-book-cards-phone.png")
            page.goto(f"{base}/")
            shoot(page, out / "today-phone.png")
            page.goto(f"{base}/book/add")
            page.locator("#add-q").fill("ma")
            expect(page.locator("#add-results .candidate").first).to_be_visible()
            shoot(page, out / "add-customers-phone.png")
            open_first_customer(page, base)
            shoot(page, out / "customer-phone.png")
            page.goto(f"{base}/calendar?view=week")
            expect(page.locator("#calendar")).to_be_visible()
            shoot(page, out / "calendar-week-phone.png")
            phone.close()
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "screenshots",
        help="folder for the PNG files (default: docs/screenshots)",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="storeserver-screenshots-") as tmp:
        print("Building the demo store...")
        app = build_demo_store(Path(tmp) / "instance")
        print(f"Writing screenshots to {args.out}:")
        try:
            with serving(app) as base:
                take_screenshots(base, args.out)
        finally:
            from storeserver.extensions import db

            with app.app_context():
                db.engine.dispose()
    print(f"Done in {time.monotonic() - started:.1f} s.")


if __name__ == "__main__":
    main()
