// Small behaviours on top of htmx. No inline scripts: the pages can run under
// a Content-Security-Policy without 'unsafe-inline'.
document.addEventListener("htmx:afterSwap", function () {
  // After an outerHTML swap the event's target is the old, detached element,
  // so look the confirmation up again. Moving focus to it lets keyboard and
  // screen-reader users land on what just appeared.
  var dialog = document.getElementById("dialog");
  var title = dialog && dialog.querySelector("h2");
  if (title && document.activeElement !== title) {
    title.setAttribute("tabindex", "-1");
    title.focus();
  }
});

// Controls that only a page without JavaScript needs (a button that sends
// ticks htmx already sent one by one) hide once scripts run.
document.documentElement.classList.add("js");
