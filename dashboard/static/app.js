// The meterproof dashboard page: plain ES module, no build step. It reads the server's JSON API
// and redraws the current view whenever the server reports a new block or trace change.
/* global uPlot */

const main = document.getElementById("main");
const liveEl = document.getElementById("live");
const rawBox = document.getElementById("raw");
rawBox.checked = localStorage.getItem("meterproof.raw") === "1";

/** View state that survives a redraw: the jobs table's sort and filter. */
const state = { sort: { key: "id", dir: 1 }, filter: "", status: "all" };
let redraw = () => {};
let drawing = Promise.resolve();

/** Builds an element: h("a", { href: "/" }, "text", child…); text is never parsed as HTML. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "testid") el.dataset.testid = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`the dashboard server answered ${res.status} without JSON`);
  }
  if (!res.ok) throw new Error(body.error ?? `the dashboard server answered ${res.status}`);
  return body;
}

const amt = (a) => (a ? (rawBox.checked ? `${a.raw} base units` : a.text) : "—");
const hours = (h) => `${h.hours.toFixed(6)} ${h.unit}`;
const short = (s) => (s.length > 14 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s);
const when = (unixS) => new Date(unixS * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
const whenMs = (ms) => when(ms / 1000);
/** A window of unix ms as "date from–to UTC". */
const span = (from, to) => `${whenMs(from).slice(0, 19)}–${whenMs(to).slice(11)}`;
/** Charts are drawn once their container is on the page, so they know their width. */
let pendingCharts = [];
/** Charts on the page: destroyed before a redraw, which removes their window listeners. */
let charts = [];
const weight = (bps) =>
  bps === null || bps === undefined ? "not rated" : `${bps} bps (${(bps / 100).toFixed(2)}% of an H100)`;
const providerLink = (a) => h("a", { href: `/providers/${a}`, title: a }, short(a));
const badge = (status) => h("span", { class: `badge ${status}`, "data-status": status }, status);

function stat(label, value, testid, note) {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "label" }, label),
    h("div", { class: "value", testid }, value),
    note ? h("div", { class: "note" }, note) : null,
  );
}

function table(headers, rows, opts = {}) {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { testid: opts.testid },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((x) => (typeof x === "string" ? h("th", {}, x) : x)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.length
          ? rows
          : h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, opts.empty ?? "none")),
      ),
    ),
  );
}

function errorBox(message) {
  return h(
    "div",
    { class: "error", role: "alert", testid: "error" },
    h("strong", {}, "Cannot show this page. "),
    message,
  );
}

function chainLine(d) {
  return h(
    "p",
    { class: "muted" },
    `chain ${d.chain.chainId} at ${d.chain.label}, block ${d.chain.block} (${when(d.chain.blockTime)}); escrow ${d.chain.escrow}; `,
    d.traces.dir
      ? `${d.traces.files} traces and ${d.traces.bundles} bundles in ${d.traces.dir}`
      : "no traces folder (--traces DIR)",
    d.traces.problems.length ? h("span", { class: "warn" }, ` · ${d.traces.problems.join(" · ")}`) : null,
  );
}

// ---- overview and jobs list ----

function attestation(required) {
  const text =
    required === null
      ? "the registry's attestation setting is not in the events read"
      : required
        ? "an attestor must approve a worker key before it earns"
        : "attestor approval is not required to earn on this network";
  return h("p", { class: "muted", testid: "attestation" }, text);
}

async function overviewPage(withStats) {
  const d = await api("/api/overview");
  const paid = d.paid.length ? d.paid.map((a) => h("div", { testid: "paid-token" }, amt(a))) : "nothing yet";
  const stats = h(
    "section",
    { class: "stats", testid: "overview" },
    stat(
      "GPU-hours proven",
      d.hours.gpu.toFixed(6),
      "gpu-hours",
      "GPU device classes, one fully busy device",
    ),
    stat("CPU-hours proven", d.hours.cpu.toFixed(6), "cpu-hours", "CPU classes: not GPU time"),
    stat(
      "H100-equivalent hours",
      d.hours.h100Equivalent.toFixed(6),
      "h100-hours",
      "usage × device weight: what is priced",
    ),
    stat("paid", paid, "paid"),
    stat("jobs", `${d.jobs.open} open · ${d.jobs.expired} expired · ${d.jobs.closed} closed`, "jobs-count"),
    stat("segments accepted", String(d.segments), "segments"),
    stat("gas per segment", d.gas.perSegment ?? "—", "gas-per-segment", "average, batches share one pairing"),
    stat("gas per GPU-hour", d.gas.perGpuHour ?? "—", "gas-per-gpu-hour", "gas of GPU segments / GPU-hours"),
    d.gas.perCpuHour
      ? stat("gas per CPU-hour", d.gas.perCpuHour, "gas-per-cpu-hour", "gas of CPU segments / CPU-hours")
      : null,
  );
  const workers = table(
    ["device class", "kind", "weight now", "workers", "active", "approved"],
    d.workers.map((w) =>
      h(
        "tr",
        {},
        h("td", {}, w.deviceClass),
        h("td", {}, w.kind),
        h("td", {}, weight(w.weightBps)),
        h("td", {}, w.total),
        h("td", {}, w.active),
        h("td", {}, w.approved),
      ),
    ),
    { testid: "workers-by-class", empty: "no workers registered" },
  );
  return [
    h("h1", {}, withStats ? "Network" : "Jobs"),
    chainLine(d),
    withStats ? stats : null,
    withStats ? h("h2", {}, "Workers by device class") : null,
    withStats ? attestation(d.attestationRequired) : null,
    withStats ? workers : null,
    withStats ? h("h2", {}, "Jobs") : null,
    jobsTable(d.jobsList),
  ];
}

const JOB_COLUMNS = [
  ["id", "job", (j) => BigInt(j.id)],
  ["client", "client", (j) => j.client.toLowerCase()],
  ["provider", "provider", (j) => j.provider.toLowerCase()],
  ["budget", "budget", (j) => BigInt(j.budget.raw)],
  ["paid", "paid", (j) => BigInt(j.paid.raw)],
  ["remaining", "remaining", (j) => BigInt(j.remaining.raw)],
  ["expiry", "expiry", (j) => j.expiry],
  ["status", "status", (j) => j.status],
  ["segments", "segments", (j) => j.segments],
];

function jobsTable(jobs) {
  const f = state.filter.trim().toLowerCase();
  const shown = jobs
    .filter((j) => state.status === "all" || j.status === state.status)
    .filter((j) => !f || [j.id, j.client, j.provider].some((x) => x.toLowerCase().includes(f)))
    .sort((a, b) => {
      const get = JOB_COLUMNS.find((c) => c[0] === state.sort.key)[2];
      const x = get(a);
      const y = get(b);
      return (x < y ? -1 : x > y ? 1 : 0) * state.sort.dir;
    });
  const filter = h("input", {
    type: "search",
    placeholder: "filter by job, client or provider",
    value: state.filter,
    testid: "jobs-filter",
    oninput: (e) => {
      state.filter = e.target.value;
      redrawKeepingFocus("jobs-filter");
    },
  });
  const status = h(
    "select",
    { testid: "jobs-status", onchange: (e) => ((state.status = e.target.value), redraw()) },
    ["all", "open", "spent", "expired", "closed"].map((s) =>
      h("option", { value: s, selected: s === state.status }, s),
    ),
  );
  const headers = JOB_COLUMNS.map(([key, label]) =>
    h(
      "th",
      {
        class: "sortable",
        "data-sort": key,
        onclick: () => {
          state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
          redraw();
        },
      },
      label,
      state.sort.key === key ? (state.sort.dir > 0 ? " ▲" : " ▼") : "",
    ),
  );
  const rows = shown.map((j) =>
    h(
      "tr",
      { testid: "job-row", "data-job": j.id },
      h("td", {}, h("a", { href: `/jobs/${j.id}` }, `#${j.id}`)),
      h("td", { title: j.client }, short(j.client)),
      h("td", {}, providerLink(j.provider)),
      h("td", {}, amt(j.budget)),
      h("td", {}, amt(j.paid)),
      h("td", {}, amt(j.remaining)),
      h("td", {}, when(j.expiry)),
      h("td", {}, badge(j.status)),
      h("td", {}, j.segments),
    ),
  );
  return [
    h(
      "div",
      { class: "filters" },
      filter,
      " ",
      status,
      h("span", { class: "muted" }, ` ${shown.length} of ${jobs.length} jobs`),
    ),
    table(headers, rows, { testid: "jobs", empty: "no jobs match" }),
  ];
}

function redrawKeepingFocus(testid) {
  redraw().then(() => {
    const el = document.querySelector(`[data-testid="${testid}"]`);
    if (el) {
      el.focus();
      el.setSelectionRange?.(el.value.length, el.value.length);
    }
  });
}

// ---- job page ----

async function jobPage(id) {
  const d = await api(`/api/jobs/${encodeURIComponent(id)}`);
  const j = d.job;
  const dl = h("dl", { class: "summary", testid: "job-summary" });
  for (const [label, value, testid] of [
    ["client", h("span", { title: j.client }, j.client)],
    ["provider", providerLink(j.provider)],
    ["budget", amt(j.budget), "budget"],
    ["paid", amt(j.paid), "paid"],
    ["remaining", amt(j.remaining), "remaining"],
    ["refunded", amt(j.refunded), "refunded"],
    ["price", `${amt(j.price)} per H100-equivalent hour`, "price"],
    ["created", when(j.createdAt)],
    ["expiry", when(j.expiry), "expiry"],
    ["job tag", h("code", { title: j.jobTag }, short(j.jobTag))],
  ])
    dl.append(h("dt", {}, label), h("dd", { testid }, value));

  const lanes = d.lanes.map((lane) => laneSection(lane));
  const auditBox = h(
    "section",
    { testid: "audit" },
    h("h2", {}, "Audit"),
    h("p", { class: "muted" }, "auditing the traces against the chain…"),
  );
  const bundles = d.bundles.length
    ? h(
        "ul",
        { testid: "bundles" },
        d.bundles.map((b) =>
          h("li", {}, h("a", { href: b.url }, b.name), ` (segment ${b.segment}, lane ${short(b.lane)})`),
        ),
      )
    : h("p", { class: "muted", testid: "bundles" }, "no proof bundles of this job in the traces folder");
  const content = [
    h("h1", {}, `Job #${j.id} `, badge(j.status)),
    chainLine(d),
    dl,
    d.lanes.length
      ? lanes
      : h(
          "p",
          { class: "muted" },
          "no lanes yet: no segment accepted and no trace of this job in the traces folder",
        ),
    auditBox,
    h("section", {}, h("h2", {}, "Proof bundles"), bundles),
  ];
  const after = () =>
    api(`/api/jobs/${encodeURIComponent(id)}/audit`).then(
      (a) => auditBox.replaceChildren(h("h2", {}, "Audit"), ...auditView(a.audits)),
      (err) => auditBox.replaceChildren(h("h2", {}, "Audit"), errorBox(err.message)),
    );
  return { content, after };
}

function laneSection(lane) {
  const rows = lane.segments.map((s) =>
    h(
      "tr",
      { testid: "segment-row", "data-status": s.status, "data-index": s.index ?? "" },
      h("td", {}, s.index ?? "—"),
      h("td", {}, badge(s.status === "accepted" ? "accepted" : "unsubmitted")),
      h("td", {}, span(s.tFirst, s.tLast)),
      h("td", {}, s.records ?? "—"),
      h("td", { "data-field": "usage" }, s.usage),
      h("td", { "data-field": "hours" }, hours(s.hours)),
      h("td", { "data-field": "weight" }, s.weightBps ?? "—"),
      h("td", { "data-field": "payout" }, amt(s.payout)),
      h("td", {}, s.txHash ? h("code", { title: s.txHash }, short(s.txHash)) : "—"),
      h("td", { "data-field": "gas" }, s.gas ?? "—"),
      h("td", {}, s.bundle ? h("a", { href: s.bundle }, "bundle") : "—"),
    ),
  );
  const chart = lane.timeline
    ? h("div", { class: "chart", testid: "timeline" })
    : h("p", { class: "muted" }, "no trace of this lane in the traces folder: no timeline");
  const section = h(
    "section",
    { class: "lane", testid: "lane", "data-lane": lane.workerKeyHash },
    h("h2", {}, `Lane ${short(lane.workerKeyHash)} · ${lane.deviceClass}`),
    h(
      "p",
      {},
      `device weight that applied: ${lane.weightBps === null ? `none yet (rate card now: ${weight(lane.currentWeightBps)})` : weight(lane.weightBps)}; `,
      `proven ${hours(lane.provenHours)}, paid `,
      h("span", { testid: "lane-paid" }, amt(lane.paid)),
      lane.trace ? ` · trace ${lane.trace.rel} (${lane.trace.sampler} sampler, ${lane.trace.device})` : "",
      lane.trace?.problem ? h("span", { class: "warn" }, ` · ${lane.trace.problem}`) : null,
    ),
    chart,
    lane.timeline ? bandLegend() : null,
    table(
      [
        "segment",
        "status",
        "window",
        "records",
        "usage (bps·ms)",
        "hours",
        "weight (bps)",
        "payout",
        "transaction",
        "gas",
        "bundle",
      ],
      rows,
      { testid: "segments", empty: "no segments" },
    ),
  );
  if (lane.timeline) pendingCharts.push(() => drawTimeline(chart, lane.timeline));
  return section;
}

const BAND_COLORS = {
  accepted: "rgba(22,163,74,0.13)",
  sealed: "rgba(234,179,8,0.20)",
  unsealed: "rgba(100,116,139,0.15)",
};

function bandLegend() {
  return h(
    "p",
    { class: "legend" },
    h("span", { class: "swatch", style: `background:${BAND_COLORS.accepted}` }),
    " accepted on chain ",
    h("span", { class: "swatch", style: `background:${BAND_COLORS.sealed}` }),
    " sealed, not submitted ",
    h("span", { class: "swatch", style: `background:${BAND_COLORS.unsealed}` }),
    " not sealed yet",
  );
}

function drawTimeline(el, tl) {
  const bands = (u) => {
    const { ctx } = u;
    const top = u.bbox.top;
    const height = u.bbox.height;
    ctx.save();
    for (const b of tl.bands) {
      const x0 = u.valToPos(b.from, "x", true);
      const x1 = u.valToPos(b.to, "x", true);
      ctx.fillStyle = BAND_COLORS[b.status];
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      ctx.fillStyle = "rgba(15,23,42,0.55)";
      ctx.fillRect(x0, top, 1, height);
      ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
      if (b.index !== null) ctx.fillText(`segment ${b.index}`, x0 + 4, top + 14 * devicePixelRatio);
    }
    ctx.restore();
  };
  const u = new uPlot(
    {
      width: Math.max(320, el.clientWidth - 10),
      height: 260,
      scales: { x: { time: true }, pct: { range: [0, 100] }, w: {}, mib: {} },
      series: [
        {},
        {
          label: "utilization %",
          scale: "pct",
          stroke: "#2563eb",
          width: 2,
          points: { show: true, size: 4 },
        },
        { label: "power W", scale: "w", stroke: "#dc2626", width: 1.5 },
        { label: "memory MiB", scale: "mib", stroke: "#059669", width: 1.5, dash: [6, 4] },
      ],
      axes: [
        {},
        { scale: "pct", label: "utilization %" },
        { scale: "w", side: 1, label: "power W", grid: { show: false } },
      ],
      hooks: { drawClear: [bands] },
    },
    [tl.t, tl.utilPct, tl.powerW, tl.memMiB],
    el,
  );
  charts.push(u);
  el.dataset.points = String(u.data[0].length);
}

function auditView(audits) {
  if (!audits.length)
    return [
      h(
        "p",
        { class: "muted", testid: "audit-verdict", "data-verdict": "none" },
        "no trace of this job in the traces folder, so there is nothing to audit",
      ),
    ];
  return audits.map((a) => {
    if (!a.report) return errorBox(`${a.trace}: ${a.error}`);
    const r = a.report;
    const verdict = r.ok
      ? r.counts.warn
        ? "ok, with warnings"
        : "ok"
      : "FAILED: the trace does not match the chain or its own hashes";
    const rows = r.findings.map((f) =>
      h(
        "tr",
        { class: f.status, testid: "finding", "data-status": f.status },
        h("td", {}, badge(f.status)),
        h("td", {}, f.check),
        h(
          "td",
          {},
          [
            f.line !== undefined ? `line ${f.line}` : "",
            f.seq !== undefined ? `record ${f.seq}` : "",
            f.segment !== undefined ? `segment ${f.segment}` : "",
          ]
            .filter(Boolean)
            .join(", "),
        ),
        h("td", {}, f.message),
      ),
    );
    return h(
      "div",
      { class: `audit ${r.ok ? "ok" : "fail"}` },
      h(
        "p",
        { testid: "audit-verdict", "data-verdict": r.ok ? "ok" : "fail" },
        h("strong", {}, `${a.trace}: ${verdict}`),
        ` (${r.counts.pass} pass, ${r.counts.warn} warn, ${r.counts.fail} fail; ${r.summary.records} records, ${r.summary.segments} segments)`,
      ),
      table(["status", "check", "where", "finding"], rows, { testid: "findings" }),
    );
  });
}

// ---- provider page ----

async function providerPage(address) {
  const d = await api(`/api/providers/${encodeURIComponent(address)}`);
  const workers = table(
    ["worker key hash", "device class", "kind", "weight now", "active", "approved", "registered in block"],
    d.workers.map((w) =>
      h(
        "tr",
        { testid: "worker-row" },
        h("td", {}, h("code", { title: w.workerKeyHash }, short(w.workerKeyHash))),
        h("td", {}, w.deviceClass),
        h("td", {}, w.kind),
        h("td", {}, weight(w.weightBps)),
        h("td", {}, w.released ? "released" : w.active ? "yes" : "no"),
        h("td", {}, w.approved ? "yes" : "no"),
        h("td", {}, w.registeredBlock),
      ),
    ),
    { testid: "workers", empty: "no workers" },
  );
  const balances = table(
    ["token", "to withdraw", "earned", "withdrawn"],
    d.tokens.map((t) =>
      h(
        "tr",
        { testid: "balance-row" },
        h("td", { title: t.token }, t.symbol ? `${t.symbol} (${short(t.token)})` : short(t.token)),
        h("td", { "data-field": "withdrawable" }, amt(t.withdrawable)),
        h("td", { "data-field": "earned" }, amt(t.earned)),
        h("td", { "data-field": "withdrawn" }, amt(t.withdrawn)),
      ),
    ),
    { testid: "balances" },
  );
  const backlog = table(
    ["job", "lane", "segment", "window", "usage (bps·ms)", "hours", "trace"],
    d.backlog.map((b) =>
      h(
        "tr",
        { testid: "backlog-row" },
        h("td", {}, h("a", { href: `/jobs/${b.jobId}` }, `#${b.jobId}`)),
        h("td", {}, short(b.lane)),
        h("td", {}, b.index),
        h("td", {}, span(b.tFirst, b.tLast)),
        h("td", { "data-field": "usage" }, b.usage),
        h("td", {}, hours(b.hours)),
        h("td", {}, b.trace),
      ),
    ),
    {
      testid: "backlog",
      empty: d.traces.dir
        ? "nothing waiting: every sealed segment in the traces folder is accepted"
        : "no traces folder (--traces DIR), so the backlog is unknown",
    },
  );
  return [
    h("h1", {}, "Provider ", h("code", {}, d.address)),
    chainLine(d),
    h("h2", {}, "Balances"),
    balances,
    h("h2", {}, "Workers"),
    attestation(d.attestationRequired),
    workers,
    h("h2", {}, "Backlog: sealed, not accepted yet"),
    backlog,
    h("h2", {}, "Jobs"),
    jobsTable(d.jobs),
  ];
}

// ---- routing and live updates ----

function route() {
  const p = location.pathname;
  let m;
  if (p === "/") return () => overviewPage(true);
  if (p === "/jobs") return () => overviewPage(false);
  if ((m = /^\/jobs\/([^/]+)$/.exec(p))) return () => jobPage(decodeURIComponent(m[1]));
  if ((m = /^\/providers\/([^/]+)$/.exec(p))) return () => providerPage(decodeURIComponent(m[1]));
  return async () => errorBox(`no page at ${p}`);
}

const render = route();
redraw = () => {
  drawing = drawing.then(async () => {
    pendingCharts = [];
    let out;
    try {
      out = await render();
    } catch (err) {
      out = errorBox(err.message);
    }
    const { content, after } = out && out.content ? out : { content: out, after: undefined };
    for (const chart of charts.splice(0)) chart.destroy();
    main.replaceChildren(...[content].flat(Infinity).filter(Boolean));
    for (const draw of pendingCharts.splice(0)) draw();
    main.dataset.loaded = String(Number(main.dataset.loaded ?? 0) + 1);
    await after?.();
  });
  return drawing;
};
rawBox.addEventListener("change", () => {
  localStorage.setItem("meterproof.raw", rawBox.checked ? "1" : "0");
  redraw();
});

const events = new EventSource("/api/live");
events.addEventListener("change", (e) => {
  const v = JSON.parse(e.data || "{}");
  liveEl.textContent = v.error ? "live · chain not readable" : `live · block ${v.block}`;
  liveEl.className = v.error ? "down" : "up";
  redraw();
});
events.addEventListener("hello", (e) => {
  const v = JSON.parse(e.data || "{}");
  if (v.block !== undefined)
    liveEl.textContent = v.error ? "live · chain not readable" : `live · block ${v.block}`;
});
events.onerror = () => {
  liveEl.textContent = "reconnecting…";
  liveEl.className = "down";
};
redraw();
