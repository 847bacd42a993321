// The market page: price chart (lightweight-charts, from npm), book, trades, the trade
// ticket with its preview, the viewer's position and open orders, the evidence trail;
// kept live over the WebSocket.
"use strict";

(() => {
  const { api, el, pct, num, shortTime, time, table, showError, hide, debounce } = Augury;
  const M = JSON.parse(document.getElementById("market-data").textContent);
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
  }
  async function loadQuote() {
    try {
      const quote = await api("GET", `/markets/${M.id}/quote`);
      state.prices = quote.prices;
    } catch (err) { state.prices = null; }
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
      priceFormat: { type: "custom", minMove: 0.001, formatter: (p) => (p * 100).toFixed(1) + "%" },
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
    legend.textContent = `${shortTime(t * 1000)} · ${pct(bar.value)} · volume ${num(bar.volume, 0)}`;
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
        state.bars.set(Date.parse(c.start) / 1000, { value: Number(c.close), volume: Number(c.volume) });
      }
      note.textContent = data.items.length ? "YES price of " + M.outcomes[state.outcome] + "; bars show traded shares." : "No trades in this range yet.";
    } catch (err) { note.textContent = Augury.message(err); }
    drawChart();
  }
  function chartTrade(trade) {
    const outcome = M.categorical ? trade.outcome : 0;
    if (outcome !== state.outcome) return;
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

  // -- resolution & evidence: where it stands, the story, the actions -------------------
  const EVIDENCE = "/api/v1/evidence/";
  const KEY_KINDS = new Set(["change", "proposal", "dispute", "hold", "vote", "final", "clarification", "alert", "alert_review", "status", "settlement", "spec"]);
  const res = { data: null, filter: "all" };

  function outcomeName(index) {
    if (index === -1) return "Void";
    if (index === -2) return "fractional weights";
    return M.outcomes[index] !== undefined ? M.outcomes[index] : "outcome " + index;
  }
  function hashLink(sha) {
    if (!sha) return el("span", { class: "muted", text: "no body" });
    return el("a", { href: EVIDENCE + sha, class: "hash", title: "sha256 " + sha, "aria-label": "raw bytes, sha256 " + sha },
      el("code", { text: sha.slice(0, 12) + "…" }));
  }
  function hoursBetween(a, b) {
    const h = (Date.parse(b) - Date.parse(a)) / 3600e3;
    return (Math.round(h * 10) / 10) + " h";
  }
  // value -> outcome name, per source, from the spec's answer tables
  function answerTables(spec) {
    const tables = {};
    for (const source of (spec && spec.sources) || []) {
      tables[source.id] = new Map((source.expect || []).map((row) => [row.value, row.outcome]));
    }
    return tables;
  }

  // mark each observation that moves a source's answer: a flip, or a revert to the
  // answer it had before the previous flip
  function markFlips(entries) {
    const last = {}; // source -> {value, at}
    const before = {}; // source -> {value, at} before its latest flip
    for (const e of entries) {
      const d = e.details || {};
      if ((e.kind !== "observation" && e.kind !== "change") || !d.ok || d.value === null || d.value === undefined) continue;
      const src = d.source_id;
      const prev = last[src];
      if (prev && prev.value !== d.value) {
        const reverted = before[src] && before[src].value === d.value;
        e.flip = { from: prev.value, to: d.value, reverted, since: reverted ? before[src].flippedAt : null };
        before[src] = { value: prev.value, flippedAt: e.at };
      }
      last[src] = { value: d.value, at: e.at };
    }
  }

  function observationNode(e, tables) {
    const d = e.details || {};
    const table = tables[d.source_id];
    const answer = d.ok && table && table.has(d.value) ? outcomeName(table.get(d.value)) : null;
    const parts = [el("strong", { text: d.source_id || "source" }), " "];
    if (d.ok) {
      parts.push("read ", el("q", { class: "value", text: String(d.value) }));
      if (answer) parts.push(" (", answer, ")");
    } else {
      parts.push(el("span", { class: "error-text", text: "failed: " + (d.error || d.error_code || "no answer") }));
    }
    parts.push(" · ", d.http_status ? "HTTP " + d.http_status : "no HTTP answer", " · ", hashLink(d.content_sha256));
    const nodes = [el("p", { class: "obs" }, ...parts)];
    if (e.flip) {
      const text = e.flip.reverted
        ? `Reverted: ${d.source_id} back from “${e.flip.from}” to “${e.flip.to}” after ${hoursBetween(e.flip.since, e.at)}`
        : `Flip: ${d.source_id} changed its answer from “${e.flip.from}” to “${e.flip.to}”`;
      nodes.push(el("p", { class: "flip-note" }, el("strong", { text })));
    }
    if (d.change) nodes.push(el("p", { class: "change-text" }, "Changed: ", el("mark", { text: d.change })));
    if (e.run) nodes.push(...runNodes(e.run));
    return nodes;
  }

  // a run of identical captures: one row, and its captures on demand (paged)
  const CAPTURES_PAGE = 100;
  function sizeText(size) {
    if (size === null || size === undefined) return "size unknown";
    return size < 10000 ? `${size} bytes` : `${num(size / 1000, 1)} kB`;
  }
  function runNodes(run) {
    const nodes = [el("p", { class: "run-text small", "data-count": String(run.count) },
      run.count > 1
        ? `${run.ok ? "Unchanged" : "Failed the same way"}, ${run.count} captures from ${time(run.first_at)} to ${time(run.last_at)}`
        : `1 capture at ${time(run.first_at)}`,
      ` · ${sizeText(run.size)}`)];
    if (run.count < 2) return nodes;
    const list = el("ol", { class: "captures small" });
    const more = el("button", { type: "button", class: "small secondary", text: "More captures", hidden: true });
    let after = run.first_id - 1;
    let loaded = false;
    async function load() {
      more.disabled = true;
      try {
        const params = new URLSearchParams({ source: run.source_id, after, until: run.last_id, limit: CAPTURES_PAGE });
        const page = await api("GET", `/markets/${M.id}/observations?${params}`);
        list.append(...page.items.map((o) => el("li", { "data-id": String(o.id) },
          el("time", { datetime: o.fetched_at, text: time(o.fetched_at) }), " · ", hashLink(o.content_sha256),
          ` · ${sizeText(o.size)} · journal #${o.id}`)));
        after = page.next_after === null ? run.last_id : page.next_after;
        more.hidden = page.next_after === null;
      } catch (err) {
        list.append(el("li", { class: "error-text", text: Augury.message(err) }));
      } finally { more.disabled = false; }
    }
    more.addEventListener("click", load);
    const box = el("details", { class: "run-captures" }, el("summary", { text: `Show the ${run.count} captures` }), list, more);
    box.addEventListener("toggle", () => { if (box.open && !loaded) { loaded = true; load(); } });
    nodes.push(box);
    return nodes;
  }

  function entryNode(e, tables) {
    const d = e.details || {};
    const observed = e.kind === "observation" || e.kind === "change";
    const classes = ["kind-" + e.kind];
    if (e.flip) classes.push(e.flip.reverted ? "tl-revert" : "tl-flip");
    if (observed && d.ok === false) classes.push("tl-failed");
    if (observed && !e.flip && !d.change && d.ok !== false) classes.push("tl-quiet");
    const head = el("p", { class: "tl-head" },
      el("span", { class: "tag", text: e.kind.replace(/_/g, " ") }), " ",
      el("time", { datetime: e.at, text: time(e.at) }),
      el("span", { class: "muted", text: " · journal #" + e.seq + (e.run && e.run.count > 1 ? "–#" + e.run.last_id : "") }),
      e.actor ? el("span", { class: "muted", text: " · " + e.actor }) : null);
    const body = observed && d.source_id !== undefined ? observationNode(e, tables) : [el("p", { text: e.summary })];
    if (e.kind === "clarification" && d.sha256) {
      body.push(el("p", { class: "small" }, `rules v${d.version} · sha256 `, el("code", { title: d.sha256, text: d.sha256.slice(0, 16) + "…" }),
        " · chained to ", el("code", { title: d.prev_sha256 || "", text: (d.prev_sha256 || "").slice(0, 16) + "…" })));
    }
    if (e.kind === "proposal" && d.evidence && d.evidence.length) {
      d.evidence = [...new Set(d.evidence)];
      body.push(el("p", { class: "small" }, "evidence: ", ...d.evidence.flatMap((sha, i) => (i ? [" ", hashLink(sha)] : [hashLink(sha)]))));
    }
    const details = Object.keys(d).length
      ? el("details", {}, el("summary", { text: "Journaled fields" }), el("pre", { class: "code", text: JSON.stringify(d, null, 2) }))
      : null;
    const attrs = { class: classes.join(" "), "data-kind": e.kind, "data-seq": String(e.seq) };
    if (e.run) { attrs["data-run"] = String(e.run.count); attrs["data-last"] = String(e.run.last_id); }
    return el("li", attrs, head, ...body, details);
  }

  function stateNode(data) {
    const rows = [];
    const add = (label, ...value) => rows.push(el("div", {}, el("dt", { text: label }), el("dd", {}, ...value)));
    add("Phase", el("span", { class: "status phase-" + data.status, id: "res-phase", text: data.status }),
      data.market_status ? el("span", { class: "muted", text: " · market " + data.market_status }) : null);
    if (data.spec_version) {
      add("Rules", `spec v${data.spec_version}`, data.rules_version ? `, rules v${data.rules_version}` : "",
        data.spec_sha256 ? el("span", {}, " · ", el("code", { title: data.spec_sha256, text: data.spec_sha256.slice(0, 12) + "…" })) : null);
    }
    const p = data.proposal;
    if (p) {
      const ends = Date.parse(p.challenge_ends_at);
      const left = ends > Date.now() ? " (open)" : " (ended)";
      add("Proposal", el("strong", { text: outcomeName(p.outcome) }), ` by ${p.proposer || "the rules"}`,
        Number(p.bond) ? `, bond ${num(p.bond, 2)}` : "", ` · ${time(p.proposed_at)}`);
      add("Challenge window ends", el("span", { id: "res-window", text: time(p.challenge_ends_at) + left }));
    }
    const dsp = data.dispute;
    if (dsp) add("Dispute", `${dsp.disputer}, bond ${num(dsp.bond, 2)} · ${time(dsp.disputed_at)}`, dsp.reason ? ": " + dsp.reason : "");
    if (data.votes && data.votes.length) add("Votes", data.votes.map((v) => `${v.arbiter}: ${outcomeName(v.outcome)}`).join("; "));
    if (data.held_reason) add("Held", el("span", { class: "error-text", text: data.held_reason }));
    if (data.holding_alerts && data.holding_alerts.length) {
      const alerts = (data.entries || []).filter((e) => e.kind === "alert");
      add("Held by alerts", el("span", { id: "res-holding" }, ...data.holding_alerts.map((id, i) => {
        const found = alerts.find((e) => e.details && e.details.alert_id === id);
        const d = found ? found.details : {};
        const text = `#${id}` + (found ? ` ${d.severity} ${d.detector}: ${(d.accounts || []).join(", ")}` : "");
        return el("span", { class: "alert-chip" }, i ? " " : "", text);
      })));
    }
    if (data.decision) add("The rules say now", data.decision);
    return el("dl", { class: "stats compact res-stats" }, ...rows);
  }

  function clarificationsNode(list) {
    if (!list || !list.length) return null;
    return el("div", {}, el("h3", { text: "Clarifications" }),
      el("ol", { class: "clarifications" }, ...list.map((c) => el("li", {},
        el("p", { class: "tl-head" }, el("span", { class: "tag", text: "rules v" + c.version }), " ", el("time", { datetime: c.at, text: time(c.at) }), ` · ${c.author}`),
        el("p", { text: c.text }),
        el("p", { class: "small muted" }, "sha256 ", el("code", { title: c.sha256, text: c.sha256.slice(0, 16) + "…" }), " · previous ", el("code", { title: c.prev_sha256, text: c.prev_sha256.slice(0, 16) + "…" }))))));
  }

  function drawTimeline() {
    const list = document.getElementById("evidence-list");
    const data = res.data;
    if (!data || !data.entries) { list.replaceChildren(); return; }
    const tables = answerTables(data.spec);
    const shown = data.entries.filter((e) => res.filter === "all" || KEY_KINDS.has(e.kind) || e.flip || (e.details && e.details.ok === false));
    list.replaceChildren(...shown.map((e) => entryNode(e, tables)));
  }

  async function loadRuns() {
    let page = await api("GET", `/markets/${M.id}/observations/runs?limit=1000`);
    let runs = page.items;
    while (page.next_cursor) {
      page = await api("GET", `/markets/${M.id}/observations/runs?limit=1000&cursor=${encodeURIComponent(page.next_cursor)}`);
      runs = runs.concat(page.items);
    }
    return runs;
  }
  function runEntry(run) { // a run shown where its first capture is in the story
    const details = {
      source_id: run.source_id, ok: run.ok, value: run.value, content_sha256: run.content_sha256,
      http_status: run.http_status, error_code: run.error_code, error: run.error, change: run.change,
    };
    return { seq: run.first_id, at: run.first_at, kind: run.change ? "change" : "observation", actor: "", summary: run.summary, details, run };
  }

  async function loadEvidence() {
    const status = document.getElementById("evidence-status");
    let data = null;
    try {
      // the story without its captures, and the captures as runs of identical ones
      data = await api("GET", `/markets/${M.id}/resolution?observations=none`);
      while (data && data.next_cursor) { // a long story comes in pages
        const more = await api("GET", `/markets/${M.id}/resolution?observations=none&cursor=${encodeURIComponent(data.next_cursor)}`);
        data.entries = data.entries.concat(more.entries);
        data.next_cursor = more.next_cursor;
      }
      const runs = await loadRuns();
      data.entries = data.entries.concat(runs.map(runEntry)).sort((a, b) => a.seq - b.seq);
    } catch (err) {
      if (err.status !== 404) { status.textContent = "The evidence trail could not be loaded: " + Augury.message(err); return; }
    }
    res.data = data;
    const stateBox = document.getElementById("res-state");
    const clar = document.getElementById("res-clarifications");
    if (!data) {
      status.textContent = "No resolution activity yet.";
      stateBox.replaceChildren(); clar.replaceChildren(); drawTimeline();
      return;
    }
    const entries = data.entries || [];
    markFlips(entries);
    const flips = entries.filter((e) => e.flip).length;
    const observations = entries.reduce((n, e) => n + (e.run ? e.run.count : 0), 0);
    const rowsShown = entries.filter((e) => e.run).length;
    status.textContent = entries.length
      ? `Status: ${data.status} · ${entries.length} entries (${observations} observation${observations === 1 ? "" : "s"} in ${rowsShown} row${rowsShown === 1 ? "" : "s"} of identical captures, ${flips} answer change${flips === 1 ? "" : "s"}), oldest first.`
      : "No resolution activity yet." + (data.status ? " Status: " + data.status + "." : "");
    stateBox.replaceChildren(stateNode(data));
    const c = clarificationsNode(data.clarifications);
    clar.replaceChildren(...(c ? [c] : []));
    const dispute = document.getElementById("dispute-form");
    if (dispute) {
      const open = data.status === "proposed" && data.proposal && Date.parse(data.proposal.challenge_ends_at) > Date.now();
      dispute.hidden = !open;
    }
    drawTimeline();
  }

  // the action forms: a refusal shows the API's message and its code
  function actionForm(form, send) {
    if (!form) return;
    const error = form.querySelector(".error");
    const ok = form.querySelector(".ok");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      hide(error); hide(ok);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        ok.textContent = await send(form);
        ok.hidden = false;
        await loadEvidence();
        refreshMine();
      } catch (err) {
        showError(error, Augury.problem(err));
      } finally { button.disabled = false; }
    });
  }
  function initResolutionActions() {
    for (const button of document.querySelectorAll("#tl-filter button")) {
      button.addEventListener("click", () => {
        res.filter = button.dataset.filter;
        for (const b of document.querySelectorAll("#tl-filter button")) b.setAttribute("aria-pressed", String(b === button));
        drawTimeline();
      });
    }
    actionForm(document.getElementById("dispute-form"), async (form) => {
      await api("POST", `/markets/${M.id}/disputes`, { bond: form.bond.value.trim(), reason: form.reason.value.trim() });
      return "Disputed: the arbiters will decide.";
    });
    actionForm(document.getElementById("clarify-form"), async (form) => {
      const story = await api("POST", `/markets/${M.id}/clarifications`, { text: form.text.value.trim(), cancel_orders: form.cancel_orders.checked });
      form.text.value = "";
      return `Posted as rules v${story.rules_version}.`;
    });
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
    open.replaceChildren(orders.items.length
      ? table(["Order", "Price", "Shares", "Filled", ""], orders.items.map((o) => [
        `${o.side} ${M.categorical || o.token === "no" ? M.outcomes[o.outcome] + " " + o.token.toUpperCase() : M.outcomes[o.outcome]}`,
        num(o.price, 3), num(o.qty, 2), num(o.filled, 2),
        el("button", { type: "button", class: "small secondary", "data-cancel": o.id, "aria-label": `Cancel order ${o.id}`, text: "Cancel", onclick: () => cancel(o.id) }),
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
  loadEvidence();
  initResolutionActions();
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
