// Small behaviours on top of htmx. No inline scripts: the pages can run under
// a Content-Security-Policy without 'unsafe-inline'.
document.addEventListener("htmx:afterSwap", function (event) {
  // When a confirmation has just been swapped in, move focus to it so that
  // keyboard and screen-reader users land on it; other swaps (a search, a
  // tick) leave focus where the associate is typing. After an outerHTML swap
  // the event's target is the old, detached element: look the new one up.
  if (!event.detail.target || event.detail.target.id !== "dialog") {
    return;
  }
  var dialog = document.getElementById("dialog");
  var title = dialog && dialog.querySelector("h2");
  if (title) {
    title.setAttribute("tabindex", "-1");
    title.focus();
  }
});

// Controls that only a page without JavaScript needs (a button that sends
// ticks htmx already sent one by one) hide once scripts run.
document.documentElement.classList.add("js");

// After a form posted through htmx replaces the list or the selection bar
// (select all, clear, move, remove), the button that had focus is gone: put
// focus on the new region's count so the next Tab continues from there.
document.addEventListener("htmx:afterSwap", function (event) {
  var config = event.detail.requestConfig;
  var target = event.detail.target;
  if (!config || config.verb !== "post" || !target) {
    return;
  }
  var count = null;
  if (target.id === "selection") {
    count = document.querySelector("#selection .count");
  } else if (target.id === "card-list") {
    count = document.getElementById("card-count");
  }
  if (count) {
    count.focus();
  }
});

// Escape closes an open confirmation, as its Cancel link does.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") {
    return;
  }
  var cancel = document.querySelector("#dialog .confirm a.secondary");
  if (cancel) {
    cancel.click();
  }
});
