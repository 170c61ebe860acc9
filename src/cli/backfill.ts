import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import { createLogger } from "../ops/logger.js";
import type { PointConfig } from "../config/types.js";
import { formatDuration, progressLine, rates, summaryTable, type ProgressSnapshot } from "../flows/backfill-report.js";
import { parseTimeRange, TimeRangeError } from "../flows/timerange.js";
import { defineCommand, lockState, TIME_HELP } from "./command.js";
import { EXIT, UsageError } from "./errors.js";
import { abortOnTermination } from "./signals.js";

export const backfillSpec = defineCommand({
  name: "backfill",
  synopsis: "--config FILE --from TIME --to TIME [--point ID]... [--overwrite] [--dry-run]",
  summary: "historian backfill of [from, to); resumable",
  description: `Reads the raw history (HistoryRead, no bounding values) of the mapped points over [from, to) and
sends it to the API like live values: same conversion, one value per millisecond, same sender and
retries (its own state/backfill.db, apart from the live spool). Windows of backfill.window per
request, backfill.valuesPerRead values per call with continuation points, backfill.concurrency
points at once.

Resumable: stopped by Ctrl-C (or a crash, or kill -9), the same command continues after the last
window whose values the API acknowledged (the others are read again; values it already has come
back as conflicts); relative times keep the values of the first run. A different range, window or
point selection is a new job. One writer per state folder: while run, another backfill, reconcile
--repair or deadletter retry|purge holds it, backfill exits 1 naming that process (--dry-run writes
nothing and takes no lock). Prints a table per point (read, sent, conflicts, Bad skipped, skipped,
errors). Progress on stderr: a bar on a terminal, else a log line every 5 s.
Exit 0 when every point is done and sent; 1 when a point failed (each named with its reason), the
run was stopped or the state folder is in use; 2 for bad flags, times or mapping.`,
  flags: {
    config: { type: "string", short: "c", arg: "FILE", help: "the mapping YAML" },
    from: { type: "string", arg: "TIME", help: `start, included: ${TIME_HELP}` },
    to: { type: "string", arg: "TIME", help: "end, excluded" },
    point: { type: "string", multiple: true, arg: "ID", help: "only this pointId (repeatable); default every point of the mapping" },
    overwrite: { type: "boolean", help: "send overwrite=true: replace values the API already has for a millisecond" },
    "dry-run": { type: "boolean", help: "read and count only: nothing is sent, nothing written to state" },
  },
  run: (a) =>
    backfillCommand(
      { config: a.required("config", "the mapping YAML"), from: a.string("from"), to: a.string("to"), points: a.list("point"), overwrite: a.boolean("overwrite"), dryRun: a.boolean("dry-run") },
      a.logger(process.stderr),
    ),
});

export interface BackfillArgs {
  config: string;
  from: string | undefined;
  to: string | undefined;
  /** --point, repeatable; none = every point of the mapping. */
  points: readonly string[];
  overwrite: boolean;
  dryRun: boolean;
}

/** The points to backfill, in mapping order; an unknown --point is a usage error that lists what exists. */
export function selectPoints(all: readonly PointConfig[], wanted: readonly string[], file: string): PointConfig[] {
  if (wanted.length === 0) return [...all];
  const known = new Set(all.map((p) => p.pointId));
  const unknown = [...new Set(wanted)].filter((id) => !known.has(id));
  if (unknown.length) {
    const sample = all.slice(0, 5).map((p) => p.pointId).join(", ");
    throw new UsageError(`--point ${unknown.join(", ")}: not a pointId of ${file} (it has ${all.length} points, e.g. ${sample}${all.length > 5 ? ", ..." : ""})`);
  }
  const set = new Set(wanted);
  return all.filter((p) => set.has(p.pointId));
}

/** 3600000 → "1h", 90000 → "90s". */
function durationText(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * Progress on stderr: a redrawn bar on a terminal (log lines are written above it, the bar stays
 * last), a JSON log line every few seconds otherwise.
 */
function progressReporter(base: Logger): { log: Logger; onProgress: (s: ProgressSnapshot) => void; everyMs: number; end(): void } {
  if (process.stderr.isTTY) {
    let bar = "";
    const log = createLogger(base.level, { write: (line: string) => void process.stderr.write(bar ? `\r\x1b[K${line}${bar}` : line) });
    return {
      log,
      everyMs: 250,
      onProgress: (s) => {
        if (s.valuesRead === 0 && s.windowsDone === s.windowsAtStart && s.phase === "reading") return; // still connecting
        bar = progressLine(s, Math.max(10, Math.min(30, (process.stderr.columns ?? 80) - 70)));
        process.stderr.write(`\r\x1b[K${bar}`);
      },
      end: () => {
        if (bar) process.stderr.write("\n");
        bar = "";
      },
    };
  }
  return {
    log: base,
    everyMs: 5_000,
    onProgress: (s) => {
      const r = rates(s);
      base.info(
        {
          event: "backfill_progress", phase: s.phase, windowsDone: s.windowsDone, windowsTotal: s.windowsTotal, percent: Math.floor(r.fraction * 100),
          valuesRead: s.valuesRead, valuesPerS: Math.round(r.valuesPerS), valuesSent: s.valuesSent, spooled: s.spooled,
          ...(r.etaS !== undefined && { etaS: Math.round(r.etaS) }),
        },
        "backfill progress",
      );
    },
    end: () => {},
  };
}

/**
 * `opcua-ingest backfill`: the historian's raw values of the selected points over [from, to) into the
 * API, resumable. Summary table on stdout, logs and progress on stderr. Exit 0 when every point is
 * done and sent; 1 when a point failed or the run was stopped (run the same command to resume); 2 for
 * bad flags or mapping.
 */
export async function backfillCommand(args: BackfillArgs, baseLog: Logger): Promise<number> {
  let range;
  try {
    range = parseTimeRange(args.from, args.to, Date.now());
  } catch (err) {
    if (err instanceof TimeRangeError) throw new UsageError(err.message);
    throw err;
  }
  const mapping = loadMapping(args.config);
  const points = selectPoints(mapping.points, args.points, args.config);
  const overwrite = args.overwrite || mapping.ingest.overwrite;

  // One writer per state folder; a dry run writes nothing there.
  const unlock = args.dryRun ? () => {} : lockState(mapping.state, baseLog).release;
  const progress = progressReporter(baseLog);
  const log = progress.log;
  // node-opcua loads only now: usage errors above answer at once.
  const [{ backfill }, { routeOpcuaLogs }] = await Promise.all([import("../app/backfill.js"), import("../opcua/logging.js")]);
  routeOpcuaLogs(log);
  const stop = abortOnTermination(
    log,
    "no new history reads; sending what was read for up to 10 s",
    "the windows whose values the API has not acknowledged are read again by the next run",
  );
  let result;
  try {
    result = await backfill({
      mapping, points, range, overwrite, dryRun: args.dryRun, log, signal: stop,
      onProgress: progress.onProgress, progressEveryMs: progress.everyMs,
    });
  } finally {
    progress.end();
    unlock();
  }

  const { job } = result;
  const failed = result.points.filter((p) => p.status === "failed");
  const head =
    `backfill ${new Date(job.fromMs).toISOString()} .. ${new Date(job.toMs).toISOString()} (to exclusive), ` +
    `${points.length} point${points.length === 1 ? "" : "s"}, ${job.windows} window${job.windows === 1 ? "" : "s"} of ${durationText(job.windowMs)}${args.dryRun ? ", dry run: nothing sent" : ""}` +
    (job.resumed ? `, resumed with ${job.windowsAtStart} point-windows already done` : "");
  process.stdout.write(`${head}\n${summaryTable(result.points, args.dryRun)}\n`);
  const read = result.points.reduce((n, p) => n + p.read, 0);
  const took = `${formatDuration(result.elapsedMs / 1000)} (${Math.round(result.valuesPerS)} values/s read)`;
  if (result.interrupted) {
    process.stdout.write(
      `backfill interrupted after ${took}: ${result.leftInSpool} values not yet acknowledged by the API; ` +
        `run the same command to resume (windows whose values the API acknowledged are not read again)\n`,
    );
    return EXIT.failure;
  }
  if (failed.length) {
    process.stdout.write(`backfill finished with ${failed.length} of ${points.length} points failed, in ${took}; fix them and run the same command again to retry only what is missing\n`);
    return EXIT.failure;
  }
  process.stdout.write(`backfill complete: ${read} values read in ${took}${args.dryRun ? "" : ", everything sent"}\n`);
  return EXIT.ok;
}
