import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import { formatTimestamp } from "../core/timestamp.js";
import { reconcile } from "../app/reconcile.js";
import type { PointReconcile } from "../flows/reconcile.js";
import { parseTimeRange, TimeRangeError } from "../flows/timerange.js";
import { EXIT, UsageError } from "./errors.js";

export interface ReconcileArgs {
  config: string;
  from?: string;
  to?: string;
  points: string[];
  json: boolean;
  repair: boolean;
  overwrite: boolean;
}

const ts = (ms: number | undefined) => (ms === undefined ? "-" : formatTimestamp(ms));

function table(rows: readonly PointReconcile[]): string {
  const head = ["point", "historian", "api", "matched", "missing", "different", "extra", "bad skipped", "first mismatch", "last mismatch"];
  const body = rows.map((r) => r.error
    ? [r.pointId, "", "", "", "", "", "", "", `ERROR: ${r.error}`, ""]
    : [r.pointId, r.historian, r.api, r.matched, r.missing, r.different, r.extra, r.badSkipped, ts(r.firstMismatch), ts(r.lastMismatch)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells: readonly unknown[]) => cells.map((c, i) => String(c).padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...body.map(line)].join("\n");
}

/** `opcua-ingest reconcile`: exit 0 when the API holds exactly what the historian holds, 1 otherwise. */
export async function reconcileCommand(a: ReconcileArgs, log: Logger): Promise<number> {
  if (a.overwrite && !a.repair) throw new UsageError("--overwrite only goes with --repair (it sends the different values with overwrite=true)");
  let range;
  try {
    range = parseTimeRange(a.from, a.to, Date.now());
  } catch (err) {
    if (err instanceof TimeRangeError) throw new UsageError(err.message);
    throw err;
  }
  const mapping = loadMapping(a.config);
  const unknown = a.points.filter((id) => !mapping.points.some((p) => p.pointId === id));
  if (unknown.length) throw new UsageError(`--point ${unknown.join(", ")}: not in ${a.config}`);
  const points = a.points.length ? mapping.points.filter((p) => a.points.includes(p.pointId)) : mapping.points;
  const tty = process.stderr.isTTY && !a.json;
  const span = range.to.ms - range.from.ms;
  const result = await reconcile({
    mapping, points, fromMs: range.from.ms, toMs: range.to.ms, repair: a.repair, overwrite: a.overwrite, log,
    onProgress: tty ? (id, done) => process.stderr.write(`\r${id}: ${Math.round(((done - range.from.ms) / span) * 100)}%   `) : undefined,
  });
  if (tty) process.stderr.write("\r\x1b[K");
  // Extra values (in the API, not in the historian: e.g. beyond its retention) are reported, but
  // no repair can remove them, so alone they do not fail the check.
  const differs = result.points.filter((p) => p.error || p.missing || p.different);
  const totals = result.points.reduce((t, p) => ({ matched: t.matched + p.matched, missing: t.missing + p.missing, different: t.different + p.different, extra: t.extra + p.extra, repaired: t.repaired + p.repaired }), { matched: 0, missing: 0, different: 0, extra: 0, repaired: 0 });
  const rate = Math.round(result.compared / Math.max(0.001, result.elapsedMs / 1000));
  if (a.json) {
    console.log(JSON.stringify({ from: ts(range.from.ms), to: ts(range.to.ms), ok: differs.length === 0, totals, valuesPerSecond: rate, points: result.points }, null, 2));
  } else {
    console.log(table(result.points));
    console.log(
      `${differs.length === 0 ? "OK" : "DIFFERENCES"}: ${result.points.length} point(s), [${ts(range.from.ms)}, ${ts(range.to.ms)}): matched ${totals.matched}, missing ${totals.missing}, different ${totals.different}, extra ${totals.extra}` +
        (a.repair ? `; repaired ${totals.repaired}${result.left ? ` (${result.left} left for the next --repair)` : ""}` : "") +
        `; ${result.compared} values compared at ${rate}/s`,
    );
    if (!a.repair && (totals.missing || totals.different)) console.log(`Repair with --repair${totals.different ? " --overwrite (to replace the different values)" : ""}.`);
  }
  return differs.length === 0 ? EXIT.ok : EXIT.failure;
}
