"""The operations a login may carry, and the decorator every view declares.

Views declare what they need with `@requires(Operation.X)` or `@public`; a test
walks the URL map and fails on any endpoint that declares neither. Services
check again with `ensure(actor, Operation.X)`, so a partial, a bulk action or a
CLI command cannot bypass the rule.
"""

from __future__ import annotations

import enum
import functools
import logging

from flask import request
from flask_login import current_user

from .errors import NotAllowed, NotSignedIn

logger = logging.getLogger(__name__)


class Operation(enum.StrEnum):
    """Operations, with the reference system's numbering where it has one."""

    VIEW_MY_BOOK = "712"
    VIEW_STORE_BOOK = "713"
    ADD_TO_BOOK = "714"
    REMOVE_FROM_BOOK = "715"
    REASSIGN = "716"
    VIEW_CUSTOMER = "customer.view"
    STORE_ADMIN = "store.admin"
    # Any signed-in associate of this store's legal entity (home, logout).
    SIGNED_IN = "signed-in"


def has(actor, operation: Operation) -> bool:
    """Whether the actor may perform the operation."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if operation is Operation.SIGNED_IN:
        return True
    return actor.may(operation)


def ensure(actor, operation: Operation, customer_id: str | None = None) -> None:
    """Raise NotAllowed, and log the refusal, unless the actor has the operation."""
    if has(actor, operation):
        return

    logger.info(
        "refused %s to %s%s",
        operation.name,
        getattr(actor, "id", "anonymous"),
        f" on customer {customer_id}" if customer_id else "",
    )
    raise NotAllowed(operation)


def requires(operation: Operation):
    """Declare, and check before the view runs, the operation a view needs."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                raise NotSignedIn()
            ensure(current_user, operation, request.view_args.get("customer_id"))
            return view(*args, **kwargs)

        guarded.operation = operation
        return guarded

    return decorate


def public(view):
    """Declare a view that anyone may reach (login page, static files, health)."""
    view.operation = None
    view.public = True
    return view
