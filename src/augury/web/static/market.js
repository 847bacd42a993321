// The market page: price chart (lightweight-charts, from npm), book, trades, the trade
// ticket with its preview, the viewer's position and open orders; kept live over the
// WebSocket. The resolution and its evidence trail are in market_trail.js.
"use strict";

(() => {
  const { api, el, pct, num, shortTime, time, table, showError, hide, debounce } = Augury;
  const M = JSON.parse(document.getElementById("market-data").textContent);
  const S = M.scalar; // a scalar market's range (strings in its units), or null
  const inUnits = (v) => `${num(v)} ${S.units}`;
  const user = document.body.dataset.user;
  const INTERVAL_S = { "1m": 60, "1h": 3600, "1d": 86400 };
  const state = {
    outcome: 0, // the outcome whose chart and book are shown
    interval: "1h",
    prices: null, // the maker's YES prices per outcome, or null
    lastTrade: {}, // outcome -> last YES price
    bars: new Map(), // bucket (s) -> {value, volume}
    book: { bids: new Map(), asks: new Map() },
    bookChannel: null,
    preview: null,
    implied: null, // a scalar market: the expected value the maker's LONG price implies
  };
  const live = Augury.live();

  // -- prices --------------------------------------------------------------------------
  function priceOf(outcome) {
    if (state.prices) return Number(state.prices[outcome]);
    if (!M.categorical) {
      const p = state.lastTrade[0];
      if (p === undefined) return null;
      return outcome === 0 ? p : 1 - p;
    }
    return state.lastTrade[outcome] === undefined ? null : state.lastTrade[outcome];
  }
  function renderPrices() {
    for (const node of document.querySelectorAll("#prices [data-outcome]")) {
      const p = priceOf(Number(node.dataset.outcome));
      node.textContent = p === null ? "–" : pct(p);
    }
    const implied = document.getElementById("implied-value");
    if (implied) implied.textContent = state.implied === null ? "–" : inUnits(state.implied);
  }
  async function loadQuote() {
    try {
      const quote = await api("GET", `/markets/${M.id}/quote`);
      state.prices = quote.prices;
      state.implied = quote.implied_value; // the server's: low + price x (high - low)
    } catch (err) { state.prices = null; state.implied = null; }
    renderPrices();
  }

  // -- chart ---------------------------------------------------------------------------
  const chartBox = document.getElementById("chart");
  const legend = document.getElementById("chart-legend");
  const note = document.getElementById("chart-note");
  let chart = null, line = null, volume = null;
  function initChart() {
    const LC = window.LightweightCharts;
    if (!LC) {
      note.textContent = "The chart library is not installed on this server (run `npm ci`).";
      chartBox.dataset.ready = "missing";
      return;
    }
    chart = LC.createChart(chartBox, {
      autoSize: true,
      layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#1f2937", attributionLogo: true },
      grid: { vertLines: { color: "#eef0f3" }, horzLines: { color: "#eef0f3" } },
      rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.28 } },
      timeScale: { timeVisible: true, secondsVisible: false },
      crosshair: { mode: 0 },
    });
    line = chart.addSeries(LC.LineSeries, {
      color: "#1d4ed8",
      lineWidth: 2,
      priceFormat: S
        ? { type: "custom", minMove: 0.000001, formatter: (v) => inUnits(v) }
        : { type: "custom", minMove: 0.001, formatter: (p) => (p * 100).toFixed(1) + "%" },
    });
    volume = chart.addSeries(LC.HistogramSeries, {
      color: "#94a3b8",
      priceFormat: { type: "volume" },
      priceScaleId: "",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    chart.subscribeCrosshairMove((param) => {
      if (!param || param.time === undefined) { showLatest(); return; }
      const bar = state.bars.get(param.time);
      if (bar) showBar(param.time, bar);
    });
  }
  function showBar(t, bar) {
    const shown = S ? inUnits(bar.value) : pct(bar.value);
    legend.textContent = `${shortTime(t * 1000)} · ${shown} · volume ${num(bar.volume, 0)}`;
  }
  function showLatest() {
    const times = [...state.bars.keys()];
    if (!times.length) { legend.textContent = "No trades yet"; return; }
    const t = Math.max(...times);
    showBar(t, state.bars.get(t));
  }
  function drawChart() {
    const times = [...state.bars.keys()].sort((a, b) => a - b);
    chartBox.dataset.bars = String(times.length);
    chartBox.dataset.last = times.length ? String(state.bars.get(times[times.length - 1]).value) : "";
    if (!chart) return;
    let prev = null;
    line.setData(times.map((t) => ({ time: t, value: state.bars.get(t).value })));
    volume.setData(times.map((t) => {
      const bar = state.bars.get(t);
      const up = prev === null || bar.value >= prev;
      prev = bar.value;
      return { time: t, value: bar.volume, color: up ? "rgba(4,120,87,0.45)" : "rgba(185,28,28,0.45)" };
    }));
    chart.timeScale().fitContent();
    chartBox.dataset.ready = "yes";
    showLatest();
  }
  async function loadCandles() {
    const params = new URLSearchParams({ outcome: state.outcome, interval: state.interval, limit: 1000 });
    if (state.interval !== "1d") {
      const health = await api("GET", "/health");
      const span = INTERVAL_S[state.interval] * 1000 * 1000;
      params.set("from", new Date(Date.parse(health.time) - span + 1000).toISOString().replace(/\.\d+Z$/, "Z"));
    }
    state.bars = new Map();
    try {
      const data = await api("GET", `/markets/${M.id}/candles?${params}`);
      for (const c of data.items) {
        const close = S ? c.implied.close : c.close; // a scalar market: in its units
        state.bars.set(Date.parse(c.start) / 1000, { value: Number(close), volume: Number(c.volume) });
      }
      const what = S ? `Expected value in ${S.units}, implied by the LONG price` : "YES price of " + M.outcomes[state.outcome];
      note.textContent = data.items.length ? what + "; bars show traded shares." : "No trades in this range yet.";
    } catch (err) { note.textContent = Augury.message(err); }
    drawChart();
  }
  const reloadCandles = debounce(() => loadCandles(), 500);
  function chartTrade(trade) {
    const outcome = M.categorical ? trade.outcome : 0;
    if (outcome !== state.outcome) return;
    if (S) { // the server converts prices to units (one home): ask it again
      chartBox.dataset.live = String(Number(chartBox.dataset.live || 0) + 1);
      reloadCandles();
      return;
    }
    const step = INTERVAL_S[state.interval];
    const t = Math.floor(Date.parse(trade.time) / 1000 / step) * step;
    chartBox.dataset.live = String(Number(chartBox.dataset.live || 0) + 1);
    const bar = state.bars.get(t) || { value: 0, volume: 0 };
    bar.value = Number(trade.price);
    bar.volume += Number(trade.qty);
    state.bars.set(t, bar);
    const times = [...state.bars.keys()];
    chartBox.dataset.bars = String(times.length);
    chartBox.dataset.last = String(bar.value);
    if (chart && t >= Math.max(...times)) {
      line.update({ time: t, value: bar.value });
      volume.update({ time: t, value: bar.volume, color: "rgba(29,78,216,0.45)" });
      showBar(t, bar);
    } else if (chart) { drawChart(); }
  }

  // -- book ----------------------------------------------------------------------------
  const DEPTH_SHOWN = 8;
  function renderBook() {
    const asks = [...state.book.asks.entries()].sort((a, b) => a[0] - b[0]).slice(0, DEPTH_SHOWN).reverse();
    const bids = [...state.book.bids.entries()].sort((a, b) => b[0] - a[0]).slice(0, DEPTH_SHOWN);
    const most = Math.max(1, ...asks.map((l) => l[1]), ...bids.map((l) => l[1]));
    const rows = (levels, cls) => levels.map(([price, qty]) => {
      const row = el("tr", { class: cls }, el("td", { text: (price * 100).toFixed(1) + "%" }), el("td", { text: num(qty, 1) }));
      row.style.setProperty("--depth", `${(qty / most) * 100}%`); // CSSOM: allowed by the CSP
      return row;
    });
    const put = (id, levels, cls) => {
      const body = document.getElementById(id);
      body.replaceChildren(...(levels.length ? rows(levels, cls) : [el("tr", {}, el("td", { colspan: 2, class: "muted", text: "none" }))]));
    };
    put("asks", asks, "ask");
    put("bids", bids, "bid");
    const box = document.getElementById("book"); // every level known, for tests and tools
    box.dataset.bids = [...state.book.bids.keys()].sort((a, b) => b - a).join(" ");
    box.dataset.asks = [...state.book.asks.keys()].sort((a, b) => a - b).join(" ");
  }
  function setLevels(map, levels) {
    for (const l of levels) {
      const qty = Number(l.qty);
      if (qty === 0) map.delete(Number(l.price)); else map.set(Number(l.price), qty);
    }
  }
  function subscribeBook() {
    if (state.bookChannel) live.unsubscribe(state.bookChannel);
    const outcome = M.categorical ? state.outcome : 0;
    state.bookChannel = `book:${M.id}:${outcome}`;
    document.getElementById("book-outcome").textContent = M.categorical ? "(" + M.outcomes[outcome] + ", YES prices)" : "(YES prices)";
    live.subscribe(state.bookChannel, (msg) => {
      if (msg.type === "subscribed") {
        state.book = { bids: new Map(), asks: new Map() };
        setLevels(state.book.bids, msg.snapshot.bids);
        setLevels(state.book.asks, msg.snapshot.asks);
      } else if (msg.type === "book_delta") {
        setLevels(state.book.bids, msg.bids);
        setLevels(state.book.asks, msg.asks);
      }
      renderBook();
    });
  }
  async function loadBook() {
    try {
      const book = await api("GET", `/markets/${M.id}/book?outcome=${M.categorical ? state.outcome : 0}&depth=20`);
      state.book = { bids: new Map(), asks: new Map() };
      setLevels(state.book.bids, book.bids);
      setLevels(state.book.asks, book.asks);
      renderBook();
    } catch (err) { /* the WebSocket snapshot fills it */ }
  }

  // -- trades --------------------------------------------------------------------------
  const tradesBody = document.getElementById("trades");
  function tradeRow(t) {
    const cells = [el("td", { class: "nowrap", text: shortTime(t.time) })];
    if (M.categorical) cells.push(el("td", { text: M.outcomes[t.outcome] }));
    cells.push(el("td", { text: pct(t.price) }), el("td", { text: num(t.qty, 2) }));
    return el("tr", {}, ...cells);
  }
  async function loadTrades() {
    try {
      const page = await api("GET", `/markets/${M.id}/trades?limit=20`);
      tradesBody.replaceChildren(...page.items.map(tradeRow));
      for (const t of [...page.items].reverse()) state.lastTrade[M.categorical ? t.outcome : 0] = Number(t.price);
      if (!page.items.length) tradesBody.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "No trades yet" })));
      renderPrices();
    } catch (err) { /* shown empty */ }
  }
  function onTrade(msg) {
    if (msg.type !== "trade") return;
    const empty = tradesBody.querySelector("td.muted");
    if (empty) empty.parentElement.remove();
    tradesBody.prepend(tradeRow(msg));
    while (tradesBody.children.length > 20) tradesBody.lastChild.remove();
    state.lastTrade[M.categorical ? msg.outcome : 0] = Number(msg.price);
    chartTrade(msg);
    renderPrices();
  }

  // -- the viewer: balance, position, open orders ----------------------------------------
  async function loadMine() {
    if (!user) return;
    const [balances, positions, orders] = await Promise.all([
      api("GET", "/portfolio/balances").catch(() => null),
      api("GET", "/portfolio/positions").catch(() => ({ items: [] })),
      api("GET", `/orders?market=${encodeURIComponent(M.id)}&status=open&limit=100`).catch(() => ({ items: [] })),
    ]);
    const available = document.getElementById("available");
    if (available && balances) available.textContent = num(balances.available, 2);
    const mine = positions.items.filter((p) => p.market === M.id);
    const pos = document.getElementById("position");
    pos.replaceChildren(mine.length
      ? table(["Holding", "Shares", "Avg cost", "Mark", "Value", "P/L"], mine.map((p) => [
        holding(p),
        num(Number(p.qty) + Number(p.escrowed), 2),
        p.average_cost === null ? "–" : num(p.average_cost, 3),
        p.mark_price === null ? "–" : pct(p.mark_price),
        num(p.market_value, 2),
        profit(p.unrealized_pnl),
      ]), "Your position in this market")
      : el("p", { class: "muted", text: "You hold nothing here." }));
    const open = document.getElementById("open-orders");
    // an amendment being typed is not swept away by a live refresh (amendForm's close)
    if (!Augury.amending(open)) open.replaceChildren(orders.items.length
      ? table(["Order", "Price", "Shares", "Filled", ""], orders.items.map((o) => [
        `${o.side} ${M.categorical || o.token === "no" ? M.outcomes[o.outcome] + " " + o.token.toUpperCase() : M.outcomes[o.outcome]}`,
        num(o.price, 3), num(o.qty, 2), num(o.filled, 2),
        el("span", { class: "row-actions" },
          el("button", { type: "button", class: "small secondary", "aria-label": `Amend order ${o.id}`, text: "Amend", onclick: (ev) => Augury.amendForm(ev.target, o, document.getElementById("ticket-result"), loadMine) }),
          el("button", { type: "button", class: "small secondary", "data-cancel": o.id, "aria-label": `Cancel order ${o.id}`, text: "Cancel", onclick: () => cancel(o.id) })),
      ]), "Your open orders in this market")
      : el("p", { class: "muted", text: "No open orders." }));
  }
  function holding(p) { return p.outcome_name + (p.token === "no" ? " NO" : ""); }
  function profit(value) {
    if (value === null || value === undefined) return "–";
    const n = Number(value);
    return el("span", { class: n > 0 ? "up" : n < 0 ? "down" : "", text: (n > 0 ? "+" : "") + num(n, 2) });
  }
  async function cancel(id) {
    const result = document.getElementById("ticket-result");
    try {
      const done = await api("DELETE", `/orders/${id}`);
      if (result) { result.textContent = `Order ${id} cancelled; ${num(done.released, 2)} released.`; result.hidden = false; }
    } catch (err) {
      if (result) { result.textContent = Augury.message(err); result.hidden = false; }
    }
    loadMine();
  }
  const refreshMine = debounce(loadMine, 150);

  // -- the trade ticket ----------------------------------------------------------------
  function initTicket() {
    const form = document.getElementById("ticket");
    if (!form) return;
    const error = document.getElementById("ticket-error");
    const preview = document.getElementById("preview");
    const placeBtn = document.getElementById("place-btn");
    const result = document.getElementById("ticket-result");
    const value = (name) => { const f = form.querySelector(`[name=${name}]:checked`); return f ? f.value : null; };
    function sync() {
      const limit = value("type") === "limit";
      const sell = value("side") === "sell";
      document.getElementById("f-price").hidden = !limit;
      const budgetOk = !limit && !sell;
      const budgetRadio = form.querySelector("[name=sizing][value=budget]");
      budgetRadio.disabled = !budgetOk;
      if (!budgetOk && budgetRadio.checked) form.querySelector("[name=sizing][value=qty]").checked = true;
      document.getElementById("t-amount-label").textContent = value("sizing") === "budget" ? "Budget (credits)" : "Shares";
      invalidate();
    }
    function invalidate() {
      state.preview = null;
      placeBtn.disabled = true;
      preview.replaceChildren();
    }
    function body() {
      const order = {
        market: M.id,
        outcome: Number(form.outcome.value),
        side: value("side"),
        token: M.categorical ? value("token") : "yes",
        type: value("type"),
      };
      if (order.type === "limit") order.price = form.price.value.trim();
      const amount = form.amount.value.trim();
      if (value("sizing") === "budget") order.budget = amount; else order.qty = amount;
      return order;
    }
    function check(order) {
      const amount = order.budget !== undefined ? order.budget : order.qty;
      if (!amount) return order.budget !== undefined ? "Enter a budget." : "Enter a number of shares.";
      if (order.type === "limit" && !order.price) return "Enter a limit price.";
      return null;
    }
    function current(order) {
      const p = priceOf(order.outcome);
      if (p === null || Number.isNaN(p)) return null;
      return order.token === "no" ? 1 - p : p;
    }
    form.addEventListener("change", sync);
    form.addEventListener("input", invalidate);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hide(error); result.hidden = true;
      const order = body();
      const problem = check(order);
      if (problem) { showError(error, problem); return; }
      try {
        const p = await api("POST", "/orders/preview", order);
        state.preview = { order, key: "web-" + randomKey() };
        const before = current(order);
        const avg = p.average_price === null ? null : Number(p.average_price);
        const impact = before !== null && avg !== null ? (avg - before) * 100 : null;
        const rows = [
          ["Would fill", num(p.filled_qty, 2) + " shares"],
          ["Average price", avg === null ? "–" : num(avg, 4) + " (" + pct(avg) + ")"],
          [order.side === "buy" ? "Cost" : "Proceeds", num(p.total, 2) + " credits" + (Number(p.fee) ? " (fee " + num(p.fee, 2) + ")" : "")],
          ["Price impact", impact === null ? "–" : (impact >= 0 ? "+" : "") + impact.toFixed(2) + " points vs " + pct(before)],
        ];
        if (p.would_rest) rows.push(["Rests on the book", num(p.unfilled_qty, 2) + " shares at " + order.price]);
        else if (p.unfilled_qty && Number(p.unfilled_qty) > 0) rows.push(["Not filled", num(p.unfilled_qty, 2) + " shares"]);
        if (p.fok_refused) rows.push(["Fill-or-kill", "would be refused"]);
        preview.replaceChildren(el("dl", { class: "stats compact", id: "preview-figures" },
          ...rows.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v })))));
        placeBtn.disabled = false;
        placeBtn.focus();
      } catch (err) {
        showError(error, err);
      }
    });
    placeBtn.addEventListener("click", async () => {
      if (!state.preview) return;
      hide(error);
      placeBtn.disabled = true;
      const { order } = state.preview;
      try {
        const placed = await fetchPlace(order, state.preview.key);
        const what = placed.status === "resting" ? "is on the book" : placed.status;
        result.textContent = `Order ${placed.id} ${what}: ${num(placed.filled, 2)} of ${num(Number(placed.filled) + Number(placed.remaining), 2)} shares filled.`;
        result.hidden = false;
        result.dataset.status = placed.status;
        form.amount.value = "";
        invalidate();
        loadMine();
        loadQuote();
      } catch (err) {
        showError(error, err);
        placeBtn.disabled = false;
      }
    });
    sync();
  }
  function randomKey() { // crypto.randomUUID needs a secure context; this does not
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  async function fetchPlace(order, key) {
    const response = await fetch("/api/v1/orders", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": Augury.cookie("augury_csrf"), "Idempotency-Key": key },
      body: JSON.stringify(order),
    });
    const data = await response.json();
    if (!response.ok) throw new Augury.ApiError(response.status, data);
    return data;
  }

  // -- wiring --------------------------------------------------------------------------
  for (const button of document.querySelectorAll("[data-interval]")) {
    button.addEventListener("click", () => {
      state.interval = button.dataset.interval;
      for (const b of document.querySelectorAll("[data-interval]")) b.setAttribute("aria-pressed", String(b === button));
      loadCandles();
    });
  }
  const outcomeSelect = document.getElementById("chart-outcome");
  if (outcomeSelect) {
    outcomeSelect.addEventListener("change", () => {
      state.outcome = Number(outcomeSelect.value);
      loadCandles();
      loadBook();
      subscribeBook();
    });
  }
  initChart();
  if (M.categorical && outcomeSelect) {
    loadQuote().then(() => {
      if (state.prices) {
        const lead = state.prices.map(Number).reduce((best, p, i, all) => (p > all[best] ? i : best), 0);
        state.outcome = lead;
        outcomeSelect.value = String(lead);
      }
      loadCandles(); loadBook(); subscribeBook();
    });
  } else {
    loadQuote(); loadCandles(); loadBook(); subscribeBook();
  }
  loadTrades();
  loadMine();
  initTicket();
  live.subscribe(`trades:${M.id}`, onTrade);
  live.subscribe(`prices:${M.id}`, (msg) => {
    if (msg.type === "subscribed") state.prices = msg.snapshot.prices;
    else if (msg.type === "prices") state.prices = msg.prices;
    renderPrices();
  });
  if (user) live.subscribe("orders", (msg) => { if (msg.type !== "subscribed") refreshMine(); });
})();
