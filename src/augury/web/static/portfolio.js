// The portfolio page: balances, positions with profit, open orders (cancel), history.
"use strict";

(() => {
  const { api, el, pct, num, shortTime, table, debounce } = Augury;
  const names = new Map(); // market id -> question

  async function question(id) {
    if (!names.has(id)) {
      names.set(id, api("GET", `/markets/${encodeURIComponent(id)}`).then((m) => m.question).catch(() => id));
    }
    return names.get(id);
  }
  async function marketLink(id) {
    return el("a", { href: `/markets/${encodeURIComponent(id)}`, text: await question(id) });
  }
  function profit(value) {
    if (value === null || value === undefined) return "–";
    const n = Number(value);
    return el("span", { class: n > 0 ? "up" : n < 0 ? "down" : "", text: (n > 0 ? "+" : "") + num(n, 2) });
  }

  async function load() {
    const [balances, positions, orders, fills] = await Promise.all([
      api("GET", "/portfolio/balances"),
      api("GET", "/portfolio/positions"),
      api("GET", "/orders?status=open&limit=200"),
      api("GET", "/portfolio/fills?limit=50"),
    ]);
    let value = 0, pnl = 0;
    for (const p of positions.items) {
      value += Number(p.market_value || 0);
      pnl += Number(p.unrealized_pnl || 0);
    }
    document.getElementById("balances").replaceChildren(
      ...[["Available", num(balances.available, 2)], ["In open orders", num(balances.escrow, 2)],
        ["Positions (marked)", num(value, 2)], ["Unrealized P/L", profit(pnl)],
        ["Total", num(Number(balances.total) + value, 2)]]
        .map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", {}, v))));

    const posBox = document.getElementById("positions");
    posBox.replaceChildren(positions.items.length
      ? table(["Market", "Holding", "Shares", "Avg cost", "Mark", "Value", "P/L"], await Promise.all(positions.items.map(async (p) => [
        await marketLink(p.market), p.outcome_name + (p.token === "no" ? " NO" : ""),
        num(Number(p.qty) + Number(p.escrowed), 2),
        p.average_cost === null ? "–" : num(p.average_cost, 3),
        p.mark_price === null ? "–" : pct(p.mark_price), num(p.market_value, 2), profit(p.unrealized_pnl),
      ])), "Positions")
      : el("p", { class: "muted", text: "No positions yet. Find a market and trade." }));

    const ooBox = document.getElementById("open-orders");
    ooBox.replaceChildren(orders.items.length
      ? table(["Market", "Order", "Price", "Shares", "Filled", ""], await Promise.all(orders.items.map(async (o) => [
        await marketLink(o.market), `${o.side} ${o.token.toUpperCase()} #${o.outcome}`, num(o.price, 3), num(o.qty, 2), num(o.filled, 2),
        el("button", { type: "button", class: "small secondary", "aria-label": `Cancel order ${o.id}`, text: "Cancel", onclick: () => cancel(o.id) }),
      ])), "Open orders")
      : el("p", { class: "muted", text: "No open orders." }));

    const histBox = document.getElementById("history");
    histBox.replaceChildren(fills.items.length
      ? table(["Time", "Market", "Role", "YES price", "Shares", "Fee"], await Promise.all(fills.items.map(async (f) => [
        shortTime(f.time), await marketLink(f.market), f.role, pct(f.price), num(f.qty, 2), num(f.fee, 2),
      ])), "Your fills, newest first")
      : el("p", { class: "muted", text: "No fills yet." }));
  }
  async function cancel(id) {
    try { await api("DELETE", `/orders/${id}`); } catch (err) { alert(Augury.message(err)); }
    load();
  }
  load().catch((err) => {
    document.getElementById("positions").replaceChildren(el("p", { class: "error", text: Augury.message(err) }));
  });
  const live = Augury.live();
  const refresh = debounce(load, 200);
  live.subscribe("orders", (msg) => { if (msg.type !== "subscribed") refresh(); });
})();
