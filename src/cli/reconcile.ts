import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import type { Mapping, PointConfig } from "../config/types.js";
import { formatTimestamp } from "../core/timestamp.js";
import type { PointReconcile } from "../flows/reconcile.js";
import { parseTimeRange, TimeRangeError, type TimeRange } from "../flows/timerange.js";
import { defineCommand, lockState, TIME_HELP } from "./command.js";
import { EXIT, UsageError } from "./errors.js";
import { abortOnTermination } from "./signals.js";

export const reconcileSpec = defineCommand({
  name: "reconcile",
  quietLog: true,
  synopsis: "--config FILE --from TIME --to TIME [--point ID]... [--json] [--repair [--overwrite]]",
  summary: "compare the API with the historian; repair what is missing",
  description: `Reads each point's raw history and its stored values in the API over [from, to), window by window,
and compares them millisecond by millisecond after live mode's conversion: values missing in the
API, values that differ, values in the API the historian does not have (extra), Bad values skipped.
--repair sends the missing values through the spool and sender (state/reconcile.db); with
--overwrite also the different ones (overwrite=true). --json prints the report for scripts.
--repair writes the state folder: one writer per state folder, so while run, backfill or another
repair holds it, reconcile --repair exits 1 naming that process (without --repair it only reads).
SIGINT/SIGTERM stops after the window being compared: the report covers what was compared, and a
repair sends what it queued for up to 10 s (the rest waits in state/reconcile.db); a second signal
exits at once.
Exit 0 when nothing is missing or different (extras are reported: the API cannot delete them), 1
when something is (or a point could not be read, the comparison was stopped, or the state folder is
in use), 2 for bad usage.`,
  flags: {
    config: { type: "string", short: "c", arg: "FILE", help: "the mapping YAML" },
    from: { type: "string", arg: "TIME", help: `start, included: ${TIME_HELP}` },
    to: { type: "string", arg: "TIME", help: "end, excluded" },
    point: { type: "string", multiple: true, arg: "ID", help: "only this pointId (repeatable); default every point of the mapping" },
    json: { type: "boolean", help: "print the report as JSON on stdout" },
    repair: { type: "boolean", help: "send the missing values (state/reconcile.db)" },
    overwrite: { type: "boolean", help: "with --repair: also the different ones, with overwrite=true" },
  },
  run: (a) =>
    reconcileCommand(
      { config: a.required("config", "the mapping YAML"), from: a.string("from"), to: a.string("to"), points: a.list("point"), json: a.boolean("json"), repair: a.boolean("repair"), overwrite: a.boolean("overwrite") },
      a.logger(process.stderr),
    ),
});

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

export function reconcileTable(rows: readonly PointReconcile[]): string {
  const head = ["point", "historian", "api", "matched", "missing", "different", "extra", "bad skipped", "first mismatch", "last mismatch"];
  // A point that could not be compared has its reason after its id, across the columns: a long
  // reason must not widen them for every other row. Such a row has only its id as a cell.
  const body = rows.map((r) => (r.error ? [r.pointId] : [r.pointId, r.historian, r.api, r.matched, r.missing, r.different, r.extra, r.badSkipped, ts(r.firstMismatch), ts(r.lastMismatch)].map(String)));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  const line = (c: readonly string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map((r, j) => (r.error ? `${r.pointId.padEnd(widths[0]!)}  ERROR: ${r.error}` : line(body[j]!)))].join("\n");
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
  // Only a repair writes the state folder (state/reconcile.db): one writer per state folder.
  const lock = a.repair ? lockState(mapping.state, log) : undefined;
  try {
    return await runCheck(a, mapping, points, range, log);
  } finally {
    lock?.release();
  }
}

async function runCheck(a: ReconcileArgs, mapping: Mapping, points: PointConfig[], range: TimeRange, log: Logger): Promise<number> {
  // node-opcua loads only now: usage errors and a state folder in use answer at once.
  const { reconcile } = await import("../app/reconcile.js");
  const tty = process.stderr.isTTY && !a.json;
  const span = range.to.ms - range.from.ms;
  const stop = abortOnTermination(log, "after the window being compared", a.repair ? "what was queued for repair waits in state/reconcile.db for the next --repair" : "nothing was written");
  const result = await reconcile({
    mapping, points, fromMs: range.from.ms, toMs: range.to.ms, repair: a.repair, overwrite: a.overwrite, log, signal: stop,
    onProgress: tty ? (id, done) => process.stderr.write(`\r${id}: ${Math.round(((done - range.from.ms) / span) * 100)}%   `) : undefined,
  });
  if (tty) process.stderr.write("\r\x1b[K");
  // Extra values (in the API, not in the historian: e.g. beyond its retention) are reported, but
  // no repair can remove them, so alone they do not fail the check.
  const differs = result.points.filter((p) => p.error || p.missing || p.different);
  const totals = result.points.reduce((t, p) => ({ matched: t.matched + p.matched, missing: t.missing + p.missing, different: t.different + p.different, extra: t.extra + p.extra, repaired: t.repaired + p.repaired }), { matched: 0, missing: 0, different: 0, extra: 0, repaired: 0 });
  const rate = Math.round(result.compared / Math.max(0.001, result.elapsedMs / 1000));
  const stopped = result.stoppedAt;
  const ok = differs.length === 0 && !stopped;
  if (a.json) {
    const interrupted = stopped && { stoppedAt: { pointId: stopped.pointId, time: ts(stopped.ms) }, pointsNotCompared: points.length - result.points.length };
    console.log(JSON.stringify({ from: ts(range.from.ms), to: ts(range.to.ms), ok, ...(interrupted && { interrupted }), totals, valuesPerSecond: rate, points: result.points }, null, 2));
  } else {
    console.log(reconcileTable(result.points));
    if (stopped) {
      console.log(
        `INTERRUPTED: stopped at ${stopped.pointId} ${ts(stopped.ms)}; ${points.length - result.points.length} of ${points.length} point(s) not compared at all. ` +
          `The counts below cover only what was compared; run the same command again for the whole range.`,
      );
    }
    console.log(
      `${stopped ? "SO FAR" : differs.length === 0 ? "OK" : "DIFFERENCES"}: ${result.points.length} point(s), [${ts(range.from.ms)}, ${ts(range.to.ms)}): matched ${totals.matched}, missing ${totals.missing}, different ${totals.different}, extra ${totals.extra}` +
        (a.repair ? `; repaired ${totals.repaired}${result.left ? ` (${result.left} left for the next --repair)` : ""}` : "") +
        `; ${result.compared} values compared at ${rate}/s`,
    );
    if (!a.repair && (totals.missing || totals.different)) console.log(`Repair with --repair${totals.different ? " --overwrite (to replace the different values)" : ""}.`);
  }
  return ok ? EXIT.ok : EXIT.failure;
}
