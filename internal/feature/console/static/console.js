// invoiced console: live regions. Every element with a data-live attribute
// is refreshed from the HTML fragment at that URL every few seconds (the
// page's data-poll-ms, or the element's own data-live-ms), keeping open
// the <details> (a chart's values) that were. Without JavaScript the
// page's Refresh link does the same by hand.
(function () {
  "use strict";

  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  if (regions.length === 0 || !window.fetch) {
    return;
  }
  var status = document.getElementById("live-status");
  var every = parseInt(document.body.getAttribute("data-poll-ms"), 10) || 2500;
  var stopped = false;
  var live = "Live: updates every " + (every / 1000) + " s.";

  function say(text) {
    if (status && status.textContent !== text) {
      status.textContent = text;
    }
  }

  function stop(text) {
    stopped = true;
    say(text);
  }

  // refresh replaces a region's content with its fragment, unless the
  // fragment is unchanged or the keyboard focus is inside the region. The
  // status line changes only when the state does, so screen readers are
  // not told every few seconds.
  function refresh(region) {
    if (stopped || document.hidden) {
      return;
    }
    fetch(region.getAttribute("data-live"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "text/html" }
    }).then(function (res) {
      if (res.status === 401 || res.status === 403) {
        stop("Live updates stopped: sign in again, then reload the page.");
        return null;
      }
      if (!res.ok) {
        say("Live updates paused: the service answered " + res.status + ". Retrying.");
        return null;
      }
      return res.text();
    }).then(function (html) {
      if (html === null || stopped) {
        return;
      }
      say(live);
      if (html === region.liveLast || region.contains(document.activeElement)) {
        return;
      }
      region.liveLast = html;
      var open = Array.prototype.map.call(region.querySelectorAll("details[open][id]"), function (d) { return d.id; });
      region.innerHTML = html;
      open.forEach(function (id) {
        var d = document.getElementById(id);
        if (d && region.contains(d)) {
          d.open = true;
        }
      });
    }).catch(function () {
      say("Live updates paused: the service is unreachable. Retrying.");
    });
  }

  regions.forEach(function (region) {
    var ms = parseInt(region.getAttribute("data-live-ms"), 10) || every;
    window.setInterval(function () { refresh(region); }, ms);
  });
  say(live);
}());
