// The QA pages' only script (no framework): the recording player's transcript and channel selector.
//  - clicking a transcript word (or Enter / Space on it) plays its recording from that word;
//  - the word being played is highlighted (class "current") and kept in view;
//  - "Hear": both channels, or only the caller's (left) or the IVR / agent's (right), in both ears.
(function () {
  "use strict";

  function wordsOf(transcript) {
    return Array.prototype.map.call(transcript.querySelectorAll(".word[role=button]"), function (el) {
      return { el: el, start: parseFloat(el.dataset.start), end: parseFloat(el.dataset.end) };
    });
  }

  function follow(player, words) {
    var current = null;
    function highlight() {
      var t = player.currentTime, found = null;
      for (var i = 0; i < words.length; i++) {
        if (words[i].start <= t + 0.02 && t < Math.max(words[i].end, words[i].start + 0.15)) { found = words[i]; }
      }
      if (found === current) { return; }
      if (current) { current.el.classList.remove("current"); current.el.removeAttribute("aria-current"); }
      current = found;
      if (current) {
        current.el.classList.add("current");
        current.el.setAttribute("aria-current", "true");
        current.el.scrollIntoView({ block: "nearest" });
      }
    }
    ["timeupdate", "seeked", "playing"].forEach(function (name) { player.addEventListener(name, highlight); });
  }

  function seekOnClick(player, words) {
    words.forEach(function (word) {
      function go() {
        player.currentTime = word.start;
        var playing = player.play();
        if (playing && playing.catch) { playing.catch(function () {}); }
      }
      word.el.addEventListener("click", go);
      word.el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); go(); }
      });
    });
  }

  function channelSelector(select) {
    var player = document.getElementById(select.dataset.player), gains = null;
    select.addEventListener("change", function () {
      if (!gains) {  // made on the first choice (a user's gesture lets the audio context start)
        var Context = window.AudioContext || window.webkitAudioContext;
        var context = new Context(), source = context.createMediaElementSource(player);
        var split = context.createChannelSplitter(2), merge = context.createChannelMerger(2);
        source.connect(split);
        gains = [context.createGain(), context.createGain()];
        gains.forEach(function (gain, channel) {
          split.connect(gain, channel);
          gain.connect(merge, 0, 0);
          gain.connect(merge, 0, 1);  // each channel heard in both ears
        });
        merge.connect(context.destination);
      }
      gains[0].gain.value = select.value === "2" ? 0 : 1;
      gains[1].gain.value = select.value === "1" ? 0 : 1;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".transcript[data-player]"), function (transcript) {
      var player = document.getElementById(transcript.dataset.player);
      if (!player) { return; }
      var words = wordsOf(transcript);
      seekOnClick(player, words);
      follow(player, words);
    });
    Array.prototype.forEach.call(document.querySelectorAll("select.channel[data-player]"), channelSelector);
  });
})();
