// "My videos", followed live: server-sent events from /api/videos/events (the session cookie
// authenticates them); while that endpoint is not there (or is down), the page polls
// /my-videos/status every few seconds and tries the events again now and then. A video that reaches
// a final state gets its row again from the server (its buttons change); progress is updated in place.
(function () {
  "use strict";

  var list = document.querySelector("[data-live]");
  if (!list) return;
  var messages = JSON.parse(document.getElementById("anb-messages").textContent);
  var POLL_MS = 2000;
  var RETRY_EVENTS_MS = 30000;
  var FINAL = { processed: true, failed: true, deleted: true };
  var pollTimer = null;
  var source = null;

  function say(key, values) {
    return (messages[key] || key).replace(/\{(\w+)\}/g, function (_, name) {
      return values && values[name] != null ? String(values[name]) : "";
    });
  }

  function rows() {
    return Array.prototype.slice.call(list.querySelectorAll("[data-video-id]"));
  }

  function following() {
    return rows()
      .filter(function (row) {
        return !FINAL[row.dataset.status];
      })
      .map(function (row) {
        return row.dataset.videoId;
      });
  }

  function apply(state) {
    var row = document.getElementById("video-" + state.video_id);
    if (!row) return;
    var before = row.dataset.status;
    row.dataset.status = state.status;
    if (FINAL[state.status]) {
      if (before !== state.status) refresh(row, state);
      return;
    }
    row.className = row.className.replace(/status-\w+/, "status-" + state.status);
    var text = row.querySelector("[data-status-text]");
    var bar = row.querySelector("progress");
    var progress = state.progress == null ? 0 : state.progress;
    if (text) text.textContent = say("status." + state.status, { progress: progress, error: state.error });
    if (bar) {
      bar.hidden = false;
      bar.value = progress;
    }
  }

  function refresh(row, state) {
    if (state.status === "deleted") {
      row.remove();
      return;
    }
    fetch("/my-videos/" + state.video_id + "/row", { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        var fresh = holder.content.firstElementChild;
        if (!fresh) return;
        row.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      });
  }

  function poll() {
    var ids = following();
    if (!ids.length) return;
    fetch("/my-videos/status?ids=" + ids.join(","), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.ok ? response.json() : [];
      })
      .then(function (states) {
        states.forEach(apply);
      })
      .catch(function () {});
  }

  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  function listen() {
    if (!window.EventSource) {
      startPolling();
      return;
    }
    source = new EventSource("/api/videos/events");
    source.addEventListener("open", function () {
      stopPolling();
      list.dataset.feed = "events";
    });
    source.addEventListener("video", function (event) {
      apply(JSON.parse(event.data));
    });
    source.addEventListener("error", function () {
      // CONNECTING: the browser reconnects by itself (Last-Event-ID); CLOSED: the endpoint refused.
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        list.dataset.feed = "polling";
        startPolling();
        setTimeout(listen, RETRY_EVENTS_MS);
      }
    });
  }

  listen();
})();
