// Small behaviours on top of htmx. No inline scripts: the pages can run under
// a Content-Security-Policy without 'unsafe-inline'.
document.addEventListener("htmx:afterSwap", function (event) {
  // Move focus to a confirmation that has just appeared, so keyboard and
  // screen-reader users land on it.
  var dialog = event.detail.target;
  if (dialog && dialog.id === "dialog") {
    var title = dialog.querySelector("h2");
    if (title) {
      title.setAttribute("tabindex", "-1");
      title.focus();
    }
  }
});
