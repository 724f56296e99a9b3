// Small behaviours on top of htmx. No inline scripts: the pages can run under
// a Content-Security-Policy without 'unsafe-inline'.

// Controls that only a page without JavaScript needs (a button that sends
// ticks htmx already sent one by one) hide once scripts run.
document.documentElement.classList.add("js");

// The region htmx swapped in. After an outerHTML swap the event's target is
// the old, detached element: look the new one up by its id.
function swappedRegion(event) {
  var target = event.detail.target;
  if (target && !target.isConnected && target.id) {
    target = document.getElementById(target.id);
  }
  return target && target.isConnected ? target : null;
}

// What a region says about itself after a swap (a result count, a period):
// the element marked data-announce, or none.
function summaryOf(region) {
  if (region.hasAttribute("data-announce")) {
    return region;
  }
  return region.querySelector("[data-announce]");
}

// Screen readers announce changes inside a live region that was already on
// the page, not a live region that arrives with new content: the swapped
// summaries are read out through the page's one announcer, which stays.
function announce(text) {
  var announcer = document.getElementById("announcer");
  if (!announcer) {
    return;
  }
  // Emptied first, so that the same count twice in a row is read twice.
  announcer.textContent = "";
  window.setTimeout(function () {
    announcer.textContent = text;
  }, 100);
}

function focusOn(element) {
  if (!element.hasAttribute("tabindex")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
}

function focusLost() {
  var focused = document.activeElement;
  return !focused || focused === document.body || !focused.isConnected;
}

document.addEventListener("htmx:afterSwap", function (event) {
  var region = swappedRegion(event);
  if (!region) {
    return;
  }

  // A confirmation just swapped in: move focus to its title, so keyboard and
  // screen-reader users land on it.
  if (region.id === "dialog") {
    var title = region.querySelector("h2");
    if (title) {
      focusOn(title);
    }
    return;
  }

  var summary = summaryOf(region);
  // The swap took the focused control away (the button of a form that
  // replaced its region, a page link, a "Select all"): focus goes to the new
  // content's summary, or its title, so the next Tab continues from there.
  // A swap that leaves the control in place (typing a search, ticking a
  // filter) leaves focus where the associate is; new content that asks for
  // focus itself (autofocus) gets it from htmx.
  if (focusLost() && !region.querySelector("[autofocus]")) {
    var spot = summary || region.querySelector("h1, h2, h3");
    if (spot) {
      focusOn(spot);
    }
  }
  if (summary && document.activeElement !== summary) {
    // A focused summary is read out by the screen reader already.
    announce(summary.textContent.replace(/\s+/g, " ").trim());
  }
});

// A search box sends its text as the associate types. The change event it
// fires when left (a tap on a card's tick) would send the same search again,
// and the cards drawn anew would drop the tick just made: that one is not
// sent.
document.addEventListener("htmx:confirm", function (event) {
  var trigger = event.detail.triggeringEvent;
  if (trigger && trigger.type === "change" && trigger.target.type === "search") {
    event.preventDefault();
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
