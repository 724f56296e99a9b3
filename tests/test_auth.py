"""Signing in and out."""

from __future__ import annotations

import sqlalchemy as sa

from storeserver.audit import AuditEvent
from storeserver.extensions import db

from .conftest import ALL_BOOK_OPS, PASSWORD, csrf_token, staff


def sign_in(client, staff_id, password=PASSWORD, next_url=None):
    token = csrf_token(client)
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(
        url,
        data={"staff_id": staff_id, "password": password, "csrf_token": token},
        headers={"Accept-Language": "en"},
    )


def test_sign_in_lands_on_today(world, client):
    response = sign_in(client, "A1")

    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "agenda" in home
    assert "Important dates this week" in home


def test_staff_id_is_not_case_sensitive(world, client):
    assert sign_in(client, "a1").status_code == 302


def test_wrong_password_is_refused_with_a_clear_message(world, client, app):
    response = sign_in(client, "A1", "wrong")

    assert response.status_code == 401
    assert "The staff id or the password is wrong." in response.get_data(as_text=True)
    with app.app_context():
        failed = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
        ).one()
    assert failed.details["reason"] == "wrong password"


def test_unknown_staff_gets_the_same_message(world, client):
    response = sign_in(client, "ZZ9")

    assert response.status_code == 401
    assert "The staff id or the password is wrong." in response.get_data(as_text=True)


def test_disabled_login_is_told_so(world, client):
    response = sign_in(client, "D1")

    assert response.status_code == 401
    assert "This login is disabled." in response.get_data(as_text=True)


def test_staff_of_another_legal_entity_cannot_sign_in(world, client):
    response = sign_in(client, "X1")

    assert response.status_code == 401
    assert "does not belong to this store" in response.get_data(as_text=True)


def test_empty_form_is_a_422_with_inline_errors(world, client):
    token = csrf_token(client)

    response = client.post("/login", data={"csrf_token": token})

    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(world, client):
    response = client.post("/login", data={"staff_id": "A1", "password": PASSWORD})

    assert response.status_code == 400


def test_next_sends_back_to_the_page_asked_for(world, client):
    response = sign_in(client, "A1", next_url="/book/add")

    assert response.headers["Location"] == "/book/add"


def test_next_never_leaves_this_server(world, client):
    response = sign_in(client, "A1", next_url="//evil.example.org/x")

    assert response.headers["Location"] == "/"


def test_pages_send_an_anonymous_visitor_to_the_login(world, client):
    response = client.get("/book?a.aime=Sacs")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/book")


def test_htmx_request_after_sign_out_redirects_with_a_header(world, client):
    response = client.get("/book", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/login")


def test_sign_out_ends_the_session(world, login):
    session = login("A1")

    response = session.post("/logout")

    assert response.status_code == 302
    assert session.get("/book").status_code == 302


def test_sign_out_needs_a_post(world, login):
    session = login("A1")

    assert session.get("/logout").status_code == 405
    assert session.get("/book").status_code == 200


def test_a_login_disabled_at_hq_ends_the_open_session(world, login):
    session = login("B1")

    world.pull(
        [
            (
                "staff",
                {
                    "id": "B1",
                    "legal_entity": "LE1",
                    "first_name": "Marc",
                    "last_name": "Exemple",
                    "login_enabled": False,
                },
            )
        ]
    )

    assert session.get("/book").status_code == 302


def test_next_with_a_line_break_is_ignored(world, client):
    response = sign_in(client, "A1", next_url="/%0d%0aX-Injected:1")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "X-Injected" not in response.headers


def test_staff_of_another_store_of_the_legal_entity_cannot_sign_in(world, client):
    world.pull([staff("L1", "Lou", "Lyon", ALL_BOOK_OPS, books=("AB2",))])

    response = sign_in(client, "L1")

    assert response.status_code == 401
    assert "does not work in this store" in response.get_data(as_text=True)


def test_what_was_typed_as_an_unknown_staff_id_is_not_kept(world, client, app):
    sign_in(client, "my-secret-password", "x")

    with app.app_context():
        failed = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
        ).one()
    assert failed.actor_id is None
    assert "my-secret-password" not in str(failed.details)


def test_a_copied_session_cookie_is_dead_after_sign_out(world, app, login):
    session = login("A1")
    cookie = session.client.get_cookie("session").value

    session.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", cookie)

    assert thief.get("/book").status_code == 302


def test_sign_in_is_logged_after_the_database_upgrade(world, app, client):
    import logging

    from storeserver import upgrade_database

    upgrade_database(app)  # the migrations configure logging: ours must survive
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("storeserver").addHandler(handler)
    try:
        sign_in(client, "A1")
    finally:
        logging.getLogger("storeserver").removeHandler(handler)

    assert "A1 signed in" in [record.getMessage() for record in records]
