// The resolver & arbiter console: propose (with a bond), observe now, vote, and review
// surveillance alerts. Every action is a call to the JSON API; a refusal shows the API's
// message and its code (e.g. conflict_of_interest).
"use strict";

(() => {
  const { api, el, num, time, problem } = Augury;

  function report(out, ok, text) {
    out.textContent = text;
    out.className = "result " + (ok ? "ok" : "error");
    out.setAttribute("role", ok ? "status" : "alert");
  }

  // -- proposals, observations, votes ---------------------------------------------------
  for (const form of document.querySelectorAll("form[data-action]")) {
    const out = form.querySelector(".result");
    const market = encodeURIComponent(form.dataset.market);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        let story;
        if (form.dataset.action === "propose") {
          story = await api("POST", `/markets/${market}/proposals`, {
            outcome: Number(form.outcome.value), bond: form.bond.value.trim(), reason: form.reason.value.trim(),
          });
          report(out, true, `Proposed. Phase: ${story.status}; the challenge window ends ${time(story.proposal.challenge_ends_at)}.`);
        } else {
          const chosen = form.querySelector("[name=outcome]:checked");
          story = await api("POST", `/markets/${market}/votes`, {
            outcome: Number(chosen.value), reason: form.reason.value.trim(),
          });
          report(out, true, `Vote recorded (${story.votes.length} so far). Phase: ${story.status}.`);
        }
      } catch (err) {
        report(out, false, problem(err));
      } finally { button.disabled = false; }
    });
    const observe = form.querySelector("[data-observe]");
    if (observe) {
      observe.addEventListener("click", async () => {
        observe.disabled = true;
        try {
          // answered at once with a job (202); poll it until it is done or failed
          let job = await api("POST", `/markets/${market}/observe`);
          report(out, true, "Observing the sources…");
          for (let i = 0; i < 600 && (job.status === "pending" || job.status === "running"); i++) {
            await new Promise((done) => setTimeout(done, 500));
            job = await api("GET", `/observe-jobs/${job.id}`);
          }
          if (job.status === "failed") { report(out, false, job.error); return; }
          if (job.status !== "done") { report(out, true, "Still observing; the evidence trail will show the captures."); return; }
          const items = job.observations;
          const last = items.map((o) => `${o.source_id}: ${o.ok ? "“" + o.value + "”" : "failed (" + o.error_code + ")"}`);
          report(out, true, `Observed ${items.length} source${items.length === 1 ? "" : "s"}: ${last.join(", ") || "none"}.`);
        } catch (err) {
          report(out, false, problem(err));
        } finally { observe.disabled = false; }
      });
    }
  }

  // -- alerts ----------------------------------------------------------------------------
  const filters = document.getElementById("alert-filters");
  if (!filters) return;
  const list = document.getElementById("alerts-list");
  const status = document.getElementById("alerts-status");

  function reviewForm(alert) {
    const note = el("input", { name: "note", maxlength: "200", id: `note-${alert.id}`, placeholder: "what you checked" });
    const out = el("p", { class: "result", role: "status" });
    const form = el("form", { class: "inline-form review", "data-alert": String(alert.id), novalidate: true },
      el("div", { class: "field grow" }, el("label", { for: `note-${alert.id}`, text: "Note" }), note),
      el("button", { type: "submit", name: "verdict", value: "dismiss", class: "secondary", "aria-label": `Dismiss alert #${alert.id}`, text: "Dismiss" }),
      el("button", { type: "submit", name: "verdict", value: "confirm", "aria-label": `Confirm alert #${alert.id}`, text: "Confirm" }),
      out);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const verdict = event.submitter && event.submitter.value === "confirm" ? "confirm" : "dismiss";
      for (const b of form.querySelectorAll("button")) b.disabled = true;
      try {
        const done = await api("POST", `/alerts/${alert.id}/review`, { verdict, note: note.value.trim() });
        report(out, true, `Alert #${done.id} ${done.verdict}ed by ${done.reviewer}.` +
          (verdict === "confirm" ? " The market goes to the arbiters." : " Its hold is released."));
        setTimeout(load, 1500);
      } catch (err) {
        report(out, false, problem(err));
        for (const b of form.querySelectorAll("button")) b.disabled = false;
      }
    });
    return form;
  }

  async function load() {
    const params = new URLSearchParams();
    for (const name of ["market", "severity", "detector", "status"]) {
      const value = filters.elements[name].value;
      if (value) params.set(name, value);
    }
    params.set("limit", "200");
    try {
      const found = await api("GET", "/alerts?" + params.toString());
      status.textContent = found.items.length ? `${found.items.length} alert${found.items.length === 1 ? "" : "s"}, newest first.` : "No alerts match.";
      list.replaceChildren(found.items.length ? Augury.table(
        ["#", "Market", "Detector", "Severity", "Accounts", "Why", "Raised", "Review"],
        found.items.map((a) => [
          "#" + a.id,
          el("a", { href: `/markets/${encodeURIComponent(a.market)}`, text: a.market }),
          a.detector,
          el("span", { class: "sev-" + a.severity, text: a.severity + (a.holds ? " · holds" : "") }),
          a.accounts.join(", "),
          el("span", {}, a.reason, el("br"), el("span", { class: "muted small", text: `score ${num(a.score_bp / 100, 0)}% · journal #${a.seqs.slice(0, 6).join(", #")}${a.seqs.length > 6 ? "…" : ""}` })),
          time(a.raised_at),
          a.verdict ? `${a.verdict}ed by ${a.reviewer}` : reviewForm(a),
        ]), "Surveillance alerts") : el("span"));
      for (const row of list.querySelectorAll("tbody tr")) row.classList.add("alert-row");
      list.querySelector("table")?.classList.add("alerts-table");
    } catch (err) {
      status.textContent = "The alerts could not be loaded: " + problem(err);
    }
  }
  for (const select of filters.querySelectorAll("select")) select.addEventListener("change", load);
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();
