// Scores: the calibration chart (an SVG of our own), the leaderboard with its switches,
// the resolved markets' Brier and log scores, a market's scores (market page) and a
// trader's results (trader page, portfolio). Everything from the public scoring API.
"use strict";

const AuguryScores = (() => {
  const { api, el, num } = Augury;
  const SVG = "http://www.w3.org/2000/svg";
  let uid = 0;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }
  // a probability as a percentage with one decimal ("62.5%")
  function p1(value) {
    return value === null || value === undefined ? "–" : (Number(value) * 100).toFixed(1) + "%";
  }
  function score(value) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(3);
  }
  function signed(value, digits) {
    if (value === null || value === undefined) return "–";
    const n = Number(value);
    return el("span", { class: n > 0 ? "up" : n < 0 ? "down" : "", text: (n > 0 ? "+" : "") + num(n, digits) });
  }
  function signedPct(value) {
    if (value === null || value === undefined) return "–";
    const n = Number(value) * 100;
    return el("span", { class: n > 0 ? "up" : n < 0 ? "down" : "", text: (n > 0 ? "+" : "") + n.toFixed(1) + "%" });
  }
  function duration(seconds) {
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    const h = seconds / 3600;
    return h >= 48 ? (h / 24).toFixed(1) + " days" : h.toFixed(h < 10 ? 1 : 0) + " h";
  }
  function stats(pairs) {
    return pairs.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", {}, v)));
  }

  // -- the calibration chart: predicted (x) vs observed (y), the diagonal, a point per
  // non-empty bucket sized by its count and labelled with it; the numbers in a table ----
  function calibrationChart(buckets, what, open) {
    const W = 400, H = 400, L = 52, R = 22, T = 22, B = 46;
    const w = W - L - R, h = H - T - B;
    const x = (p) => L + p * w;
    const y = (p) => T + (1 - p) * h;
    const filled = buckets.filter((b) => b.count > 0 && b.predicted !== null && b.observed !== null);
    const most = Math.max(1, ...filled.map((b) => b.count));
    const total = filled.reduce((sum, b) => sum + b.count, 0);
    const id = "cal" + ++uid;
    const grid = svg("g", { class: "cal-grid" });
    for (let i = 0; i <= 5; i++) {
      const v = i / 5;
      grid.append(
        svg("line", { x1: x(0), x2: x(1), y1: y(v), y2: y(v) }),
        svg("line", { x1: x(v), x2: x(v), y1: y(0), y2: y(1) }),
        svg("text", { x: x(v), y: y(0) + 18, "text-anchor": "middle", text: i * 20 + "%" }),
        svg("text", { x: x(0) - 8, y: y(v) + 4, "text-anchor": "end", text: i * 20 + "%" }));
    }
    const axes = svg("g", { class: "cal-axes" },
      svg("text", { x: x(0.5), y: H - 6, "text-anchor": "middle", text: "Predicted probability" }),
      svg("text", { x: 14, y: y(0.5), "text-anchor": "middle", transform: `rotate(-90 14 ${y(0.5)})`, text: "Observed frequency" }));
    const diagonal = svg("line", { class: "cal-diag", x1: x(0), y1: y(0), x2: x(1), y2: y(1) });
    const path = filled.length > 1
      ? svg("polyline", { class: "cal-line", points: filled.map((b) => `${x(Number(b.predicted))},${y(Number(b.observed))}`).join(" ") })
      : null;
    const points = svg("g", {});
    let last = null; // the previous label: a close neighbour's label moves out of its way
    for (const b of filled) {
      const px = x(Number(b.predicted)), py = y(Number(b.observed));
      const r = 4 + 10 * Math.sqrt(b.count / most);
      const crowded = last !== null && Math.abs(px - last.x) < 22 && Math.abs(py - last.y) < 30 && last.shift === 0;
      const atTop = py - r - 6 < T;
      let ly = atTop ? py + r + 13 : py - r - 5; // centred above its point (below at the top)
      if (crowded) ly = atTop ? ly + 14 : py > y(0.15) ? ly - 14 : py + r + 13;
      const label = `${p1(b.lower)}–${p1(b.upper)}: predicted ${p1(b.predicted)}, observed ${p1(b.observed)}, ${b.count} prediction${b.count === 1 ? "" : "s"}`;
      points.append(
        svg("circle", { class: "cal-point", cx: px, cy: py, r, "data-count": b.count }, svg("title", { text: label })),
        svg("text", { class: "cal-count", x: px, y: ly, "text-anchor": "middle", text: String(b.count) }));
      last = { x: px, y: py, shift: crowded ? 1 : 0 };
    }
    const summary = filled.length
      ? `${total} prediction${total === 1 ? "" : "s"} ${what} in ${filled.length} bucket${filled.length === 1 ? "" : "s"}: ` +
        filled.map((b) => `predicted ${p1(b.predicted)}, observed ${p1(b.observed)} (${b.count})`).join("; ") + "."
      : `No predictions ${what} yet.`;
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "cal-chart", role: "img", "aria-labelledby": `${id}-t ${id}-d` },
      svg("title", { id: `${id}-t`, text: "Calibration: predicted probability against observed frequency; the diagonal is perfect calibration; point size and label: the number of predictions" }),
      svg("desc", { id: `${id}-d`, text: summary }),
      grid, axes, diagonal, path, points);
    const key = el("ul", { class: "small muted cal-key" },
      el("li", {}, el("span", { class: "cal-key-diag", "aria-hidden": "true" }), " perfect calibration"),
      el("li", {}, el("span", { class: "cal-key-point", "aria-hidden": "true" }), " a bucket: its mean prediction and how often it happened, sized and labelled by its number of predictions"));
    const rows = buckets.map((b) => [
      `${p1(b.lower)}–${p1(b.upper)}`, String(b.count), p1(b.predicted), p1(b.observed),
    ]);
    const numbers = el("details", { class: "cal-numbers", open: Boolean(open) }, el("summary", { text: "The numbers" }),
      el("div", { class: "scroll" }, Augury.table(["Bucket", "Predictions", "Predicted (mean)", "Observed"], rows, "Calibration buckets")));
    return el("figure", { class: "cal-figure", "data-points": filled.length, "data-predictions": total },
      el("div", { class: "cal-plot" }, chart), el("figcaption", {}, key, numbers));
  }

  // -- the scores page -------------------------------------------------------------------
  async function calibrationSection() {
    const status = document.getElementById("calibration-status");
    const box = document.getElementById("calibration");
    try {
      const data = await api("GET", "/scoring/calibration");
      status.textContent = data.markets
        ? `${data.markets} resolved market${data.markets === 1 ? "" : "s"}, ${data.samples_per_market} instants each, ${data.predictions} predictions.`
        : "No resolved market with a price yet: the chart fills in as markets resolve.";
      box.replaceChildren(calibrationChart(data.buckets, "across resolved markets", true));
    } catch (err) {
      status.textContent = "The calibration could not be loaded: " + Augury.message(err);
    }
  }

  const BY = ["profit", "score"], WINDOWS = ["all", "30d", "7d"];
  const WINDOW_TEXT = { all: "all time", "30d": "the last 30 days", "7d": "the last 7 days" };
  function pressed(group, attr, value) {
    for (const b of group.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset[attr] === value));
  }
  function traderLink(account) {
    return el("a", { href: `/scores/traders/${encodeURIComponent(account)}`, text: account });
  }

  function leaderboardSection() {
    const params = new URLSearchParams(location.search);
    const state = {
      by: BY.includes(params.get("by")) ? params.get("by") : "profit",
      window: WINDOWS.includes(params.get("window")) ? params.get("window") : "all",
    };
    const byGroup = document.getElementById("lb-by");
    const windowGroup = document.getElementById("lb-window");
    const status = document.getElementById("leaderboard-status");
    const help = document.getElementById("lb-help");
    const box = document.getElementById("leaderboard");
    let asked = 0;
    async function load(switched) {
      pressed(byGroup, "by", state.by);
      pressed(windowGroup, "window", state.window);
      if (switched) { // the address keeps the switches (a reload or a shared link shows the same)
        const query = new URLSearchParams(location.search);
        query.set("by", state.by);
        query.set("window", state.window);
        history.replaceState(null, "", "?" + query.toString());
      }
      const mine = ++asked;
      status.textContent = "Loading…";
      let data;
      try {
        data = await api("GET", `/leaderboard?by=${state.by}&window=${state.window}&limit=50`);
      } catch (err) {
        if (mine === asked) status.textContent = "The leaderboard could not be loaded: " + Augury.message(err);
        return;
      }
      if (mine !== asked) return; // a later switch won
      help.textContent = data.by === "score"
        ? `Ranked by score, the edge: what a share bought paid minus its price, averaged over shares (0.1 = 10 cents a share, before fees). Traders with at least ${num(data.min_shares, 2)} shares traded in resolved markets.`
        : "Ranked by profit in settled markets (trades, fees, payouts, refunds). Return is profit over the money put in.";
      status.textContent = data.items.length
        ? `${data.items.length} trader${data.items.length === 1 ? "" : "s"}, markets settled in ${WINDOW_TEXT[data.window]}, by ${data.by}.`
        : `No trader has ${data.by === "score" ? "enough shares in resolved markets" : "a settled market"} in ${WINDOW_TEXT[data.window]} yet.`;
      const rows = data.items.map((t) => [
        String(t.rank), traderLink(t.account), signed(t.profit, 2), signedPct(t["return"]),
        t.score === null ? "–" : signed(t.score, 3), String(t.markets), String(t.fills), num(t.shares, 2),
      ]);
      const table = Augury.table(["Rank", "Trader", "Profit", "Return", "Score (edge)", "Markets", "Fills", "Shares"], rows,
        `Leaderboard by ${data.by}, ${WINDOW_TEXT[data.window]}`);
      table.id = "leaderboard-table";
      table.dataset.by = data.by;
      table.dataset.window = data.window;
      box.replaceChildren(table);
    }
    byGroup.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-by]");
      if (button && button.dataset.by !== state.by) { state.by = button.dataset.by; load(true); }
    });
    windowGroup.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-window]");
      if (button && button.dataset.window !== state.window) { state.window = button.dataset.window; load(true); }
    });
    load();
  }

  function outcomeText(data) {
    const won = data.weights.findIndex((w) => Number(w) === 1);
    if (won >= 0) return data.outcomes[won];
    return data.weights.map((w, i) => `${data.outcomes[i]} ${p1(w)}`).filter((_, i) => Number(data.weights[i]) > 0).join(", ");
  }

  async function resolvedMarkets() {
    const rows = [...document.querySelectorAll("#resolved-markets tr[data-market]")];
    let next = 0;
    async function worker() {
      while (next < rows.length) {
        const row = rows[next++];
        const cell = (name) => row.querySelector(`[data-cell="${name}"]`);
        try {
          const data = await api("GET", `/scoring/markets/${encodeURIComponent(row.dataset.market)}`);
          cell("outcome").textContent = outcomeText(data);
          for (const name of ["brier_close", "brier_time_avg", "log_close", "log_time_avg"]) cell(name).textContent = score(data[name]);
          cell("scored").textContent = data.points ? duration(data.scored_seconds) : "never traded";
          row.dataset.scored = "yes";
        } catch (err) {
          cell("outcome").textContent = Augury.message(err);
          row.dataset.scored = "error";
        }
      }
    }
    await Promise.all([worker(), worker(), worker()]); // a few at a time
  }

  // -- a resolved market's scores (market page) ------------------------------------------
  async function marketScores(box) {
    const status = box.querySelector("[data-role=status]");
    try {
      const data = await api("GET", `/scoring/markets/${encodeURIComponent(box.dataset.market)}`);
      const won = data.weights.findIndex((w) => Number(w) === 1);
      const atClose = data.close_probabilities && won >= 0 ? p1(data.close_probabilities[won]) : "–";
      status.textContent = data.points
        ? `Resolved ${outcomeText(data)}; scored over ${duration(data.scored_seconds)} of trading (${data.points} hourly prices). Lower is better; 0 is a perfect forecast.`
        : `Resolved ${outcomeText(data)}; never traded, so nothing to score.`;
      box.querySelector("[data-role=stats]").replaceChildren(...stats([
        [won >= 0 ? `Probability of ${data.outcomes[won]} at close` : "Probabilities at close",
          won >= 0 ? atClose : (data.close_probabilities || []).map(p1).join(" / ") || "–"],
        ["Brier at close", score(data.brier_close)], ["Brier time-averaged", score(data.brier_time_avg)],
        ["Log score at close", score(data.log_close)], ["Log score time-averaged", score(data.log_time_avg)],
      ]));
      box.dataset.loaded = "yes";
    } catch (err) {
      status.textContent = "The scores could not be loaded: " + Augury.message(err);
    }
  }

  // -- a trader's results (trader page, portfolio) ---------------------------------------
  function traderPanel(box) {
    const account = box.dataset.account;
    const group = box.querySelector("[data-role=window]");
    const status = box.querySelector("[data-role=status]");
    const statsBox = box.querySelector("[data-role=stats]");
    const chartBox = box.querySelector("[data-role=calibration]");
    let windowName = "all", asked = 0;
    async function load() {
      pressed(group, "window", windowName);
      const mine = ++asked;
      let data;
      try {
        data = await api("GET", `/scoring/traders/${encodeURIComponent(account)}?window=${windowName}`);
      } catch (err) {
        if (mine !== asked) return;
        status.textContent = err.code === "unknown_account" ? `There is no trader “${account}”.` : "The results could not be loaded: " + Augury.message(err);
        statsBox.replaceChildren();
        chartBox.replaceChildren();
        return;
      }
      if (mine !== asked) return;
      status.textContent = data.markets
        ? `Markets settled in ${WINDOW_TEXT[data.window]}.`
        : `No settled market in ${WINDOW_TEXT[data.window]} yet: results appear once a market traded in resolves.`;
      statsBox.replaceChildren(...stats([
        ["Profit", signed(data.profit, 2)], ["Put in", num(data.capital, 2)], ["Return", signedPct(data["return"])],
        ["Score (edge)", data.score === null ? "–" : signed(data.score, 3)], ["Markets", String(data.markets)],
        ["Fills", String(data.fills)], ["Shares", num(data.shares, 2)],
      ]));
      chartBox.replaceChildren(calibrationChart(data.calibration, "at the prices traded"));
      box.dataset.window = data.window;
      box.dataset.loaded = "yes";
    }
    group.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-window]");
      if (button && button.dataset.window !== windowName) { windowName = button.dataset.window; load(); }
    });
    load();
  }

  function init() {
    if (document.body.dataset.page === "scores") {
      calibrationSection();
      leaderboardSection();
      resolvedMarkets();
    }
    for (const box of document.querySelectorAll(".market-scores[data-market]")) marketScores(box);
    for (const box of document.querySelectorAll(".trader-panel[data-account]")) traderPanel(box);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  return { calibrationChart };
})();
