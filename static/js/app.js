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
