// What a backfill tells its user: the per-point summary table and the progress line. Pure text.

export type PointStatus = "ok" | "failed" | "interrupted";

export interface PointReport {
  pointId: string;
  nodeId: string;
  /** Line of the point in the mapping file. */
  line: number;
  /** Values the historian returned inside [from, to) in this run. */
  read: number;
  /** Values the API stored (accepted, not conflicts) in this run. */
  sent: number;
  /** Values the API already had for their millisecond (202). */
  conflicts: number;
  /** Values with Bad status, dropped (`bad: drop`). */
  badSkipped: number;
  /** Other values not sent: no timestamp, same millisecond, outside the range by the chosen timestamp, not convertible. */
  skipped: number;
  /** Failed history reads (retried ones included) and values the API refused for good. */
  errors: number;
  windowsDone: number;
  windowsTotal: number;
  status: PointStatus;
  /** Why the point failed. */
  reason?: string;
}

function table(rows: string[][], rightAligned: readonly boolean[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd()).join("\n");
}

/** The summary printed at the end: one row per point, a total, then the reason of each failure. */
export function summaryTable(points: readonly PointReport[], dryRun: boolean): string {
  const header = dryRun
    ? ["POINT ID", "READ", "WOULD SEND", "BAD SKIPPED", "SKIPPED", "ERRORS", "RESULT"]
    : ["POINT ID", "READ", "SENT", "CONFLICTS", "BAD SKIPPED", "SKIPPED", "ERRORS", "RESULT"];
  const row = (p: Omit<PointReport, "nodeId" | "line" | "windowsDone" | "windowsTotal" | "status"> & { result: string }) =>
    dryRun
      ? [p.pointId, String(p.read), String(p.sent), String(p.badSkipped), String(p.skipped), String(p.errors), p.result]
      : [p.pointId, String(p.read), String(p.sent), String(p.conflicts), String(p.badSkipped), String(p.skipped), String(p.errors), p.result];
  const result = (p: PointReport) => (p.status === "interrupted" ? `interrupted (${p.windowsDone}/${p.windowsTotal} windows)` : p.status);
  const total = points.reduce(
    (t, p) => ({ read: t.read + p.read, sent: t.sent + p.sent, conflicts: t.conflicts + p.conflicts, badSkipped: t.badSkipped + p.badSkipped, skipped: t.skipped + p.skipped, errors: t.errors + p.errors }),
    { read: 0, sent: 0, conflicts: 0, badSkipped: 0, skipped: 0, errors: 0 },
  );
  const failed = points.filter((p) => p.status === "failed").length;
  const rows = [header, ...points.map((p) => row({ ...p, result: result(p) })), row({ pointId: "TOTAL", ...total, result: failed ? `${failed} failed` : "" })];
  const right = header.map((_, c) => c > 0 && c < header.length - 1);
  let out = table(rows, right);
  for (const p of points) {
    if (p.status === "failed") out += `\nFAILED ${p.pointId} (node ${p.nodeId}, mapping line ${p.line}): ${p.reason ?? "unknown error"}`;
  }
  return out;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export interface ProgressSnapshot {
  /** Point-windows done (checkpoints of earlier runs included) and in total. */
  windowsDone: number;
  windowsTotal: number;
  /** Point-windows done before this run started (resumed from the checkpoints). */
  windowsAtStart: number;
  valuesRead: number;
  valuesSent: number;
  /** Values waiting in the spool for the API. */
  spooled: number;
  elapsedMs: number;
  /** "reading", or "sending" once every window is read and the spool drains. */
  phase: "reading" | "sending";
}

/** values/s of reading, and the time left by the windows still to read at this run's pace. */
export function rates(s: ProgressSnapshot): { valuesPerS: number; etaS: number | undefined; fraction: number } {
  const seconds = s.elapsedMs / 1000;
  const valuesPerS = seconds > 0 ? s.valuesRead / seconds : 0;
  const doneNow = s.windowsDone - s.windowsAtStart;
  const left = s.windowsTotal - s.windowsDone;
  const etaS = left === 0 ? 0 : doneNow > 0 && seconds > 0 ? (left * seconds) / doneNow : undefined;
  const fraction = s.windowsTotal > 0 ? s.windowsDone / s.windowsTotal : 1;
  return { valuesPerS, etaS, fraction };
}

/** One line for a terminal: `[#####-----]  45% 135000 read 62100/s  120000 sent  ETA 0:03`. */
export function progressLine(s: ProgressSnapshot, width = 24): string {
  const { valuesPerS, etaS, fraction } = rates(s);
  const filled = Math.max(0, Math.min(width, Math.floor(fraction * width)));
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  if (s.phase === "sending") return `${bar} ${pct} read ${s.valuesRead}, sending: ${s.spooled} left, ${s.valuesSent} sent`;
  return `${bar} ${pct} ${s.valuesRead} read ${Math.round(valuesPerS)}/s  ${s.valuesSent} sent  ETA ${etaS === undefined ? "--:--" : formatDuration(etaS)}`;
}
