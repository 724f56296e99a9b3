"""Every endpoint declares the operation it needs, and the server enforces it."""

from __future__ import annotations

import pytest

from storeserver.permissions import Operation

from .conftest import PASSWORD, STORE_IT_OPS, csrf_token, staff

# Flask's own static view cannot carry our decorator; it serves public files only.
BUILT_IN_PUBLIC = {"static"}


def test_every_endpoint_declares_an_operation_or_public(app):
    undeclared = []

    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "public", False) or isinstance(
            getattr(view, "operation", None), Operation
        )
        if not declared and rule.endpoint not in BUILT_IN_PUBLIC:
            undeclared.append(rule.endpoint)

    assert undeclared == []


def guarded_rules(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if isinstance(getattr(view, "operation", None), Operation):
            yield rule


EXAMPLE_ARGS = {"customer_id": "C1", "activity_id": 1, "note_id": 1, "channel": "email"}


def example_url(rule) -> str:
    return rule.build({arg: EXAMPLE_ARGS[arg] for arg in rule.arguments})[1]


def test_anonymous_requests_never_reach_a_guarded_endpoint(world, app, client):
    reached = []

    for rule in guarded_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(example_url(rule), method=method)
            # 302 to the login page for GET; a CSRF refusal (400) for POST.
            if response.status_code not in (302, 400):
                reached.append((rule.endpoint, method, response.status_code))

    assert reached == []


@pytest.mark.parametrize(
    ("staff_id", "endpoint", "allowed"),
    [
        ("N1", "book.index", False),
        ("N1", "book.add", False),
        ("N1", "book.remove", False),
        ("N1", "customers.show", False),
        ("N1", "book.home", True),
        ("R1", "book.index", True),
        ("R1", "customers.show", True),
        ("R1", "book.add", False),
        ("R1", "book.remove", False),
        ("A1", "book.add", True),
        ("A1", "book.remove", True),
    ],
)
def test_operations_decide_who_reaches_a_page(
    world, app, login, staff_id, endpoint, allowed
):
    world.pull(
        [
            (
                "customer",
                {
                    "id": "C1",
                    "legal_entity": "LE1",
                    "account_number": "1",
                    "last_name": "Secret-Name",
                },
            )
        ]
    )
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    session = login(staff_id)

    response = session.get(example_url(rule))

    body = response.get_data(as_text=True)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Secret-Name" not in body


# -- the role x endpoint matrix --------------------------------------------------------

ROLES = {
    "no rights": "N1",
    "associate 714/715": "A1",
    "manager 713/716": "M1",
    "store IT": "T1",
}
EVERYONE = set(ROLES)
BOOK = {"associate 714/715", "manager 713/716"}
MANAGER = {"manager 713/716"}
DETAILS = {"associate 714/715", "manager 713/716", "store IT"}
# Activity 1 and note 1 are A1's: only their author may change them.
AUTHOR = {"associate 714/715"}

# Who may reach each endpoint: written out, not derived from the declarations,
# so that a changed declaration shows here.
MATRIX = {
    "book.home": EVERYONE,
    "book.index": BOOK,
    "book.add": BOOK,
    "book.add_post": BOOK,
    "book.remove": BOOK,
    "book.remove_post": BOOK,
    "customers.show": DETAILS,
    "activities.new": DETAILS,
    "activities.create": DETAILS,
    "activities.edit": AUTHOR,
    "activities.update": AUTHOR,
    "activities.status": AUTHOR,
    "activities.calendar_view": DETAILS,
    "activities.calendar_new": DETAILS,
    "activities.calendar_file": DETAILS,
    "notes.create": DETAILS,
    "notes.show": DETAILS,
    "notes.edit": AUTHOR,
    "notes.update": AUTHOR,
    "admin.index": {"store IT"},
    "admin.flush": {"store IT"},
    "admin.retry": {"store IT"},
    "admin.validate_insights": {"store IT"},
    "admin.customers": {"store IT"},
    "admin.customer_data": {"store IT"},
    "admin.customer_data_json": {"store IT"},
    "auth.switch": EVERYONE,
    "auth.stay": EVERYONE,
    "lists.book_list": BOOK,
    "lists.book_csv": BOOK,
    "lists.store_list": MANAGER,
    "lists.store_csv": MANAGER,
    "store_book.index": MANAGER,
    "store_book.selection": MANAGER,
    "store_book.reassign": MANAGER,
    "store_book.reassign_post": MANAGER,
    "store_book.audit": MANAGER,
    "store_book.audit_csv": MANAGER,
    "auth.logout": EVERYONE,
}
PUBLIC = {"static", "auth.login", "auth.language", "health.healthz"}

# A request of each endpoint as a page or a script would send it.
REQUESTS = {
    "book.home": ("get", "/", None),
    "book.index": ("get", "/book?a.aime=Sacs", None),
    "book.add": ("get", "/book/add?q=secret", None),
    "book.add_post": ("post", "/book/add", {"customer": "C1"}),
    "book.remove": ("get", "/book/remove?customer=C1", None),
    "book.remove_post": ("post", "/book/remove", {"customer": "C1"}),
    "customers.show": ("get", "/customers/C1", None),
    "store_book.index": ("get", "/store-book", None),
    "store_book.selection": (
        "post",
        "/store-book/selection",
        {"action": "set", "page_ids": "C1", "customer": "C1"},
    ),
    "store_book.reassign": ("get", "/store-book/reassign", None),
    "store_book.reassign_post": (
        "post",
        "/store-book/reassign",
        {"target": "A1", "digest": "x", "batch": "0" * 32},
    ),
    "store_book.audit": ("get", "/store-book/audit", None),
    "store_book.audit_csv": ("get", "/store-book/audit.csv", None),
    "auth.logout": ("post", "/logout", {}),
    "activities.new": ("get", "/customers/C1/activities/new", None),
    "activities.create": (
        "post",
        "/customers/C1/activities",
        {"type": "CALL", "subject": "Rappel", "day": "2026-03-02", "status": "done"},
    ),
    "activities.edit": ("get", "/activities/1/edit", None),
    "activities.update": (
        "post",
        "/activities/1",
        {"type": "CALL", "subject": "Rappel", "day": "2026-03-02", "version": "1"},
    ),
    "activities.status": ("post", "/activities/1/status", {"status": "done"}),
    "activities.calendar_view": ("get", "/calendar?view=month&date=2026-03-01", None),
    "activities.calendar_new": ("get", "/calendar/new", None),
    "activities.calendar_file": ("get", "/calendar/appointments.ics", None),
    "notes.create": ("post", "/customers/C1/notes", {"note-body": "Préfère le mardi"}),
    "notes.show": ("get", "/notes/1", None),
    "notes.edit": ("get", "/notes/1/edit", None),
    "notes.update": (
        "post",
        "/notes/1",
        {"note-1-body": "Taille 40", "note-1-version": "1"},
    ),
    "admin.index": ("get", "/admin", None),
    "admin.flush": ("post", "/admin/cache/flush", {}),
    "admin.retry": ("post", "/admin/outbox/retry", {}),
    "admin.validate_insights": ("post", "/admin/insights/validate", {}),
    "admin.customers": ("get", "/admin/customers?q=C1", None),
    "admin.customer_data": ("get", "/admin/customers/C1/data", None),
    "admin.customer_data_json": ("get", "/admin/customers/C1/data.json", None),
    "auth.switch": ("post", "/switch", {}),
    "auth.stay": ("post", "/session/keep-alive", {}),
    "lists.book_list": ("get", "/book/contact/email", None),
    "lists.book_csv": ("get", "/book/contact/phone.csv", None),
    "lists.store_list": ("get", "/store-book/contact/phone", None),
    "lists.store_csv": ("get", "/store-book/contact/email.csv", None),
}


@pytest.fixture
def guarded_world(world):
    world.pull(
        [
            staff("T1", "Tom", "Informatique", STORE_IT_OPS),
            (
                "customer",
                {
                    "id": "C1",
                    "legal_entity": "LE1",
                    "account_number": "1",
                    "first_name": "Cachée",
                    "last_name": "Secret-Name",
                },
            ),
            ("client_book", {"id": "CB-A", "legal_entity": "LE1", "staff": "A1"}),
            ("membership", {"book": "CB-A", "customer": "C1"}),
        ]
    )
    with world.app.app_context():
        from datetime import date

        from storeserver.activities.services import ActivityInput, create_activity
        from storeserver.extensions import db
        from storeserver.notes.services import add_note
        from storeserver.org.models import Staff, Store

        author = db.session.get(Staff, "A1")
        store = db.session.get(Store, "S1")
        create_activity(
            author,
            store,
            "C1",
            ActivityInput("CALL", "Secret-Name call", day=date(2026, 3, 2)),
        )
        add_note(author, "C1", "Secret-Name likes Tuesdays")
    return world


def test_the_matrix_covers_every_endpoint(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}

    assert endpoints - PUBLIC == set(MATRIX)
    assert set(REQUESTS) == set(MATRIX)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_role_by_endpoint(guarded_world, login, role, endpoint):
    session = login(ROLES[role])
    method, url, data = REQUESTS[endpoint]

    if method == "get":
        response = session.get(url, htmx=True)
    else:
        response = session.post(url, data, htmx=True)

    body = response.get_data(as_text=True)
    if role in MATRIX[endpoint]:
        # Allowed: the operation ran (it may still refuse bad input).
        assert response.status_code in (200, 204, 302, 303, 409, 422), body
    else:
        assert response.status_code == 403, body
        assert "Secret-Name" not in body
        assert "Cachée" not in body


def test_a_login_of_another_legal_entity_reaches_nothing(guarded_world, app):
    client = app.test_client()
    token = csrf_token(client)
    refused = client.post(
        "/login", data={"staff_id": "X1", "password": PASSWORD, "csrf_token": token}
    )
    reached = []

    for endpoint, (method, url, data) in REQUESTS.items():
        response = client.open(url, method=method.upper(), data=data)
        body = response.get_data(as_text=True)
        if response.status_code not in (302, 400) or "Secret-Name" in body:
            reached.append((endpoint, response.status_code))

    assert refused.status_code == 401
    assert reached == []


def test_refusals_are_logged_with_who_what_and_which_customer(
    guarded_world, login, caplog
):
    caplog.set_level("INFO", logger="storeserver")
    session = login("N1")

    session.get("/customers/C1")

    assert "refused VIEW_CUSTOMER to N1 on customer C1" in caplog.text
