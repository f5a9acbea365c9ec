// "Mất kết nối": when the server stops answering, every screen keeps its last picture and
// says since when it is from; the refresh timers keep asking, and the first answer that
// gets through clears the banner. No reload is needed, so an unattended wall recovers alone.
(function () {
  const original = window.fetch.bind(window);
  let lastAnswer = new Date();
  let lost = false;

  function setLost(isLost) {
    const banner = document.getElementById("connection-lost");
    if (isLost && !lost) {
      const since = document.getElementById("connection-lost-since");
      if (since && banner) {
        since.textContent = new Intl.DateTimeFormat(document.documentElement.lang === "en" ? "en-GB" : "vi-VN", {
          timeZone: banner.dataset.tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
        }).format(lastAnswer);
      }
    }
    lost = isLost;
    document.documentElement.classList.toggle("is-disconnected", isLost);
    if (banner) banner.hidden = !isLost;
  }

  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    const request = original(input, init);
    if (url.indexOf("_dash-update-component") === -1) return request;
    return request.then(
      function (response) {
        // A desktop whose sign-in has ended (auth/web.py answers 401) goes to the sign-in page and
        // back here afterwards, instead of showing a picture that silently stops updating. A wall
        // (/wall/...) never does: it keeps its last picture and says so (a revoked kiosk token).
        if (response.status === 401 && location.pathname.indexOf("/wall/") !== 0) {
          location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
          return new Promise(function () {});  // the page is leaving: Dash need not handle the refusal
        }
        // A proxy in front answers 502-504 while the app is down; a 500 is a bug, not a lost link.
        const down = (response.status >= 502 && response.status <= 504) || response.status === 401;
        if (!down) lastAnswer = new Date();
        setLost(down);
        return response;
      },
      function (error) {
        setLost(true);
        throw error;
      }
    );
  };
})();
