// The admin console works without this script; it only adds conveniences:
// a confirmation before irreversible-looking actions, and the live occupancy refreshing itself.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }

  const live = document.querySelector("[data-live-occupancy]");
  if (live) {
    const show = (name, value) => {
      const target = live.querySelector(`[data-field="${name}"]`);
      if (target) {
        target.textContent = String(value);
      }
    };
    const refresh = async () => {
      try {
        const response = await fetch(live.dataset.liveOccupancy, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) {
          return;
        }
        const occupancy = await response.json();
        for (const name of ["inside", "limit", "entered_today", "exited_today"]) {
          show(name, occupancy[name]);
        }
        const meter = live.querySelector("meter");
        if (meter) {
          meter.max = Math.max(occupancy.limit, 1);
          meter.high = Math.round(meter.max * 0.9);
          meter.value = occupancy.inside;
        }
        live.classList.toggle("is-full", occupancy.inside >= occupancy.limit);
      } catch (error) {
        // Offline for a moment: keep the last figures, try again at the next tick.
      }
    };
    window.setInterval(refresh, 10000);
  }
});
