// Create market: a form that writes the resolution spec's JSON (docs/resolution.md).
// The JSON textarea stays the advanced view: a hand edit is kept until the builder is
// touched again.
"use strict";

(() => {
  const { el } = Augury;
  const form = document.getElementById("create-form");
  const builder = document.getElementById("spec-builder");
  if (!form || !builder) return;

  const textarea = document.getElementById("c-spec");
  const list = document.getElementById("b-sources");
  const addButton = document.getElementById("b-add");
  const observation = document.getElementById("b-observation");
  const persistence = document.getElementById("b-persistence");
  const quorum = document.getElementById("b-quorum");
  const fallback = document.getElementById("b-fallback");
  const extendField = document.getElementById("b-extend-field");
  const extendHours = document.getElementById("b-extend");
  const challenge = document.getElementById("b-challenge");
  const singleReason = document.getElementById("b-single-reason");
  const status = document.getElementById("b-status");
  const close = form.close_time;

  const KINDS = [
    ["http_json", "JSON API (http_json)"],
    ["html", "Web page (html)"],
    ["geojson", "Map layer (geojson)"],
    ["attestation", "Signed statement (attestation)"],
  ];
  let serial = 0; // element ids stay unique when sources are removed
  let written = null; // the JSON the builder last wrote
  let observationTouched = false;
  let quorumTouched = false;

  const outcomes = () => {
    const type = form.querySelector("input[name=type]:checked");
    if (type && type.value === "categorical") {
      return form.outcomes.value.split("\n").map((s) => s.trim()).filter(Boolean);
    }
    return ["Yes", "No"];
  };
  const sources = () => [...list.querySelectorAll(".b-source")];
  const ownerKey = (owner) => owner.trim().toLowerCase().replace(/\s+/g, " ");
  const distinctOwners = () => new Set(sources().map((s) => ownerKey(s.querySelector(".b-owner").value)).filter(Boolean)).size;

  function field(id, label, input, help) {
    input.id = id;
    const parts = [el("label", { for: id, text: label }), input];
    if (help) {
      input.setAttribute("aria-describedby", id + "-help");
      parts.push(el("p", { class: "help", id: id + "-help", text: help }));
    }
    return el("div", { class: "field" }, ...parts);
  }
  const text = (cls, attrs) => el("input", { class: cls, type: "text", spellcheck: "false", ...attrs });

  function expectTable(source, values) {
    const box = source.querySelector(".b-expect");
    const names = outcomes();
    const rows = names.map((name, i) => {
      const id = `${source.dataset.key}-expect-${i}`;
      return el("div", { class: "b-expect-row" },
        el("label", { for: id, text: name }),
        el("input", { id, class: "b-expect-value", type: "text", "data-outcome": String(i), spellcheck: "false",
          placeholder: "value read", value: values[i] ?? "" }));
    });
    box.replaceChildren(el("legend", { text: "Expected value per outcome" }), ...rows);
  }

  function addSource(initial = {}) {
    serial += 1;
    const key = `b-s${serial}`;
    const kind = el("select", { class: "b-kind" }, ...KINDS.map(([value, label]) => el("option", { value, text: label })));
    kind.value = initial.kind || "http_json";
    const reader = el("select", { class: "b-reader" },
      el("option", { value: "selector", text: "CSS selector" }), el("option", { value: "regex", text: "Regular expression" }));
    const legend = el("legend");
    const remove = el("button", { type: "button", class: "small secondary b-remove", text: "Remove" });
    const source = el("fieldset", { class: "b-source", "data-key": key },
      legend,
      el("div", { class: "grid3" },
        field(`${key}-kind`, "Kind", kind),
        field(`${key}-id`, "Source id", text("b-id", { value: initial.id || `source-${serial}`, required: true })),
        field(`${key}-owner`, "Owner (organization)", text("b-owner", { required: true }))),
      el("div", { class: "b-kind-fields", "data-kind": "http_json html geojson" },
        field(`${key}-url`, "URL", text("b-url", { type: "url", inputmode: "url", placeholder: "https://" }))),
      el("div", { class: "b-kind-fields", "data-kind": "http_json" },
        field(`${key}-json-path`, "JSON path", text("b-path", { placeholder: "$.answer" }))),
      el("div", { class: "b-kind-fields", "data-kind": "html" },
        el("div", { class: "grid2" },
          field(`${key}-reader`, "Read with", reader),
          field(`${key}-reader-value`, "Selector or regex", text("b-reader-value", { placeholder: "#result" })))),
      el("div", { class: "b-kind-fields", "data-kind": "geojson" },
        field(`${key}-property`, "Property", text("b-property", { placeholder: "controlled_by" })),
        el("div", { class: "grid3" },
          field(`${key}-lon`, "Longitude", text("b-lon", { inputmode: "decimal", placeholder: "-180..180" })),
          field(`${key}-lat`, "Latitude", text("b-lat", { inputmode: "decimal", placeholder: "-90..90" })),
          field(`${key}-place`, "Place (optional)", text("b-place")))),
      el("div", { class: "b-kind-fields", "data-kind": "attestation" },
        el("div", { class: "grid2" },
          field(`${key}-attester`, "Attester", text("b-attester")),
          field(`${key}-key`, "Public key (Ed25519, 64 hex)", text("b-key", { maxlength: "64", autocomplete: "off" })))),
      el("fieldset", { class: "b-expect" }),
      el("div", { class: "row" }, remove));
    remove.addEventListener("click", () => {
      const at = sources().indexOf(source);
      source.remove();
      renumber();
      const rest = sources();
      (rest.length ? rest[Math.min(at, rest.length - 1)].querySelector(".b-kind") : addButton).focus();
      changed();
    });
    list.append(source);
    expectTable(source, []);
    showKind(source);
    renumber();
    return source;
  }

  function showKind(source) {
    const kind = source.querySelector(".b-kind").value;
    for (const group of source.querySelectorAll(".b-kind-fields")) group.hidden = !group.dataset.kind.split(" ").includes(kind);
  }

  function renumber() {
    sources().forEach((source, i) => {
      source.querySelector("legend").textContent = `Source ${i + 1}`;
      source.querySelector(".b-remove").setAttribute("aria-label", `Remove source ${i + 1}`);
    });
  }

  const number = (value) => {
    const trimmed = value.trim();
    if (trimmed === "") return null;
    const n = Number(trimmed);
    return Number.isFinite(n) ? n : trimmed; // let the linter name a bad value
  };
  const integer = (input, fallbackValue) => {
    const n = number(input.value);
    return n === null ? fallbackValue : n;
  };

  function sourceJson(source) {
    const q = (cls) => source.querySelector(cls);
    const kind = q(".b-kind").value;
    const g = (cls) => q(cls).value.trim();
    const out = { kind, id: q(".b-id").value.trim(), owner: q(".b-owner").value.trim() };
    if (kind === "http_json") Object.assign(out, { url: g(".b-url"), path: g(".b-path") });
    else if (kind === "html") {
      out.url = g(".b-url");
      out[q(".b-reader").value] = g(".b-reader-value"); // exactly one of selector, regex
    } else if (kind === "geojson") {
      const at = { lon: number(g(".b-lon")), lat: number(g(".b-lat")) };
      if (g(".b-place")) at.place = g(".b-place");
      Object.assign(out, { url: g(".b-url"), at, property: g(".b-property") });
    } else Object.assign(out, { attester: g(".b-attester"), public_key: g(".b-key") });
    out.expect = [...source.querySelectorAll(".b-expect-value")]
      .filter((input) => input.value.trim() !== "")
      .map((input) => ({ outcome: Number(input.dataset.outcome), value: input.value.trim() }));
    return out;
  }

  function specJson() {
    const spec = { sources: sources().map(sourceJson) };
    const at = observation.value || close.value;
    if (at) spec.observation_at_us = Date.parse(at + "Z") * 1000;
    spec.persistence = { hours: integer(persistence, 0) };
    spec.quorum = integer(quorum, Math.max(1, distinctOwners()));
    spec.fallback = fallback.value === "extend" ? { kind: "extend", by_hours: integer(extendHours, 24) } : { kind: fallback.value };
    spec.challenge_window_hours = integer(challenge, 48);
    const reason = singleReason.value.trim();
    if (reason) spec.single_source_reason = reason;
    return JSON.stringify(spec, null, 2);
  }

  function syncDefaults() {
    if (!observationTouched) observation.value = close.value;
    if (!quorumTouched) quorum.value = String(Math.max(1, distinctOwners()));
    extendField.hidden = fallback.value !== "extend";
  }

  function write() {
    written = specJson();
    textarea.value = written;
    status.textContent = "The JSON below is written by the builder.";
  }

  // The user changed the builder: always write (this is how a hand edit is replaced).
  function changed() {
    syncDefaults();
    write();
  }

  // Something outside the builder changed (close time, outcomes): rewrite only JSON the
  // builder wrote and nobody has edited since.
  function outsideChanged() {
    syncDefaults();
    if (written !== null && textarea.value === written) write();
  }

  builder.addEventListener("input", (event) => {
    if (event.target === observation) observationTouched = observation.value !== "";
    if (event.target === quorum) quorumTouched = quorum.value !== "";
    changed();
  });
  builder.addEventListener("change", (event) => {
    const source = event.target.closest(".b-source");
    if (source && event.target.classList.contains("b-kind")) showKind(source);
    if (event.target === observation) observationTouched = observation.value !== "";
    changed();
  });
  // Enter in a builder field must not submit (create) the market.
  builder.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("input")) event.preventDefault();
  });
  addButton.addEventListener("click", () => {
    addSource().querySelector(".b-kind").focus();
    changed();
  });
  textarea.addEventListener("input", () => {
    if (written !== null) status.textContent = "You edited the JSON by hand; changing the builder rewrites it.";
  });

  const rebuildExpect = () => {
    for (const source of sources()) {
      const values = [...source.querySelectorAll(".b-expect-value")].map((input) => input.value);
      expectTable(source, values);
    }
    outsideChanged();
  };
  close.addEventListener("input", outsideChanged);
  close.addEventListener("change", outsideChanged);
  form.outcomes.addEventListener("input", rebuildExpect);
  for (const radio of form.querySelectorAll("input[name=type]")) radio.addEventListener("change", rebuildExpect);

  addSource();
  syncDefaults();
})();
