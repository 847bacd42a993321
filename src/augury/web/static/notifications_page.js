// The notifications page: the feed (unread only, older pages, mark one or all read)
// and the kinds shown. Every change goes through the JSON API.
"use strict";

(() => {
  const { api, el, showError, hide, message } = Augury;
  const feed = document.getElementById("feed");
  const more = document.getElementById("more");
  const unreadOnly = document.getElementById("unread-only");
  const note = document.getElementById("unread-note");
  const error = document.getElementById("feed-error");
  const KIND_NAMES = {
    fill: "Fills", order_closed: "Orders closed by the exchange", market_closed: "Markets closed",
    market_halted: "Markets halted", market_held: "Markets held for the arbiters",
    market_resolved: "Markets resolved", market_voided: "Markets voided",
    clarification: "Clarifications", dispute: "Disputes", decision: "Decisions on your proposals and votes",
    new_login: "Logins from a new place",
  };
  let cursor = null;

  function unread(n) {
    note.textContent = n ? `(${n} unread)` : "";
    if (typeof AuguryBell !== "undefined") AuguryBell.show(n);
  }

  function item(n) {
    const li = el("li", { class: n.read ? "read" : "unread", "data-id": n.id },
      el("span", { class: "notice-kind", text: KIND_NAMES[n.kind] || n.kind }),
      el("span", { class: "notice-text" }, n.market ? el("a", { href: `/markets/${encodeURIComponent(n.market)}`, text: n.text }) : n.text),
      el("time", { datetime: n.created_at, text: Augury.time(n.created_at) }));
    if (!n.read) {
      li.append(el("button", { type: "button", class: "small secondary", "aria-label": "Mark read", text: "Mark read",
        onclick: async (event) => {
          try {
            const r = await api("POST", `/notifications/${n.id}/read`);
            li.className = "read";
            event.target.remove();
            unread(r.unread);
          } catch (err) { showError(error, err); }
        } }));
    }
    return li;
  }

  async function load(append) {
    hide(error);
    const params = new URLSearchParams({ limit: "30" });
    if (unreadOnly.checked) params.set("unread", "true");
    if (append && cursor) params.set("cursor", cursor);
    const page = await api("GET", `/notifications?${params}`);
    const items = page.items.map(item);
    if (append) feed.append(...items);
    else feed.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "Nothing here." })]));
    cursor = page.next_cursor;
    more.hidden = !cursor;
    unread(page.unread);
  }

  unreadOnly.addEventListener("change", () => load(false).catch((err) => showError(error, err)));
  more.addEventListener("click", () => load(true).catch((err) => showError(error, err)));
  document.getElementById("read-all").addEventListener("click", async () => {
    try { unread((await api("POST", "/notifications/read")).unread); await load(false); } catch (err) { showError(error, err); }
  });
  if (typeof AuguryBell !== "undefined") AuguryBell.onNotice(() => load(false).catch(() => {}));
  load(false).catch((err) => feed.replaceChildren(el("li", { class: "error", text: message(err) })));

  // -- the kinds shown -----------------------------------------------------------------
  const form = document.getElementById("kinds-form");
  const kinds = document.getElementById("kinds");
  const kindsError = document.getElementById("kinds-error");
  const saved = document.getElementById("kinds-saved");
  api("GET", "/notifications/settings").then((s) => {
    kinds.replaceChildren(...Object.entries(s.kinds).map(([kind, on]) => el("label", {},
      el("input", { type: "checkbox", name: "kind", value: kind, checked: on }), " ", KIND_NAMES[kind] || kind)));
  }).catch((err) => kinds.replaceChildren(el("p", { class: "error", text: message(err) })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hide(kindsError); saved.hidden = true;
    const muted = [...form.querySelectorAll("[name=kind]")].filter((box) => !box.checked).map((box) => box.value);
    try {
      await api("PUT", "/notifications/settings", { muted });
      saved.hidden = false;
      await load(false);
    } catch (err) { showError(kindsError, err); }
  });
})();
