// The video page: HLS through hls.js where the video has a playlist (the MP4 stays the fallback),
// storyboard thumbnails while scrubbing, and the share link's copy button. Loaded with defer.
(function () {
  "use strict";

  var HIDE_AFTER_MS = 1500;
  var messages = JSON.parse(document.getElementById("anb-messages").textContent);
  var video = document.getElementById("player");
  if (video) {
    setUpHls(video);
    setUpStoryboard(video);
  }
  setUpCopy();

  function setUpHls(video) {
    var playlist = video.dataset.hls;
    if (!playlist) return;
    var mp4 = video.getAttribute("src");
    if (window.Hls && window.Hls.isSupported()) {
      // No worker: it would need a blob: worker-src in the CSP for little gain on 2 s segments.
      var hls = new window.Hls({ enableWorker: false });
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (data.fatal) {
          hls.destroy();
          video.src = mp4; // the MP4 plays wherever the playlist does not
        }
      });
      video.removeAttribute("src");
      hls.loadSource(playlist);
      hls.attachMedia(video);
      video.dataset.engine = "hls.js";
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = playlist; // Safari plays HLS itself
      video.dataset.engine = "native-hls";
    }
  }

  function setUpStoryboard(video) {
    var source = video.dataset.storyboard;
    var box = document.getElementById("scrub-box");
    var range = document.getElementById("scrub");
    var preview = document.getElementById("scrub-preview");
    if (!source || !box || !range || !preview || !window.fetch) return;
    fetch(source)
      .then(function (response) {
        if (!response.ok) throw new Error("storyboard " + response.status);
        return response.text();
      })
      .then(function (text) {
        var cues = parseVtt(text, source);
        if (!cues.length) return;
        box.hidden = false;
        var dragging = false;
        var hideTimer = null;
        function sync() {
          if (!dragging && video.duration) {
            range.max = String(video.duration);
            range.value = String(video.currentTime);
            spoken(video.currentTime);
          }
        }
        // What a screen reader says of the bar: "0:07 de 0:21", not the raw "7.2".
        function spoken(seconds) {
          var total = Number(range.max) || 0;
          range.setAttribute("aria-valuetext", say("player.position", { at: clock(seconds), total: clock(total) }));
        }
        video.addEventListener("loadedmetadata", sync);
        video.addEventListener("timeupdate", sync);
        function show(seconds, x) {
          var cue = find(cues, seconds);
          if (!cue) return;
          clearTimeout(hideTimer);
          preview.style.backgroundImage = 'url("' + cue.url.replace(/"/g, "%22") + '")';
          preview.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
          preview.style.width = cue.w + "px";
          preview.style.height = cue.h + "px";
          var left = Math.max(0, Math.min(box.clientWidth - cue.w, x - cue.w / 2));
          preview.style.left = left + "px";
          preview.hidden = false;
        }
        function position(seconds) {
          var max = Number(range.max) || 1;
          return (seconds / max) * range.clientWidth + range.offsetLeft;
        }
        range.addEventListener("input", function () {
          dragging = true;
          var seconds = Number(range.value);
          spoken(seconds);
          show(seconds, position(seconds));
          video.currentTime = seconds;
        });
        // A drag ends with "change"; so does every arrow key press, where the thumbnail must stay up long
        // enough to be seen: it goes a moment after the last move, whichever moved the range.
        range.addEventListener("change", function () {
          dragging = false;
          clearTimeout(hideTimer);
          hideTimer = setTimeout(function () {
            preview.hidden = true;
          }, HIDE_AFTER_MS);
        });
        range.addEventListener("pointermove", function (event) {
          var rect = range.getBoundingClientRect();
          var fraction = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
          show(fraction * (Number(range.max) || 0), event.clientX - box.getBoundingClientRect().left);
        });
        range.addEventListener("pointerleave", function () {
          if (!dragging) preview.hidden = true;
        });
        range.addEventListener("blur", function () {
          preview.hidden = true;
        });
      })
      .catch(function () {
        box.hidden = true; // no thumbnails: the player's own controls remain
      });
  }

  // WebVTT storyboard: cues of "start --> end" followed by "sprite.jpg#xywh=x,y,w,h".
  function parseVtt(text, base) {
    var cues = [];
    var blocks = text.replace(/\r/g, "").split(/\n\n+/);
    for (var i = 0; i < blocks.length; i++) {
      var lines = blocks[i].split("\n");
      for (var j = 0; j < lines.length - 1; j++) {
        var times = lines[j].match(/([\d:.]+)\s+-->\s+([\d:.]+)/);
        if (!times) continue;
        var target = lines[j + 1].trim();
        var hash = target.match(/#xywh=(\d+),(\d+),(\d+),(\d+)$/);
        if (!hash) break;
        cues.push({
          start: seconds(times[1]),
          end: seconds(times[2]),
          url: new URL(target.slice(0, target.indexOf("#")), base).href,
          x: Number(hash[1]),
          y: Number(hash[2]),
          w: Number(hash[3]),
          h: Number(hash[4]),
        });
        break;
      }
    }
    return cues;
  }

  function say(key, values) {
    return (messages[key] || key).replace(/\{(\w+)\}/g, function (_, name) {
      return values && values[name] != null ? String(values[name]) : "";
    });
  }

  function clock(total) {
    var whole = Math.floor(total);
    var rest = whole % 60;
    return Math.floor(whole / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function seconds(stamp) {
    return stamp.split(":").reduce(function (total, part) {
      return total * 60 + Number(part);
    }, 0);
  }

  function find(cues, at) {
    for (var i = 0; i < cues.length; i++) {
      if (at >= cues[i].start && at < cues[i].end) return cues[i];
    }
    return cues[cues.length - 1];
  }

  function setUpCopy() {
    var button = document.getElementById("copy-link");
    var field = document.getElementById("share-link");
    var status = document.getElementById("copy-status");
    if (!button || !field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        status.textContent = button.dataset.copied;
      });
    });
  }
})();
