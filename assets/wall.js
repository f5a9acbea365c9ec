// Wall screens: the clock and the page rotation run here, in the browser, so they keep
// going while the server is away. Registered as Dash clientside callbacks (callbacks/wall.py).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  wall: {
    // Every second: the vi-VN clock in the centre's time zone, and the window size when it changed.
    tick: function (_n, settings, previous) {
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
