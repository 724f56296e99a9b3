"""What every view that serves a page and its htmx fragment needs."""

from __future__ import annotations

from flask import request


def wants_fragment() -> bool:
    """An htmx request for a fragment (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_arg(args) -> int:
    """The page number asked for, 1 when absent or not a number."""
    try:
        return max(1, int(args.get("page", 1)))
    except ValueError:
        return 1


def vary_on_htmx(response):
    """One URL serves the page and its fragment: caches must keep them apart."""
    response.vary.add("HX-Request")
    return response
