"""Script in customer data, HQ labels and typed text never runs, in Chromium.

HQ sends customers, staff, labels, attribute and measure values and a store
name that carry markup, event handlers, `javascript:` URLs and template
syntax; associates type more into the note, activity and search forms. Every
page that shows them is opened in Chromium with the page's own
Content-Security-Policy switched off, so that escaping alone is under test:
no payload may run (each sets `window.__xss` or opens a dialog), none may
become an element, and each reads as the text it is. A last walk with the
policy on checks that the pages break none of its rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from ..conftest import ALL_BOOK_OPS, STORE_IT_OPS, customer, staff, value
from .conftest import sign_in, store_today

SCRIPT = "<script>window.__xss=1</script>"
IMG = "<img src=x onerror=window.__xss=1>"
SVG = '"><svg onload=window.__xss=1>'
QUOTE = "'><img src=x onerror=alert(1)>"
JS_URL = "javascript:window.__xss=1"
TEMPLATE = "{{7*7}} {% raw %} ${7*7}"
HTMX = '<b hx-get="/logout" hx-trigger="load" hx-on::load="window.__xss=1">hx</b>'
CLOSERS = "</textarea></title></script><script>window.__xss=1</script>"
CORPUS = [SCRIPT, IMG, SVG, QUOTE, JS_URL, TEMPLATE, HTMX, CLOSERS]

# What a payload would leave in the page had it been parsed as markup.
INJECTED = (
    'img[src="x"], svg, iframe, b[hx-get], script:not([src]), [onerror], [onload],'
    ' a[href^="javascript:" i]'
)
# A stand-in for "the policy said no", gathered from the start of each page.
WATCH_POLICY = """
window.__policy = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__policy.push(`${event.violatedDirective}: ${event.blockedURI}`);
});
"""

# Customers from HQ: (id, first name, last name, extra fields).
PEOPLE = [
    ("X1", IMG, "Piège", {}),
    ("X2", SVG, SCRIPT, {}),
    (
        "X3",
        TEMPLATE,
        QUOTE,
        {"email": f"{SVG}@example.org", "phone": JS_URL, "account_number": CLOSERS},
    ),
    ("X4", HTMX, CLOSERS, {}),
    # HQ ids are text too.
    ("X5\"'><svg onload=window.__xss=1>", "Ada", "Identifiant", {}),
]
HELD = ("X9", QUOTE, IMG)  # in P1's book: A1 is refused with both names
P1_NAME = f"{IMG} {SVG}"


def xss_records() -> list[tuple]:
    from ..conftest import base_records

    store = next(data for entity, data in base_records() if entity == "store")
    records: list[tuple] = [
        ("store", {**store, "name": CLOSERS}),
        staff("P1", IMG, SVG, ALL_BOOK_OPS),
        staff("T1", "Tom", "Informatique", STORE_IT_OPS),
        (
            "attribute",
            {
                "id": "piege",
                "group": "AG1",
                "label": {"en": SCRIPT, "fr": SCRIPT},
                "type": "single_choice",
                "refinable": True,
                "display_order": 0,
                "values": [IMG, TEMPLATE],
                "value_labels": {IMG: {"en": SVG}},
            },
        ),
        (
            "activity_type",
            {"id": "PIEGE", "legal_entity": "LE1", "code": "X", "label": {"en": HTMX}},
        ),
        (
            "measure",
            {
                "id": "nba",
                "legal_entity": "LE1",
                "label": {"en": IMG},
                "format": "text",
            },
        ),
        ("client_book", {"id": "CB-P", "legal_entity": "LE1", "staff": "P1"}),
    ]
    for cid, first, last, extra in PEOPLE:
        records.append(customer(cid, first, last, **extra))
        records.append(("membership", {"book": "CB-1", "customer": cid}))
    records.append(customer(*HELD))
    records.append(("membership", {"book": "CB-P", "customer": HELD[0]}))
    records += [
        value("X1", "piege", IMG),
        value("X2", "piege", TEMPLATE),
        value("X3", "remarque", CLOSERS),
        ("measure_value", {"customer": "X1", "measure": "nba", "value": SVG}),
    ]
    return records


@pytest.fixture(scope="module")
def store(module_store):
    """The module's store, fed the corpus by HQ; P1 noted and met Ada."""
    from storeserver.activities.services import ActivityInput, create_activity
    from storeserver.extensions import db
    from storeserver.notes.services import add_note
    from storeserver.org.models import Staff, Store
    from storeserver.sync.feed import FeedError
    from storeserver.sync.models import OutboxRow

    module_store.hq.pull(xss_records())
    # A feed HQ got wrong: its error, naming the entity, shows to store IT.
    with pytest.raises(FeedError):
        module_store.hq.pull([(SCRIPT, {"id": "1"})])
    with module_store.app.test_request_context():
        p1 = db.session.get(Staff, "P1")
        add_note(p1, "X1", f"{HTMX}\n{QUOTE}")
        create_activity(
            p1,
            db.session.get(Store, "S1"),
            "X1",
            ActivityInput("PIEGE", TEMPLATE, description=SCRIPT, day=store_today()),
        )
        # A change HQ refused, with HQ's own words.
        row = db.session.scalars(db.select(OutboxRow)).first()
        row.status, row.last_error = "parked", SVG
        db.session.commit()
    return module_store


class Browsing:
    """A signed-in page with the policy off, and what ran in it."""

    def __init__(self, page: Page):
        self.page = page
        self.dialogs: list[str] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, where: str, *shown: str) -> None:
        """Nothing ran, nothing became markup, and `shown` reads as text."""
        page = self.page
        assert page.evaluate("() => window.__xss") is None, f"a payload ran on {where}"
        assert not self.dialogs, f"a dialog opened on {where}: {self.dialogs}"
        made = page.evaluate(
            "(selector) => [...document.querySelectorAll(selector)]"
            ".map((e) => e.outerHTML.slice(0, 100))",
            INJECTED,
        )
        assert not made, f"markup from data on {where}: {made}"
        # As typed or sent: template syntax included, so nothing evaluated it.
        for text in shown:
            expect(page.locator("body"), where).to_contain_text(text)


@contextmanager
def browsing(
    browser: Browser, store, staff_id: str, bypass_csp: bool = True
) -> Iterator[Browsing]:
    context = browser.new_context(
        locale="en-GB",
        viewport={"width": 1024, "height": 768},
        bypass_csp=bypass_csp,
    )
    context.add_init_script(WATCH_POLICY)
    try:
        session = Browsing(context.new_page())
        sign_in(session.page, store, staff_id)
        yield session
    finally:
        context.close()


def test_customer_data_and_typed_text_never_run(browser: Browser, store):
    with browsing(browser, store, "A1") as view:
        page = view.page
        view.check("today's page", CLOSERS)

        page.goto(store("/book"))
        view.check("my client book", IMG, SVG, SCRIPT, QUOTE, TEMPLATE, HTMX, JS_URL)
        expect(page).to_have_title(f"My client book · {CLOSERS}")

        # Filter by the value whose label is markup, then search for markup.
        page.get_by_role("group", name=SCRIPT).get_by_role("checkbox", name=SVG).check()
        expect(page.locator("#card-count")).to_contain_text("1 customer matches")
        view.check("the book filtered by a value from HQ", IMG)
        page.goto(store("/book"))
        page.locator("#q").fill(SVG)
        expect(page.locator("#card-count")).to_contain_text("match")
        view.check("the book searched for markup")
        page.goto(store("/book?q=" + IMG.replace(" ", "+")))
        expect(page.locator("#q")).to_have_value(IMG)
        view.check("the book with markup in its address")

        page.locator("#q").fill("")
        expect(page).to_have_url(store("/book"))
        expect(page.locator("#card-list .card")).to_have_count(9)
        page.get_by_label(f"Tick {IMG} Piège").check()
        page.get_by_label(f"Tick {HTMX} {CLOSERS}").check()
        page.get_by_role("button", name="Remove ticked customers").click()
        expect(page.locator("#confirm-list li")).to_have_count(2)
        view.check("the remove confirmation", IMG, HTMX, CLOSERS)
        page.keyboard.press("Escape")
        expect(page.locator("#confirm-list")).to_have_count(0)

        # The add search: markup typed, shown back; a held customer refused.
        page.goto(store("/book/add"))
        page.locator("#add-q").fill(QUOTE)
        expect(page.locator("#add-results")).to_contain_text("customer")
        view.check("the add search for markup", QUOTE)
        page.locator("#add-q").fill("")
        page.locator("#add-q").fill(IMG)
        candidate = page.locator(".candidate", has_text=f"{QUOTE} {IMG}")
        candidate.get_by_role("checkbox").check()
        page.get_by_role("button", name="Add ticked customers").click()
        expect(page.locator("#messages")).to_contain_text(
            f"{QUOTE} {IMG} is already in the client book of {P1_NAME}."
        )
        view.check("a refusal naming customer and associate", P1_NAME)

        # A customer page with everything: contact, account, measures from
        # HQ, a colleague's note and activity, attributes.
        page.goto(store("/customers/X1"))
        view.check(
            "the customer page",
            f"{IMG} Piège",
            SVG,
            HTMX,
            QUOTE,
            TEMPLATE,
            SCRIPT,
            P1_NAME,
        )
        page.goto(store("/customers/X3"))
        view.check("a customer page with odd contacts", CLOSERS, JS_URL, f"{SVG}@")
        page.goto(store("/customers/" + PEOPLE[4][0].replace('"', "%22")))
        view.check("a customer page whose HQ id is markup", "Ada Identifiant")

        # Typed: a note and activities with markup, then the note edited.
        page.goto(store("/customers/X2"))
        notes = page.locator("#notes")
        notes.get_by_label("Note").fill(f"{CLOSERS}\n{IMG}")
        notes.get_by_role("button", name="Save the note").click()
        expect(page.locator("#messages")).to_contain_text("Note saved.")
        view.check("a typed note", CLOSERS, IMG)

        form = page.locator("#activity-form")
        form.get_by_label("Type").select_option(label=HTMX)
        form.get_by_label("Subject").fill(SCRIPT)
        form.get_by_label("Description").fill(f"{SVG} {JS_URL}")
        form.get_by_role("button", name="Save the activity").click()
        expect(page.locator("#messages")).to_contain_text("Activity saved.")
        form.get_by_label("Type").select_option(label="Appointment")
        form.get_by_label("Subject").fill(IMG)
        form.get_by_label("Start", exact=True).fill("11:00")
        form.get_by_role("button", name="Save the activity").click()
        expect(page.locator("#activities li.activity")).to_have_count(2)
        view.check("typed activities", SCRIPT, SVG, JS_URL, IMG, HTMX)

        page.locator("#notes li.note").first.get_by_role("link", name="Edit").click()
        box = page.locator("#notes li.note.editing textarea")
        expect(box).to_have_value(f"{CLOSERS}\n{IMG}")
        view.check("a note being edited")
        _edit_behind(store.app, "X2", f"{TEMPLATE}\n{SVG}")
        box.fill(f"{QUOTE}\n{SCRIPT}")
        page.get_by_role("button", name="Save the changes").click()
        expect(page.locator("#notes li.note.conflict")).to_be_visible()
        view.check("the note conflict", TEMPLATE, SVG, QUOTE, SCRIPT)
        expect(page.locator("#notes li.note.conflict textarea")).to_have_value(
            f"{QUOTE}\n{SCRIPT}"
        )

        page.locator("#activities li.activity", has_text="11:00").get_by_role(
            "link", name="Edit"
        ).click()
        expect(page.get_by_label("Subject")).to_have_value(IMG)
        view.check("an activity being changed", f"{SVG} {SCRIPT}")

        page.goto(store("/"))
        view.check("today's agenda", SCRIPT, IMG, f"{SVG} {SCRIPT}")
        for view_name in ("day", "week", "month"):
            page.goto(store(f"/calendar?view={view_name}"))
            view.check(f"the calendar, {view_name} view", IMG, SCRIPT)
        page.goto(store("/calendar/new"))
        expect(page.get_by_label("Customer").locator("option")).to_contain_text(
            [f"{SVG} {SCRIPT}"]
        )
        view.check("the calendar's activity form")

        page.goto(store("/customers/" + IMG))
        view.check("the not-found page for a markup id")


def _edit_behind(app, customer_id: str, text: str) -> None:
    from storeserver.extensions import db
    from storeserver.notes.models import Note
    from storeserver.notes.services import edit_note
    from storeserver.org.models import Staff

    with app.test_request_context():
        note = db.session.scalar(
            db.select(Note).filter_by(customer_id=customer_id, author_id="A1")
        )
        edit_note(db.session.get(Staff, "A1"), note.id, text, note.version)


def test_the_store_book_and_its_trail_never_run_names(browser: Browser, store):
    with browsing(browser, store, "M1") as view:
        page = view.page
        page.goto(store("/store-book"))
        view.check("the store book", P1_NAME, f"{QUOTE} {IMG}")

        page.get_by_label(f"Tick {SVG} {SCRIPT}").check()
        expect(page.locator("#selection .count")).to_have_text("1 customer selected")
        page.locator("#selection").get_by_role(
            "link", name="Reassign the selected customers…"
        ).click()
        dialog = page.locator("#dialog")
        dialog.get_by_label("Move them to the client book of").select_option(
            label=P1_NAME
        )
        view.check("the reassign confirmation")
        dialog.get_by_role("button", name="Move 1 customer").click()
        expect(page.locator("#messages")).to_contain_text(
            f"1 customer moved to the client book of {P1_NAME}."
        )
        view.check("the store book after a move", P1_NAME)

        page.goto(store("/store-book/audit"))
        view.check("the book changes", P1_NAME, f"{SVG} {SCRIPT}")


def test_names_of_associates_and_hq_messages_never_run(browser: Browser, store):
    with browsing(browser, store, "P1") as view:
        expect(view.page.locator(".account .who")).to_have_text(P1_NAME)
        view.check("today's page of an associate named in markup", P1_NAME)

    with browsing(browser, store, "T1") as view:
        view.page.goto(store("/admin"))
        view.check("the store IT page", SCRIPT, SVG)


def test_the_pages_break_no_rule_of_their_policy(browser: Browser, store):
    # With the policy on, as served: the pages (corpus and all) need nothing
    # it forbids, so it can stay as strict as it is.
    paths = [
        "/",
        "/book",
        "/book/add?q=a",
        "/customers/X1",
        "/customers/X2",
        "/calendar?view=week",
        "/calendar?view=month",
        "/calendar/new",
    ]
    with browsing(browser, store, "A1", bypass_csp=False) as view:
        page = view.page
        for path in paths:
            page.goto(store(path))
            expect(page.locator("main")).to_be_visible()
            assert page.evaluate("() => window.__policy") == [], path
            view.check(path)
        # htmx still works under the policy.
        page.goto(store("/book"))
        page.locator("#q").fill("piège")
        expect(page.locator("#card-list .card")).to_have_count(1)
        assert page.evaluate("() => window.__policy") == []


def test_a_payload_that_runs_is_caught(browser: Browser, store):
    # The check can fail: markup put in the page as markup is found, runs,
    # and its dialog is heard.
    with browsing(browser, store, "A1") as view:
        view.page.evaluate(
            "(html) => { document.querySelector('main').innerHTML = html; }",
            IMG + QUOTE,
        )
        expect(view.page.locator("img[src=x]")).to_have_count(2)
        view.page.wait_for_function("() => window.__xss === 1")
        for _ in range(100):
            if view.dialogs:
                break
            view.page.wait_for_timeout(20)
        with pytest.raises(AssertionError, match="a payload ran"):
            view.check("a page broken on purpose")
        view.page.evaluate("() => { delete window.__xss; }")
        with pytest.raises(AssertionError, match="a dialog opened"):
            view.check("a page broken on purpose")
        view.dialogs.clear()
        with pytest.raises(AssertionError, match="markup from data"):
            view.check("a page broken on purpose")
