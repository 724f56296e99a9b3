"""Run axe-core in a page and fail on serious or critical accessibility findings.

The pages run under a Content-Security-Policy without 'unsafe-inline', so a
script tag carrying axe's source would be refused (that is what
`page.add_script_tag(path=...)` inserts). Playwright's `evaluate` runs through
the browser's debugging protocol, which the page's policy does not govern:
axe's source is evaluated that way, once per loaded document.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Every rule axe runs by default (WCAG 2.0-2.2 A and AA, and its best
# practices), English messages, violations only: passes are not needed.
_RUN = """async (scope) => {
  const results = await axe.run(scope ? document.querySelector(scope) : document, {
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(" "),
      html: n.html,
      summary: n.failureSummary,
    })),
  }));
}"""


@cache
def _axe_source() -> str:
    return AXE_SOURCE.read_text("utf-8")


def inject_axe(page: Page) -> None:
    """Load axe-core into the page's current document, unless it is there."""
    if page.evaluate("() => typeof window.axe === 'object'"):
        return
    page.evaluate(_axe_source())
    version = page.evaluate("() => window.axe && window.axe.version")
    assert version, "axe-core could not be loaded into the page"


def axe_violations(page: Page, scope: str | None = None) -> list[dict]:
    """axe's violations on the page (or inside the element `scope` selects)."""
    inject_axe(page)
    return page.evaluate(_RUN, scope)


def describe(violations: list[dict], where: str) -> str:
    """Violations as lines a person can act on: rule, impact, element, why."""
    lines = [f"{len(violations)} accessibility finding(s) on {where}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}")
            lines.append(f"       {node['html'][:200]}")
            for reason in (node["summary"] or "").splitlines():
                lines.append(f"       {reason}")
    return "\n".join(lines)


def assert_accessible(
    page: Page,
    where: str,
    scope: str | None = None,
    impacts: tuple[str, ...] = BLOCKING,
) -> list[dict]:
    """Fail when axe finds anything of the given impacts; return all findings.

    `where` names the page and state in the failure message.
    """
    violations = axe_violations(page, scope)
    blocking = [v for v in violations if v["impact"] in impacts]
    assert not blocking, describe(blocking, where)
    return violations
