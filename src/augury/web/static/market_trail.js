// The market page's resolution: where it stands, its story and evidence trail (captures
// collapsed into runs of identical ones), and the resolver's and arbiter's actions.
"use strict";

(() => {
  const { api, el, pct, num, shortTime, time, table, showError, hide, debounce } = Augury;
  const M = JSON.parse(document.getElementById("market-data").textContent);

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


  loadEvidence();
  initResolutionActions();
})();
