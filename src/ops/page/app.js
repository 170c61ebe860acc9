// opcua-ingest status page: plain JavaScript, no framework, no network beyond this listener.
// Polls /api/status and /api/points at most once a second while the tab is visible.
"use strict";

(() => {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const nf = new Intl.NumberFormat();
  const view = { filter: "", sort: "pointId", page: 1, pageSize: 50, pages: 1 };
  /** Rate samples, oldest first, and the window they cover. */
  const chart = { samples: [], windowMs: 15 * 60_000, lastT: 0, now: Date.now() };
  let timer;
  let pointsSeq = 0;
  let polling = false;

  // ---------- formatting ----------
  const num = (n) => (n === null || n === undefined ? "–" : nf.format(n));
  const rate = (n) => (n >= 100 ? nf.format(Math.round(n)) : n.toFixed(1));
  function age(ms) {
    if (ms === null || ms === undefined) return "–";
    const s = ms / 1000;
    if (s < 10) return `${s.toFixed(1)} s`;
    if (s < 60) return `${Math.round(s)} s`;
    const m = s / 60;
    if (m < 60) return `${Math.floor(m)} min ${Math.round(s % 60)} s`;
    const h = m / 60;
    if (h < 48) return `${Math.floor(h)} h ${Math.round(m % 60)} min`;
    return `${Math.floor(h / 24)} d ${Math.round(h % 24)} h`;
  }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
  }
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  function clock(ms) {
    if (ms === null || ms === undefined) return "–";
    const d = new Date(ms);
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
    return d.toDateString() === new Date().toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
  }
  const ago = (ms, now) => (ms === null || ms === undefined ? "never" : `${clock(ms)} (${age(now - ms)} ago)`);

  function setState(el, text, kind) {
    el.textContent = text;
    el.className = `state ${kind}`;
  }

  // ---------- fetching ----------
  class HttpError extends Error {
    constructor(status) { super(`HTTP ${status}`); this.status = status; }
  }
  async function getJson(path) {
    const res = await fetch(path, { headers: { accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
    if (!res.ok) throw new HttpError(res.status);
    return res.json();
  }

  function banner(text) {
    const b = $("banner");
    b.hidden = !text;
    b.textContent = text || "";
  }

  async function poll() {
    clearTimeout(timer);
    if (polling) return;
    polling = true;
    const started = performance.now();
    try {
      await Promise.all([loadStatus(), loadPoints()]);
      banner("");
      $("live-dot").className = "dot on";
    } catch (err) {
      $("live-dot").className = "dot off";
      if (err instanceof HttpError && err.status === 401) {
        banner("This connector requires its ops token. Open /?token=YOUR_OPS_TOKEN once: it sets a cookie for this browser session.");
      } else {
        banner(`No answer from the connector (${err.message}); retrying.`);
      }
      $("updated").textContent = `not updated since ${$("updated").dataset.at || "start"}`;
    } finally {
      polling = false;
      if (!document.hidden) timer = setTimeout(poll, Math.max(0, POLL_MS - (performance.now() - started)));
    }
  }

  // ---------- status ----------
  async function loadStatus() {
    const s = await getJson(`/api/status?since=${chart.lastT}`);
    const now = s.now;

    const o = s.opcua;
    setState($("session-state"), o.state, o.connected ? "ok" : "bad");
    // One source: its endpoint; several: each with its state (the overall state is connected only when all are).
    $("session-endpoint").textContent = o.sources.length > 1 ? o.sources.map((x) => `${x.name} ${x.state} ${x.endpoint}`).join(" · ") : o.endpoint;
    const gap = o.lastGap ? ` · last gap ${clock(o.lastGap.from)} – ${clock(o.lastGap.to)}` : "";
    $("session-extra").textContent = `${num(o.reconnects)} reconnect(s)${gap}`;

    const a = s.api;
    if (!a.up) setState($("api-state"), "down, retrying", "bad");
    else if (a.lastSuccess === null && a.requests === 0) setState($("api-state"), "no request yet", "warn");
    else setState($("api-state"), "up", "ok");
    $("api-url").textContent = a.url;
    $("api-success").textContent = ago(a.lastSuccess, now);
    const e = $("api-error");
    e.textContent = a.lastError ? `${ago(a.lastError.at, now)}: ${a.lastError.reason}` : "none";
    e.className = a.lastError && !a.up ? "err" : "";

    const sp = s.spool;
    $("spool-rows").textContent = num(sp.rows);
    $("spool-bytes").textContent = `${bytes(sp.bytes)} of ${bytes(sp.maxBytes)}`;
    const fill = sp.maxBytes > 0 ? Math.min(100, (100 * sp.bytes) / sp.maxBytes) : 0;
    $("spool-meter").style.width = `${fill}%`;
    $("spool-meter").className = fill >= 90 ? "full" : "";
    const oldest = $("spool-oldest");
    oldest.textContent = sp.oldestAgeMs === null ? "nothing unsent" : age(sp.oldestAgeMs);
    oldest.className = sp.oldestAgeMs !== null && sp.oldestAgeMs > 60_000 ? "warn-text" : "";

    const d = s.deadLetters;
    $("dead-count").textContent = num(d.count);
    $("dead-count").className = d.count > 0 ? "err" : "";
    const list = $("dead-list");
    list.replaceChildren(...d.latest.map((l) => {
      const li = document.createElement("li");
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = `${clock(l.at)} · `;
      const what = document.createElement("span");
      what.textContent = `${l.pointId}: ${l.status ? `HTTP ${l.status}` : "gave up"}, ${num(l.values)} value(s): ${l.detail}`;
      li.append(when, what);
      return li;
    }));

    $("rate-read").textContent = rate(s.rates.read);
    $("rate-sent").textContent = rate(s.rates.sent);
    const t = s.totals;
    $("totals").textContent = `total read ${num(t.received)} · sent ${num(t.sent)} · conflicts ${num(t.conflicts)} · dropped ${num(t.dropped)}`;

    chart.windowMs = s.rates.windowMs;
    chart.now = now;
    if (s.history.length) {
      chart.samples.push(...s.history);
      chart.lastT = s.history[s.history.length - 1].t;
    }
    const cut = now - chart.windowMs;
    while (chart.samples.length && chart.samples[0].t < cut) chart.samples.shift();
    drawChart();

    $("points-summary").textContent = `${num(s.points.mapped)} mapped${s.points.failed ? `, ${num(s.points.failed)} refused by the server` : ""}`;
    const at = new Date(now).toLocaleTimeString();
    $("updated").dataset.at = at;
    $("updated").textContent = `updated ${at}`;
  }

  // ---------- points ----------
  function cell(text, cls, label, title) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    td.dataset.label = label;
    if (title) td.title = title;
    return td;
  }

  async function loadPoints() {
    const seq = ++pointsSeq;
    const q = new URLSearchParams({ filter: view.filter, sort: view.sort, page: String(view.page), pageSize: String(view.pageSize) });
    const p = await getJson(`/api/points?${q}`);
    if (seq !== pointsSeq) return; // a newer request (typing, paging) answers instead
    view.page = p.page;
    view.pages = p.pages;
    const rows = p.rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.point = r.pointId;
      const status = document.createElement("span");
      status.className = `tag ${r.status}`;
      status.textContent = r.status === "failed" ? "refused" : r.status === "waiting" ? "no value yet" : "ok";
      const st = cell("", "status", "Status", r.reason);
      st.append(status);
      tr.append(
        cell(r.pointId, "id", "Point id"),
        cell(r.nodeId, "node", "Node id", r.nodeId),
        cell(r.value ?? "–", "value", "Last value", r.value),
        cell(clock(r.ts), "ts", "Source time", r.ts === undefined ? undefined : new Date(r.ts).toISOString()),
        cell(age(r.ageMs), `num age${r.ageMs !== undefined && r.ageMs > 60_000 ? " age-old" : ""}`, "Age"),
        cell(num(r.sent), "num sent", "Sent"),
        cell(num(r.conflicts), "num", "Conflicts"),
        cell(num(r.dropped), "num", "Dropped"),
        st,
      );
      return tr;
    });
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = cell(p.filter ? `No point matches “${p.filter}”.` : "No points.", "empty", "");
      td.colSpan = 9;
      tr.append(td);
      rows.push(tr);
    }
    document.querySelector("#points tbody").replaceChildren(...rows);
    const from = p.total === 0 ? 0 : (p.page - 1) * p.pageSize + 1;
    const to = Math.min(p.total, p.page * p.pageSize);
    const of = p.filter ? `${num(p.total)} matching (of ${num(p.mapped)})` : num(p.total);
    $("page-info").textContent = `${num(from)}–${num(to)} of ${of} · page ${num(p.page)}/${num(p.pages)}`;
    $("prev").disabled = p.page <= 1;
    $("next").disabled = p.page >= p.pages;
  }

  /** A user action: fetch the points now (the status keeps its once-a-second rhythm). */
  function refreshPoints() {
    loadPoints().catch(() => {});
  }

  // ---------- chart (canvas) ----------
  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawChart() {
    const canvas = $("chart");
    const box = canvas.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(box.width * dpr);
    const h = Math.round(box.height * dpr);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, box.width, box.height);
    const left = 48, right = 10, top = 8, bottom = 22;
    const pw = box.width - left - right;
    const ph = box.height - top - bottom;
    const samples = chart.samples;
    const end = chart.now;
    // The last 15 minutes; until the connector has run that long, the time it has run (at least 1 min).
    const span = Math.min(chart.windowMs, Math.max(60_000, samples.length ? end - samples[0].t : 0));
    const start = end - span;
    $("chart-span").textContent = `last ${Math.max(1, Math.round(span / 60_000))} min`;
    let max = 0;
    for (const s of samples) max = Math.max(max, s.read, s.sent);
    const ymax = niceMax(max * 1.1);
    const x = (t) => left + ((t - start) / span) * pw;
    const y = (v) => top + ph - (v / ymax) * ph;

    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = color("--muted");
    ctx.strokeStyle = color("--line");
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(left + pw, yy); ctx.stroke();
      ctx.fillText(v >= 1000 ? `${v / 1000}k` : String(Math.round(v * 100) / 100), left - 6, yy);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const ticks = Math.max(2, Math.min(6, Math.floor(pw / 70)));
    const step = [10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3].find((s) => span / s <= ticks) ?? 900e3;
    for (let back = 0; back <= span + 1; back += step) {
      const label = back === 0 ? "now" : back < 60e3 ? `−${back / 1000} s` : `−${back / 60e3} min`;
      ctx.fillText(label, Math.min(Math.max(x(end - back), left + 16), left + pw - 12), top + ph + 6);
    }
    if (samples.length === 0) {
      ctx.textBaseline = "middle";
      ctx.fillText("collecting… (a sample every few seconds)", left + pw / 2, top + ph / 2);
      return;
    }
    const line = (key, col) => {
      ctx.strokeStyle = col;
      ctx.lineWidth = 2;
      ctx.lineJoin = "round";
      ctx.beginPath();
      samples.forEach((s, i) => (i === 0 ? ctx.moveTo(x(s.t), y(s[key])) : ctx.lineTo(x(s.t), y(s[key]))));
      ctx.stroke();
      if (samples.length === 1) { ctx.fillStyle = col; ctx.fillRect(x(samples[0].t) - 2, y(samples[0][key]) - 2, 4, 4); }
    };
    line("read", color("--read"));
    line("sent", color("--sent"));
  }

  // ---------- controls ----------
  let typing;
  $("search").addEventListener("input", (ev) => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      view.filter = ev.target.value.trim();
      view.page = 1;
      refreshPoints();
    }, 200);
  });
  $("sort").addEventListener("change", (ev) => { view.sort = ev.target.value; view.page = 1; refreshPoints(); });
  $("page-size").addEventListener("change", (ev) => { view.pageSize = Number(ev.target.value); view.page = 1; refreshPoints(); });
  $("prev").addEventListener("click", () => { if (view.page > 1) { view.page--; refreshPoints(); } });
  $("next").addEventListener("click", () => { if (view.page < view.pages) { view.page++; refreshPoints(); } });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); else clearTimeout(timer); });
  if (typeof ResizeObserver === "function") new ResizeObserver(() => drawChart()).observe($("chart"));

  poll();
})();
