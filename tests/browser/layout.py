"""Measure what a finger can reach, and what overflows, in a page."""

from __future__ import annotations

from playwright.sync_api import Page

MIN_TARGET = 44

# Every visible control. A box or a radio is reached through its label when
# the label holds it, so the label is measured instead. The skip link sits
# off screen until it has focus.
_SMALL_TARGETS = """(minimum) => {
  const controls = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary"
  );
  const small = [];
  for (const control of controls) {
    if (control.matches(".skip")) {
      continue;
    }
    let target = control;
    if (control.matches("input[type=checkbox], input[type=radio]")) {
      target = control.closest("label") || control;
    }
    const box = target.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) {
      continue;
    }
    if (getComputedStyle(target).visibility === "hidden") {
      continue;
    }
    if (box.width < minimum || box.height < minimum) {
      small.push(
        `${Math.round(box.width)}x${Math.round(box.height)} px: `
        + control.outerHTML.slice(0, 120)
      );
    }
  }
  return small;
}"""

_OVERFLOW = """() => {
  const width = window.innerWidth;
  const scrolled = document.documentElement.scrollWidth;
  if (scrolled <= width) {
    return null;
  }
  const wide = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(`right edge at ${Math.round(box.right)} px: `
        + element.outerHTML.slice(0, 100));
    }
  }
  return `the page is ${scrolled} px wide in a ${width} px window; `
    + wide.slice(-5).join("; ");
}"""


def small_targets(page: Page, minimum: int = MIN_TARGET) -> list[str]:
    """The visible controls smaller than `minimum` CSS pixels either way."""
    return page.evaluate(_SMALL_TARGETS, minimum)


def sideways_overflow(page: Page) -> str | None:
    """Why the page scrolls sideways (the innermost wide elements), or None."""
    return page.evaluate(_OVERFLOW)
