// Wall screens: the clock, the page rotation and the ages of the data run here, in the
// browser, so they keep going while the server is away. Registered as Dash clientside
// callbacks (callbacks/wall.py).

// "5 phút" / "5 minutes" as Babel's format_timedelta(threshold=1.5) writes them (i18n.format_age):
// the largest unit reaching 1.5, rounded.
const AGE_UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                   ["hour", 3600], ["minute", 60], ["second", 1]];

function ageText(seconds, lang) {
  for (const [unit, size] of AGE_UNITS) {
    const value = seconds / size;
    if (value >= 1.5 || unit === "second") {
      return new Intl.NumberFormat(lang === "en" ? "en" : "vi", { style: "unit", unit: unit, unitDisplay: "long" })
        .format(Math.max(1, Math.round(value)));
    }
  }
}

// Every element with data-since (epoch seconds) shows how long ago that was. The server sends
// the time, not the age: an age changes every minute, the time only with new data.
function showAges(lang) {
  const now = Date.now() / 1000;
  document.querySelectorAll("[data-since]").forEach(function (el) {
    const text = ageText(Math.max(0, now - Number(el.dataset.since)), lang);
    if (el.textContent !== text) el.textContent = text;
  });
}

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  wall: {
    // Every second: the vi-VN clock in the centre's time zone, and the window size when it changed.
    tick: function (_n, settings, previous) {
      showAges(settings.lang);
      const locale = settings.lang === "en" ? "en-GB" : "vi-VN";
      const clock = new Intl.DateTimeFormat(locale, {
        timeZone: settings.tz, weekday: "long", day: "2-digit", month: "2-digit", year: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      }).format(new Date());
      const size = { w: window.innerWidth, h: window.innerHeight, screen_rows: settings.screen_rows };
      const same = previous && previous.w === size.w && previous.h === size.h;
      return [clock, same ? window.dash_clientside.no_update : size];
    },
    // Every rotation interval: show the next page of the playlist and its title.
    rotate: function (n, settings) {
      const active = (n || 0) % settings.pages;
      const classes = [];
      for (let i = 0; i < settings.pages; i++) classes.push(i === active ? "wall-page is-active" : "wall-page");
      return [classes, settings.titles[active]];
    },
  },
});

// Wall alert lists (components/alert_list.py): each new critical alert flashes once and, in a
// panel with `sound: true`, sounds one short tone. Dash reuses a line's DOM node by position,
// so a refresh that shifts the list would re-flash (or miss) alerts if the CSS class alone
// drove it: the browser remembers the alert ids instead, and flashes with the Web Animations API.
(function () {
  const FLASH_MS = 2500;
  const KEEP_IDS = 500;
  const STORE = "opscentre.wall.flashed";  // kept over a reload of the wall: no second flash
  const flashed = new Set(readStore());
  const pending = new Set();  // new ids not flashed yet (their page may be hidden in the rotation)
  const heard = new Set();    // new critical ids that sounded, or were already there on load
  const primed = new WeakSet();  // panels whose first list has been read
  let audio = null;

  function readStore() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }

  function remember(id) {
    flashed.add(id);
    while (flashed.size > KEEP_IDS) flashed.delete(flashed.values().next().value);
    try { sessionStorage.setItem(STORE, JSON.stringify([...flashed])); } catch (e) { /* private mode */ }
  }

  function flash(line, id) {
    const red = "rgba(229, 62, 62, .6)";
    const anim = line.animate(
      [{ backgroundColor: red }, { backgroundColor: red, offset: 0.4 }, { backgroundColor: "transparent" }],
      { duration: FLASH_MS, easing: "ease-out" });
    line.__alertFlash = { id: id, anim: anim };
  }

  // One short two-note tone, made here (no audio file). Without a user gesture Chromium keeps
  // the context suspended unless started with --autoplay-policy=no-user-gesture-required; a
  // tone that could not play at once is dropped rather than played late.
  function tone() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
    } catch (e) { return; }
    const play = function () {
      const t0 = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t0);
      osc.frequency.setValueAtTime(660, t0 + 0.2);
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.35, t0 + 0.02);
      gain.gain.setValueAtTime(0.35, t0 + 0.35);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.5);
      osc.connect(gain).connect(audio.destination);
      osc.start(t0);
      osc.stop(t0 + 0.55);
    };
    if (audio.state === "running") { play(); return; }
    const asked = performance.now();
    audio.resume().then(function () { if (performance.now() - asked < 1500) play(); }, function () {});
  }

  function scan() {
    const lists = document.querySelectorAll(".wall .alert-lines");
    if (!lists.length) return;
    const visibleLines = new Map();  // id -> lines on the page showing now
    const fresh = new Set();         // new critical ids seen for the first time
    let sound = false;
    for (const list of lists) {
      const panel = list.closest(".wall-panel") || list;
      const first = !primed.has(panel);
      primed.add(panel);
      const page = list.closest(".wall-page");
      const visible = !page || page.classList.contains("is-active");
      for (const line of list.querySelectorAll(".alert-line[data-alert-id]")) {
        const id = line.dataset.alertId;
        if (line.__alertFlash && line.__alertFlash.id !== id) {
          line.__alertFlash.anim.cancel();  // the node now shows another alert
          line.__alertFlash = null;
        }
        if (!line.classList.contains("is-new")) continue;
        if (!flashed.has(id)) pending.add(id);
        if (visible && pending.has(id)) {
          if (!visibleLines.has(id)) visibleLines.set(id, []);
          visibleLines.get(id).push(line);
        }
        if (!heard.has(id)) {
          fresh.add(id);
          // Alerts already open when the wall loads do not sound.
          if (!first && list.hasAttribute("data-sound")) sound = true;
        }
      }
    }
    visibleLines.forEach(function (lines, id) {
      lines.forEach(function (line) { flash(line, id); });
      pending.delete(id);
      remember(id);
    });
    fresh.forEach(function (id) { heard.add(id); });
    if (sound) tone();  // at most one per refresh, however many alerts are new
  }

  // A wall browser that is not a kiosk gets its sound once someone touches it.
  function unlock() {
    if (!document.querySelector(".wall .alert-lines[data-sound]")) return;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    try { audio = audio || (Ctx && new Ctx()); if (audio) audio.resume().catch(function () {}); } catch (e) { /* none */ }
  }

  function start() {
    // Dash writes each refresh in one React commit: one scan per batch of mutations.
    new MutationObserver(scan).observe(document.body, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["class", "data-alert-id"],
    });
    document.addEventListener("pointerdown", unlock, { passive: true });
    document.addEventListener("keydown", unlock);
    scan();
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
