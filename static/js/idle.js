// Shared tablets: sign out after a while without use, with a warning first.
// The server ends an idle sign-in by itself; this script warns the associate,
// lets them stay, and clears the screen when the time is up, so no customer is
// left on display. Every request (a page, an htmx swap) restarts the clock.
(function () {
  var body = document.body;
  var idle = Number(body.dataset.idleSeconds || 0);
  if (!idle) {
    return;
  }
  var warning = Number(body.dataset.idleWarningSeconds || 0);
  var dialog = document.getElementById("idle-warning");
  var count = dialog && dialog.querySelector(".idle-count");
  var stay = dialog && dialog.querySelector(".idle-stay");
  var form = document.getElementById("sign-out");
  var warnTimer = null;
  var endTimer = null;
  var tick = null;
  var returnFocus = null;

  function hideWarning() {
    if (!dialog || dialog.hidden) {
      return;
    }
    dialog.hidden = true;
    clearInterval(tick);
    if (returnFocus && document.contains(returnFocus)) {
      returnFocus.focus();
    }
  }

  function showWarning() {
    if (!dialog) {
      return;
    }
    var left = warning;
    count.textContent = String(left);
    returnFocus = document.activeElement;
    dialog.hidden = false;
    stay.focus();
    tick = setInterval(function () {
      left = Math.max(0, left - 1);
      count.textContent = String(left);
    }, 1000);
  }

  function signOut() {
    // Nothing of the customers stays on screen, even before the server answers.
    var main = document.getElementById("main");
    if (main) {
      main.replaceChildren();
    }
    hideWarning();
    form.querySelector('input[name="reason"]').value = "idle";
    form.submit();
  }

  function restart() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    hideWarning();
    if (warning > 0) {
      warnTimer = setTimeout(showWarning, (idle - warning) * 1000);
    }
    endTimer = setTimeout(signOut, idle * 1000);
  }

  if (stay) {
    stay.addEventListener("click", function () {
      var token = document.querySelector('input[name="csrf_token"]');
      fetch(body.dataset.keepAlive, {
        method: "POST",
        headers: { "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
      }).then(function (response) {
        if (response.ok) {
          restart();
        } else {
          signOut();
        }
      });
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && dialog && !dialog.hidden) {
      stay.click();
    }
  });
  document.addEventListener("htmx:afterRequest", restart);
  // A page shown again from the back/forward cache may be a signed-out one:
  // ask the server again rather than show what it held.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
  restart();
})();
