// The upload page: checks the file in the browser (size, then duration and resolution from its
// metadata, before a byte is sent), then sends it with tus (resumable: after a dropped connection or
// a reload, choosing the same file continues where it stopped) when the server offers /api/uploads/,
// else in one request with progress. Shows progress, speed and time left.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) return;
  var messages = JSON.parse(document.getElementById("anb-messages").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var input = document.getElementById("video_file");
  var titleInput = document.getElementById("title");
  var drop = document.getElementById("drop");
  var check = document.getElementById("file-check");
  var bar = document.getElementById("upload-progress");
  var statusLine = document.getElementById("upload-status");
  var submit = document.getElementById("upload-submit");
  var limits = {
    maxBytes: Number(form.dataset.maxBytes),
    minDuration: Number(form.dataset.minDuration),
    maxDuration: Number(form.dataset.maxDuration),
    minShortSide: Number(form.dataset.minShortSide),
    maxLongSide: Number(form.dataset.maxLongSide),
  };
  var verdict = null; // a Promise of the check of the chosen file: true (send it) or false
  var tusEndpoint = null; // "/api/uploads/" once the server said it speaks tus
  var MB = 1000 * 1000;

  function say(key, values) {
    return (messages[key] || key).replace(/\{(\w+)\}/g, function (_, name) {
      return values && values[name] != null ? String(values[name]) : "";
    });
  }

  function decimal(value, digits) {
    return value.toFixed(digits).replace(".", ",");
  }

  function report(element, text, good) {
    element.textContent = text;
    element.className = element.className.replace(/\s*\b(good|bad)\b/g, "") + (good === undefined ? "" : good ? " good" : " bad");
  }

  // --- The check, from the file's metadata ---------------------------------------------------
  function inspect(file) {
    if (!file) return Promise.resolve(false);
    if (file.size === 0) {
      report(check, say("check.empty"), false);
      return Promise.resolve(false);
    }
    if (file.size > limits.maxBytes) {
      report(check, say("check.too_large", { size: decimal(file.size / MB, 1), max: decimal(limits.maxBytes / MB, 0) }), false);
      return Promise.resolve(false);
    }
    report(check, say("check.reading"));
    return new Promise(function (resolve) {
      var probe = document.createElement("video");
      var url = URL.createObjectURL(file);
      var settled = false;
      function done(ok, text) {
        if (settled) return;
        settled = true;
        URL.revokeObjectURL(url);
        probe.removeAttribute("src");
        report(check, text, ok);
        resolve(ok);
      }
      probe.preload = "metadata";
      probe.muted = true;
      probe.addEventListener("loadedmetadata", function () {
        var duration = probe.duration;
        var width = probe.videoWidth;
        var height = probe.videoHeight;
        var values = { duration: decimal(duration, 1), width: width, height: height, size: decimal(file.size / MB, 1) };
        if (!isFinite(duration) || !width || !height) {
          done(true, say("check.unreadable"));
        } else if (duration < limits.minDuration) {
          done(false, say("check.too_short", { duration: values.duration, min: limits.minDuration }));
        } else if (duration > limits.maxDuration) {
          done(false, say("check.too_long", { duration: values.duration, max: limits.maxDuration }));
        } else if (Math.min(width, height) < limits.minShortSide) {
          done(false, say("check.too_small", { width: width, height: height, min: limits.minShortSide }));
        } else if (Math.max(width, height) > limits.maxLongSide) {
          done(false, say("check.too_big", { width: width, height: height, max: limits.maxLongSide }));
        } else {
          done(true, say("check.ok", values));
        }
      });
      // A codec this browser cannot decode (HEVC on many): the server decides.
      probe.addEventListener("error", function () {
        done(true, say("check.unreadable"));
      });
      probe.src = url;
    });
  }

  input.addEventListener("change", function () {
    verdict = inspect(input.files[0]);
  });

  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault();
      drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () {
      drop.classList.remove("over");
    });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    verdict = inspect(input.files[0]);
  });

  // --- Progress, speed and time left -----------------------------------------------------------
  function meter() {
    var started = null;
    var lastAt = 0;
    var lastBytes = 0;
    var speed = 0; // bytes per second, smoothed
    return function (sent, total, from) {
      var now = performance.now();
      if (started === null) {
        started = now;
        lastAt = now;
        lastBytes = sent;
      }
      if (now - lastAt >= 500) {
        var recent = ((sent - lastBytes) * 1000) / (now - lastAt);
        speed = speed ? speed * 0.7 + recent * 0.3 : recent;
        lastAt = now;
        lastBytes = sent;
      }
      var left = speed > 0 ? (total - sent) / speed : NaN;
      bar.hidden = false;
      bar.value = total ? Math.floor((sent * 100) / total) : 0;
      statusLine.textContent = say("upload.progress", {
        percent: total ? Math.floor((sent * 100) / total) : 0,
        sent: decimal(sent / MB, 1),
        total: decimal(total / MB, 1),
        speed: speed ? decimal(speed / MB, 1) : "–",
        left: isFinite(left) ? duration(left) : "–",
      });
    };
  }

  function duration(seconds) {
    seconds = Math.ceil(seconds);
    if (seconds < 60) return say("time.seconds", { n: seconds });
    return say("time.minutes", { m: Math.floor(seconds / 60), s: seconds % 60 });
  }

  function finished() {
    statusLine.textContent = say("upload.done");
    window.location.assign("/my-videos?notice=uploaded");
  }

  function failed(detail) {
    submit.disabled = false;
    report(statusLine, say("upload.failed", { detail: detail || say("upload.network") }), false);
  }

  function detailOf(text) {
    try {
      return JSON.parse(text).detail;
    } catch (_error) {
      return "";
    }
  }

  // --- tus, when the server offers it ----------------------------------------------------------
  function sendWithTus(file, title) {
    var progress = meter();
    var resumed = false;
    var upload = new window.tus.Upload(file, {
      endpoint: tusEndpoint,
      metadata: { filename: file.name, title: title },
      headers: { "X-CSRF-Token": csrf },
      chunkSize: 8 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) {
        progress(sent, total);
        if (resumed) {
          // The first figure after a resume starts where the server's offset stood.
          resumed = false;
          statusLine.dataset.resumedFrom = String(Math.floor((sent * 100) / total));
          statusLine.textContent = say("upload.resuming", { percent: statusLine.dataset.resumedFrom });
        }
      },
      onShouldRetry: function (error) {
        if (refused(error)) return false;
        statusLine.textContent = say("upload.retrying");
        return true;
      },
      onError: function (error) {
        var response = error.originalResponse;
        // The server ended a refused upload (a rule broken, too large): nothing is left to resume, so
        // the page must not offer to continue it next time.
        if (refused(error)) forget(upload);
        failed(response ? detailOf(response.getBody()) : "");
      },
      onSuccess: finished,
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        resumed = true;
      }
      statusLine.textContent = say("upload.starting");
      upload.start();
    });
  }

  // A refusal, not a passing trouble: a 4xx other than offset mismatch (409), locked (423), too many (429).
  function refused(error) {
    var status = error.originalResponse ? error.originalResponse.getStatus() : 0;
    return status >= 400 && status < 500 && status !== 409 && status !== 423 && status !== 429;
  }

  function forget(upload) {
    var storage = upload.options.urlStorage;
    upload.options
      .fingerprint(upload.file, upload.options)
      .then(function (fingerprint) {
        return storage.findUploadsByFingerprint(fingerprint);
      })
      .then(function (previous) {
        previous.forEach(function (entry) {
          storage.removeUpload(entry.urlStorageKey);
        });
      });
  }

  function offerResume() {
    var storage = window.tus.defaultOptions.urlStorage;
    if (!storage || !storage.findAllUploads) return;
    storage.findAllUploads().then(function (previous) {
      if (previous.length && !statusLine.textContent) {
        var title = (previous[0].metadata && previous[0].metadata.title) || "";
        statusLine.textContent = say("upload.pending", { title: title });
      }
    });
  }

  // --- One request, when it does not -----------------------------------------------------------
  function sendInOneRequest(file, title) {
    var progress = meter();
    var body = new FormData();
    body.append("title", title);
    body.append("video_file", file);
    var request = new XMLHttpRequest();
    request.open("POST", "/upload");
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) progress(event.loaded, event.total);
    });
    request.addEventListener("load", function () {
      if (request.status === 202) finished();
      else failed(detailOf(request.responseText));
    });
    request.addEventListener("error", function () {
      failed("");
    });
    statusLine.textContent = say("upload.starting");
    request.send(body);
  }

  // The server speaks tus when OPTIONS /api/uploads/ answers Tus-Version (another piece of work adds it).
  if (window.tus && window.tus.isSupported && window.fetch) {
    fetch("/api/uploads/", { method: "OPTIONS" })
      .then(function (response) {
        if (response.ok && response.headers.get("Tus-Version")) {
          tusEndpoint = "/api/uploads/";
          form.dataset.transport = "tus";
          offerResume();
        } else {
          form.dataset.transport = "single";
        }
      })
      .catch(function () {
        form.dataset.transport = "single";
      });
  } else {
    form.dataset.transport = "single";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = input.files[0];
    var title = titleInput.value.trim();
    if (!title) {
      report(statusLine, say("upload.title"), false);
      titleInput.focus();
      return;
    }
    if (!file) {
      report(statusLine, say("upload.choose"), false);
      input.focus();
      return;
    }
    (verdict || (verdict = inspect(file))).then(function (ok) {
      if (!ok) {
        input.focus();
        return;
      }
      submit.disabled = true;
      report(statusLine, "");
      if (tusEndpoint) sendWithTus(file, title);
      else sendInOneRequest(file, title);
    });
  });
})();
