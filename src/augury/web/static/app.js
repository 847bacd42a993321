// Augury web UI: shared helpers (JSON API with the session cookie + CSRF header, the
// WebSocket with resubscription, formatting) and the small pages (log in, sign up).
"use strict";

const Augury = (() => {
  const API = "/api/v1";

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super(problem.detail || problem.title || "request failed (" + status + ")");
      this.status = status;
      this.code = problem.code || "error";
      this.errors = problem.errors || [];
    }
  }

  // fetch a JSON API path; a problem+json answer throws ApiError
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = cookie("augury_csrf");
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, { detail: "the server cannot be reached", code: "network" });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (err) { data = { detail: text }; }
    if (!response.ok) throw new ApiError(response.status, data || {});
    return data;
  }

  // a readable message from an ApiError (validation errors list their fields)
  function message(err) {
    if (err && err.errors && err.errors.length) {
      return err.errors.map((e) => {
        const where = (e.loc || []).filter((p) => p !== "body").join(".");
        return (where ? where + ": " : "") + e.msg;
      }).join("; ");
    }
    return (err && err.message) || String(err);
  }

  // the message and, for a refusal, its stable code: "... (conflict_of_interest)"
  function problem(err) {
    const text = message(err);
    const code = err && err.code;
    return code && !["error", "network", "validation_error"].includes(code) && !text.includes(code) ? `${text} (${code})` : text;
  }

  function showError(el, err) {
    if (!el) return;
    el.textContent = typeof err === "string" ? err : message(err);
    el.hidden = false;
  }

  function hide(el) { if (el) { el.hidden = true; el.textContent = ""; } }

  // -- formatting ---------------------------------------------------------------------
  function pct(price) {
    if (price === null || price === undefined || price === "") return "–";
    const p = Number(price) * 100;
    return (p < 1 && p > 0 ? p.toFixed(1) : p.toFixed(p >= 99 && p < 100 ? 1 : 0)) + "%";
  }
  function num(value, digits) {
    if (value === null || value === undefined || value === "") return "–";
    const d = digits === undefined ? 2 : digits;
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: d });
  }
  function time(instant) {
    const d = new Date(instant);
    return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  function shortTime(instant) {
    const d = new Date(instant);
    return d.toISOString().slice(5, 16).replace("T", " ");
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function table(headers, rows, label) {
    const head = el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })));
    const body = el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, c)))));
    return el("table", { "aria-label": label }, el("thead", {}, head), body);
  }

  // -- the WebSocket: one connection, channels resubscribed after a reconnect or a gap --
  function live() {
    const handlers = new Map(); // channel -> handler(message)
    const seqs = new Map();
    // the private channel "orders" answers as "orders:<account>"
    const aliases = new Map();
    const user = document.body.dataset.user;
    if (user) aliases.set("orders:" + user, "orders");
    if (user) aliases.set("notifications:" + user, "notifications");
    let socket = null;
    let backoff = 500;
    function send(obj) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
    }
    function connect() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(scheme + "//" + location.host + API + "/ws");
      socket.onopen = () => {
        backoff = 500;
        for (const channel of handlers.keys()) send({ op: "subscribe", channel });
      };
      socket.onmessage = (event) => {
        const msg = JSON.parse(event.data);
        if (msg.type === "error") { console.warn("augury ws", msg); return; }
        const channel = msg.channel;
        const name = aliases.get(channel) || channel;
        const handler = handlers.get(name);
        if (!handler) return;
        if (msg.type === "subscribed") {
          seqs.set(channel, msg.seq);
        } else {
          const last = seqs.get(channel);
          if (last !== undefined && msg.seq !== last + 1) { // a gap: start again
            send({ op: "unsubscribe", channel: name });
            send({ op: "subscribe", channel: name });
            return;
          }
          seqs.set(channel, msg.seq);
        }
        handler(msg);
      };
      socket.onclose = () => {
        seqs.clear();
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 10000);
      };
    }
    return {
      subscribe(channel, handler) {
        handlers.set(channel, handler);
        if (!socket) connect(); else send({ op: "subscribe", channel });
      },
      unsubscribe(channel) {
        handlers.delete(channel);
        send({ op: "unsubscribe", channel });
      },
    };
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // An open order's Amend form in place of the button's cell: a new limit (in the order's
  // own token) and unfilled size. The same price and fewer shares keep the order's place
  // in the queue; anything else replaces it (POST /orders/{id}/amend). What happened (or
  // the API's error) is said in ``status``; ``reload()`` puts the table back either way.
  function amendForm(button, order, status, reload) {
    const done = (text) => {
      if (status) { status.textContent = text; status.hidden = false; }
      reload();
    };
    const cell = button.closest("td");
    const price = el("input", { type: "text", inputmode: "decimal", value: order.price, size: 6, "aria-label": `New price of order ${order.id}` });
    const qty = el("input", { type: "text", inputmode: "decimal", value: order.remaining, size: 6, "aria-label": `New unfilled shares of order ${order.id}` });
    const form = el("form", { class: "inline-amend" }, price, qty,
      el("button", { type: "submit", class: "small", text: "Save" }),
      el("button", { type: "button", class: "small secondary", text: "Keep", onclick: () => { form.remove(); reload(); } }));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { price: price.value.trim(), qty: qty.value.trim() };
      form.remove(); // the table may refresh again (amending() is false from here)
      try {
        const result = await api("POST", `/orders/${order.id}/amend`, body);
        done(result.replaced
          ? `Order ${order.id} replaced by order ${result.placement.id} (${result.placement.status}).`
          : `Order ${order.id} reduced to ${num(result.order.remaining, 2)} shares; it keeps its place in the queue.`);
      } catch (err) {
        done(message(err));
      }
    });
    cell.replaceChildren(form);
    price.focus();
  }

  // Whether an amend form is open in ``box`` (its live refreshes wait until it closes).
  function amending(box) {
    return box.querySelector("form.inline-amend") !== null;
  }

  return { api, ApiError, cookie, message, problem, showError, hide, pct, num, time, shortTime, el, table, live, debounce, amendForm, amending };
})();

// -- every page: log out; the market list's filters apply as they change --------------
document.addEventListener("DOMContentLoaded", () => {
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try { await Augury.api("POST", "/auth/logout"); } catch (err) { /* gone already */ }
      location.href = "/";
    });
  }
  const filters = document.querySelector("form.filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select")) {
      select.addEventListener("change", () => filters.requestSubmit());
    }
  }
  const auth = document.getElementById("auth-form");
  if (auth) initAuth(auth);
  if (document.body.dataset.page === "markets") liveRows();
});

// the market list: each row's probability follows the maker's prices (20 channels at most)
function liveRows() {
  const rows = [...document.querySelectorAll(".market-row[data-market]")].slice(0, 20);
  if (!rows.length) return;
  const live = Augury.live();
  for (const row of rows) {
    const lead = Number(row.dataset.lead);
    const shown = row.querySelector("[data-prob]");
    live.subscribe(`prices:${row.dataset.market}`, (msg) => {
      const prices = msg.type === "subscribed" ? msg.snapshot.prices : msg.prices;
      if (prices && prices[lead] !== undefined) shown.textContent = Augury.pct(prices[lead]);
    });
  }
}

function initAuth(form) {
  const error = document.getElementById("auth-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    Augury.hide(error);
    const username = form.username.value.trim();
    const password = form.password.value;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (form.dataset.action === "signup") {
        await Augury.api("POST", "/auth/register", { username, password });
      }
      await Augury.api("POST", "/auth/login", { username, password });
      // the server checks where "next" leads (augury.web.redirects) and sends us on
      location.href = `/login?next=${encodeURIComponent(form.dataset.next || "/")}`;
    } catch (err) {
      Augury.showError(error, err);
      button.disabled = false;
    }
  });
}
