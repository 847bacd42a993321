// The portfolio page: balances, positions with unrealized and realized profit, open orders
// (amend, cancel), history, profit per market, settlements (your scores: scores.js).
"use strict";

(() => {
  const { api, el, pct, num, shortTime, table, debounce } = Augury;
  const names = new Map(); // market id -> question
  const SETTLED = new Set(["resolved", "voided"]);

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
    const [balances, positions, orders, fills, pnl, settlements] = await Promise.all([
      api("GET", "/portfolio/balances"),
      api("GET", "/portfolio/positions"),
      api("GET", "/orders?status=open&limit=200"),
      api("GET", "/portfolio/fills?limit=50"),
      api("GET", "/portfolio/pnl"),
      api("GET", "/portfolio/settlements?limit=50"),
    ]);
    let value = 0, unrealized = 0, realized = 0;
    for (const p of positions.items) {
      value += Number(p.market_value || 0);
      unrealized += Number(p.unrealized_pnl || 0);
    }
    const realizedBy = new Map(); // market -> realized P/L
    for (const m of pnl.items) {
      realized += Number(m.realized_pnl);
      realizedBy.set(m.market, m.realized_pnl);
    }
    document.getElementById("balances").replaceChildren(
      ...[["Available", num(balances.available, 2)], ["In open orders", num(balances.escrow, 2)],
        ["Positions (marked)", num(value, 2)], ["Unrealized P/L", profit(unrealized)],
        ["Realized P/L", el("span", { id: "realized-total" }, profit(realized))],
        ["Total", num(Number(balances.total) + value, 2)]]
        .map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", {}, v))));

    const posBox = document.getElementById("positions");
    posBox.replaceChildren(positions.items.length
      ? table(["Market", "Holding", "Shares", "Avg cost", "Mark", "Value", "Unrealized P/L", "Realized (market)"], await Promise.all(positions.items.map(async (p) => [
        await marketLink(p.market), p.outcome_name + (p.token === "no" ? " NO" : ""),
        num(Number(p.qty) + Number(p.escrowed), 2),
        p.average_cost === null ? "–" : num(p.average_cost, 3),
        p.mark_price === null ? "–" : pct(p.mark_price), num(p.market_value, 2), profit(p.unrealized_pnl),
        profit(realizedBy.get(p.market)),
      ])), "Positions")
      : el("p", { class: "muted", text: "No positions yet. Find a market and trade." }));

    const pnlBox = document.getElementById("pnl");
    const settledFirst = [...pnl.items].sort((a, b) => Number(!SETTLED.has(a.status)) - Number(!SETTLED.has(b.status)));
    pnlBox.replaceChildren(pnl.items.length
      ? table(["Market", "Status", "Paid", "Received", "Fees", "Settlement", "Held at cost", "Realized P/L"], await Promise.all(settledFirst.map(async (m) => [
        await marketLink(m.market), el("span", { class: `status status-${m.status}`, text: m.status || "–" }),
        num(m.paid, 2), num(m.received, 2), num(m.fees, 2), num(m.settlement, 2), num(m.held_at_cost, 2), profit(m.realized_pnl),
      ])), "Profit by market")
      : el("p", { class: "muted", text: "No market traded yet." }));

    const setBox = document.getElementById("settlements");
    setBox.replaceChildren(settlements.items.length
      ? table(["Time", "Market", "Kind", "Amount"], await Promise.all(settlements.items.map(async (s) => [
        el("time", { datetime: s.time, text: shortTime(s.time) }), await marketLink(s.market),
        s.kind === "refund" ? "Void refund" : s.kind === "payout" ? "Payout" : s.kind, profit(s.amount),
      ])), "Your settlements, newest first")
      : el("p", { class: "muted", text: "No settlements yet: a market you hold pays out here when it resolves (or refunds when voided)." }));

    const ooBox = document.getElementById("open-orders");
    if (!Augury.amending(ooBox)) ooBox.replaceChildren(orders.items.length
      ? table(["Market", "Order", "Price", "Shares", "Filled", ""], await Promise.all(orders.items.map(async (o) => [
        await marketLink(o.market), `${o.side} ${o.token.toUpperCase()} #${o.outcome}`, num(o.price, 3), num(o.qty, 2), num(o.filled, 2),
        el("span", { class: "row-actions" },
          el("button", { type: "button", class: "small secondary", "aria-label": `Amend order ${o.id}`, text: "Amend", onclick: (ev) => Augury.amendForm(ev.target, o, document.getElementById("orders-status"), load) }),
          el("button", { type: "button", class: "small secondary", "aria-label": `Cancel order ${o.id}`, text: "Cancel", onclick: () => cancel(o.id) })),
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
