// The bell in the header (every page, when logged in): the unread count, kept current
// by the private "notifications" WebSocket channel (its snapshot, then each notice).
"use strict";

const AuguryBell = (() => {
  const count = document.getElementById("bell-count");
  const bell = document.getElementById("bell");
  function show(unread) {
    if (!count) return;
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
    if (bell) bell.setAttribute("aria-label", unread ? `Notifications (${unread} unread)` : "Notifications");
  }
  const listeners = [];
  if (count) {
    Augury.api("GET", "/notifications/unread").then((r) => show(r.unread)).catch(() => {});
    Augury.live().subscribe("notifications", (msg) => {
      show(msg.type === "subscribed" ? msg.snapshot.unread : msg.unread);
      if (msg.type === "notification") for (const fn of listeners) fn(msg.notification);
    });
  }
  return { show, onNotice(fn) { listeners.push(fn); } };
})();
