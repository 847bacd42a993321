// API keys, create market (with the spec linter) and admin pages.
"use strict";

(() => {
  const { api, el, num, table, showError, hide, message } = Augury;

  // -- API keys ------------------------------------------------------------------------
  const keyForm = document.getElementById("key-form");
  if (keyForm) {
    const list = document.getElementById("keys");
    const shown = document.getElementById("new-key");
    const error = document.getElementById("key-error");
    async function load() {
      const keys = await api("GET", "/auth/api-keys");
      const live = keys.items.filter((k) => !k.revoked_at);
      list.replaceChildren(live.length
        ? table(["Name", "Prefix", "Scopes", "Created", ""], live.map((k) => [
          k.name, el("code", { text: k.prefix + "…" }), k.scopes.join(", "), Augury.time(k.created_at),
          el("button", { type: "button", class: "small secondary", "aria-label": `Revoke key ${k.name}`, text: "Revoke",
            onclick: async () => { await api("DELETE", `/auth/api-keys/${k.id}`); load(); } }),
        ]), "Your API keys")
        : el("p", { class: "muted", text: "No keys yet." }));
    }
    keyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      hide(error);
      const scopes = [...keyForm.querySelectorAll("[name=scope]:checked")].map((c) => c.value);
      try {
        const body = { name: keyForm.name.value.trim(), scopes };
        const publicKey = keyForm.public_key.value.trim();
        if (publicKey) body.public_key = publicKey;
        const created = await api("POST", "/auth/api-keys", body);
        shown.replaceChildren(el("p", { text: "Your new key (copy it now; it is not shown again):" }), el("code", { class: "secret", text: created.key }));
        if (created.key_type) shown.append(el("p", { text: `Signed requests (${created.key_type}) send KALSHI-ACCESS-KEY: ` }, el("code", { text: created.id })));
        shown.hidden = false;
        keyForm.reset();
        load();
      } catch (err) { showError(error, err); }
    });
    load().catch((err) => list.replaceChildren(el("p", { class: "error", text: message(err) })));
    const notices = document.getElementById("notices");
    api("GET", "/auth/me").then((me) => {
      const items = me.security_notices || [];
      notices.replaceChildren(items.length
        ? el("ul", {}, ...items.map((n) => el("li", {},
          el("time", { datetime: n.created_at, text: Augury.time(n.created_at) }), " ", n.detail)))
        : el("p", { class: "muted", text: "No notices." }));
    }).catch((err) => notices.replaceChildren(el("p", { class: "error", text: message(err) })));
  }

  // -- create market -------------------------------------------------------------------
  const create = document.getElementById("create-form");
  if (create) {
    const error = document.getElementById("create-error");
    const findings = document.getElementById("spec-findings");
    const type = () => create.querySelector("[name=type]:checked").value;
    const outcomes = () => type() === "binary" ? ["Yes", "No"]
      : create.outcomes.value.split("\n").map((s) => s.trim()).filter(Boolean);
    const closeTime = () => create.close_time.value ? new Date(create.close_time.value + "Z").toISOString().replace(/\.\d+Z$/, "Z") : "";
    create.addEventListener("change", () => { document.getElementById("f-outcomes").hidden = type() !== "categorical"; });
    function spec() {
      const text = create.resolution_spec.value.trim();
      return text ? JSON.parse(text) : {};
    }
    document.getElementById("example-btn").addEventListener("click", () => {
      const close = create.close_time.value ? Date.parse(create.close_time.value + "Z") : Date.now() + 30 * 86400e3;
      const n = outcomes().length;
      const expect = [...Array(n).keys()].map((i) => ({ outcome: i, value: outcomes()[i] || String(i) }));
      create.resolution_spec.value = JSON.stringify({
        sources: [
          { kind: "http_json", id: "wire", owner: "Wire Agency", url: "https://api.wire.example.com/answer", path: "$.answer", expect },
          { kind: "html", id: "registry", owner: "Public Registry", url: "https://registry.example.org/notice", selector: "#result", expect },
        ],
        observation_at_us: (close + 86400e3) * 1000,
        persistence: { hours: 12 },
        quorum: 2,
        fallback: { kind: "hold" },
        challenge_window_hours: 48,
      }, null, 2);
    });
    document.getElementById("lint-btn").addEventListener("click", async () => {
      findings.replaceChildren();
      let parsed;
      try { parsed = spec(); } catch (err) { findings.append(el("li", { class: "error", text: "Not JSON: " + err.message })); return; }
      if (!closeTime()) { findings.append(el("li", { class: "error", text: "Set the closing time first." })); return; }
      const response = await fetch("/web/lint-spec", {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": Augury.cookie("augury_csrf") },
        body: JSON.stringify({ spec: parsed, outcomes: outcomes(), close_time: closeTime() }),
      });
      const result = await response.json();
      if (!response.ok) { findings.append(el("li", { class: "error", text: message(new Augury.ApiError(response.status, result)) })); return; }
      if (!result.findings.length) findings.append(el("li", { class: "ok", text: "The linter found nothing to fix." }));
      for (const f of result.findings) {
        findings.append(el("li", { class: f.severity === "error" ? "error" : "warning" },
          el("strong", { text: f.severity + " " }), el("code", { text: f.code }), " at " + f.where + ": " + f.message));
      }
    });
    create.addEventListener("submit", async (event) => {
      event.preventDefault();
      hide(error);
      let parsed;
      try { parsed = spec(); } catch (err) { showError(error, "The resolution spec is not JSON: " + err.message); return; }
      const body = {
        type: type(), question: create.question.value.replace(/\s*[\r\n]+\s*/g, " ").trim(), category: create.category.value.trim(),
        description: create.description.value.trim(), rules: create.rules.value.trim(),
        close_time: closeTime(), liquidity: create.liquidity.value.trim() || "0",
        tick_size: create.tick_size.value.trim() || "0.001", fee_bps: Number(create.fee_bps.value || 0),
        resolution_spec: parsed,
      };
      if (type() === "categorical") body.outcomes = outcomes();
      if (create.allow_affiliated.checked) {  // off only with a public reason (the exchange checks)
        body.block_affiliated_trading = false;
        body.affiliated_trading_reason = create.affiliated_trading_reason.value.trim();
      }
      if (!body.close_time) { showError(error, "Set the closing time."); return; }
      try {
        const market = await api("POST", "/markets", body);
        location.href = `/markets/${encodeURIComponent(market.id)}`;
      } catch (err) { showError(error, err); }
    });
  }

  // -- admin ---------------------------------------------------------------------------
  const override = document.getElementById("override-form");
  if (override) {
    const fill = () => {
      const option = override.market.selectedOptions[0];
      const names = option ? JSON.parse(option.dataset.outcomes) : [];
      override.outcome.replaceChildren(...names.map((name, i) => el("option", { value: String(i), text: name })));
    };
    override.market.addEventListener("change", fill);
    fill();
  }
  for (const form of document.querySelectorAll("form[data-form]")) {
    const out = form.querySelector(".result");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      out.className = "result";
      try {
        let text = "";
        const kind = form.dataset.form;
        if (kind === "grant") {
          const g = await api("POST", "/admin/grants", { account: form.account.value.trim(), amount: form.amount.value.trim(), memo: form.memo.value });
          text = `Granted ${num(g.amount, 2)} credits to ${g.account}.`;
        } else if (kind === "roles") {
          const roles = [...form.querySelectorAll("[name=role]:checked")].map((c) => c.value);
          const u = await api("PUT", `/admin/users/${encodeURIComponent(form.username.value.trim())}/roles`, { roles });
          text = `${u.username} now has: ${u.roles.join(", ")}.`;
        } else if (kind === "halt") {
          const action = event.submitter && event.submitter.value === "resume" ? "resume" : "halt";
          const m = await api("POST", `/markets/${encodeURIComponent(form.market.value)}/${action}`, { reason: form.reason.value });
          text = `${m.id} is now ${m.status}.`;
        } else if (kind === "override") {
          const market = encodeURIComponent(form.market.value);
          const reason = form.reason.value.trim();
          if (reason.length < 3) throw new Error("Give a public reason (at least 3 characters).");
          if (event.submitter && event.submitter.value === "void") {
            const s = await api("POST", `/markets/${market}/void`, { reason });
            text = `${s.market} voided (market ${s.market_status}).`;
          } else {
            const weights = form.weights.value.trim();
            const body = weights ? { weights: weights.split(/[\s,]+/).filter(Boolean), reason } : { outcome: Number(form.outcome.value), reason };
            const s = await api("POST", `/markets/${market}/resolve`, body);
            text = `${s.market} resolved (market ${s.market_status}).`;
          }
        } else if (kind === "affiliation") {
          const a = await api("POST", "/admin/affiliations", { account: form.account.value.trim(), organization: form.organization.value.trim(), affiliated: form.affiliated.checked });
          text = `${a.account} is affiliated with: ${a.organizations.join(", ") || "nobody"}.`;
        } else if (kind === "clock") {
          const c = await api("POST", "/admin/clock", { seconds: Math.round(Number(form.hours.value) * 3600) });
          text = `The clock is now ${Augury.time(c.time)} (${c.events} events on the way).`;
        }
        out.textContent = text;
        out.classList.add("ok");
      } catch (err) {
        out.textContent = Augury.problem(err);
        out.classList.add("error");
      }
    });
  }
})();
