"""Every endpoint declares the operation it needs, and the server enforces it."""

from __future__ import annotations

import pytest

from storeserver.permissions import Operation

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


def example_url(rule) -> str:
    return rule.build({arg: "C1" for arg in rule.arguments})[1]


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
