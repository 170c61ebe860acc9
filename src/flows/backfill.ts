import type { Logger } from "pino";
import type { Mapping, PointConfig, PointSettings } from "../config/types.js";
import type { HistoryOutcome } from "../opcua/history.js";
import { historyPoint, HistorySet } from "../opcua/history-set.js";
import type { Checkpoints } from "../spool/checkpoints.js";
import { jobKey, SameMsMerger, windowBounds, windowCount, WindowPlanner, type Unit } from "./backfill-plan.js";
import type { PointReport, ProgressSnapshot } from "./backfill-report.js";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import { convertTo, historySettings, newSampleOut } from "../transform/convert.js";
import type { DeliveryEngine, SpoolPoint } from "../delivery/engine.js";
import { Stats } from "../delivery/stats.js";
import type { TimeRange } from "./timerange.js";
import type { RawDataValue } from "../core/types.js";

/** Values in flight from the historian at once (pages of all points being read), bounding memory. */
const MAX_VALUES_IN_FLIGHT = 200_000;
/** Attempts of one window of one point after transient failures: 1, 2, 4, 8, 16, 30, 30 s apart (about 90 s). */
const MAX_ATTEMPTS = 8;

export interface BackfillOptions {
  mapping: Mapping;
  /** The selected points, in mapping order. */
  points: readonly PointConfig[];
  range: TimeRange;
  overwrite: boolean;
  dryRun: boolean;
  /** Where the values go (state/backfill.db); none on a dry run. */
  engine?: DeliveryEngine | undefined;
  /** Named in the summary of values refused for good. */
  spoolFile?: string;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: stop reading, drain for `drainOnStopMs`, keep the checkpoints of what the API has. */
  signal: AbortSignal;
  /** Default 10 s. */
  drainOnStopMs?: number;
  /** Called every `progressEveryMs` (default 1 s) and once at the end of each phase. */
  onProgress?: (s: ProgressSnapshot) => void;
  progressEveryMs?: number;
  clock?: Clock;
}

export interface BackfillResult {
  job: { key: string; fromMs: number; toMs: number; windowMs: number; windows: number; resumed: boolean; windowsAtStart: number };
  points: PointReport[];
  /** Stopped by the signal before the end. */
  interrupted: boolean;
  /**
   * Values read and not settled by the API at the end: with the backfill's spool (values held in
   * memory) their windows are read again by the next run; with a stored spool, it sends them.
   */
  leftInSpool: number;
  /** Values the API refused for good in this run (kept in the backfill spool's dead letters). */
  deadLetters: number;
  /** Rate of reading this run, values/s. */
  valuesPerS: number;
  elapsedMs: number;
}

/** A selected point during the run: its settings, counters and same-ms merge. */
interface PointRun {
  config: PointConfig;
  /** The point's settings for history: `timestamp: received` means nothing for old values → source. */
  settings: PointSettings;
  enumLabels?: string[];
  merger: SameMsMerger;
  /** The point's queue in the engine's spool (none on a dry run). */
  queue: SpoolPoint | undefined;
  read: number;
  wouldSend: number;
  bad: number;
  skipped: number;
  errors: number;
  attempts: number;
  failed?: string;
}

/**
 * `opcua-ingest backfill`: the raw history of the selected points over [from, to), window by window,
 * through the live pipeline's conversion, the same-ms rule, the engine's spool (state/backfill.db) and
 * the sender. Per point, a window read whole is staged as a checkpoint, which the spool writes once the
 * window's values are safe (Checkpoints: settled by the API, when the spool holds them in memory only),
 * so an interrupted run (signal, crash, kill -9) resumes at the windows not yet safe.
 */
export function runBackfill(o: BackfillOptions): Promise<BackfillResult> {
  return new BackfillRun(o).run();
}

class BackfillRun {
  private readonly log: Logger;
  private readonly signal: AbortSignal;
  private readonly clock: Clock;
  private readonly cfg: Mapping["backfill"];
  private readonly started: number;
  private readonly key: string;
  private readonly runs = new Map<string, PointRun>();
  private readonly stats: Stats;
  private readonly engine: DeliveryEngine | undefined;
  private readonly checkpoints: Checkpoints | undefined;
  private readonly fromMs: number;
  private readonly toMs: number;
  private readonly windows: number;
  private readonly planner: WindowPlanner;
  private readonly resumed: boolean;
  private readonly windowsAtStart: number;
  private readonly retryTimers = new Set<Timer>();
  private progressTimer: Timer | undefined;
  private valuesRead = 0;
  /** Conversion's output, reused for every value; when the page being converted arrived. */
  private readonly out = newSampleOut();
  private pageArrived = 0;
  private phase: ProgressSnapshot["phase"] = "reading";
  private interrupted = false;

  constructor(private readonly o: BackfillOptions) {
    const { mapping } = o;
    this.log = o.log;
    this.signal = o.signal;
    this.clock = o.clock ?? systemClock;
    this.cfg = mapping.backfill;
    this.started = this.clock.now();
    this.key = jobKey({
      from: o.range.from.relative ? o.range.from.text : o.range.from.ms,
      to: o.range.to.relative ? o.range.to.text : o.range.to.ms,
      windowMs: this.cfg.windowMs,
      overwrite: o.overwrite,
      points: o.points.map((p) => [p.pointId, p.nodeId] as const),
    });
    let fromMs = o.range.from.ms;
    let toMs = o.range.to.ms;
    let resumed = false;
    let progress = new Map<string, number>();
    this.engine = o.dryRun ? undefined : o.engine;
    this.stats = this.engine?.stats ?? new Stats();
    if (this.engine) {
      const checkpoints = (this.checkpoints = this.engine.checkpoints(this.key));
      const params = {
        from: o.range.from.text, to: o.range.to.text, fromIso: new Date(fromMs).toISOString(), toIso: new Date(toMs).toISOString(),
        windowMs: this.cfg.windowMs, overwrite: o.overwrite, points: o.points.length,
      };
      const opened = checkpoints.open(fromMs, toMs, this.cfg.windowMs, params, this.started);
      resumed = opened.resumed;
      fromMs = opened.job.fromMs;
      toMs = opened.job.toMs;
      progress = checkpoints.progress();
    }
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.resumed = resumed;
    this.windows = windowCount(fromMs, toMs, this.cfg.windowMs);
    this.planner = new WindowPlanner(this.windows, o.points.map((p) => ({ id: p.pointId, doneBelow: progress.get(p.pointId) ?? 0 })));
    this.windowsAtStart = this.planner.progress.done;
    for (const config of o.points) {
      if (config.timestamp === "received") this.log.warn({ event: "received_timestamp_ignored", pointId: config.pointId }, "timestamp: received has no meaning for history; using the source timestamp");
      const settings = historySettings(config);
      const run: PointRun = {
        config, settings, queue: this.engine?.point(config.pointId), read: 0, wouldSend: 0, bad: 0, skipped: 0, errors: 0, attempts: 0,
        merger: new SameMsMerger(o.overwrite, (ts, value, quality) => this.emit(run, ts, value, quality)),
      };
      this.runs.set(config.pointId, run);
    }
    if (resumed) {
      this.log.info(
        { event: "backfill_resumed", job: this.key, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), windowsDone: this.windowsAtStart, windowsTotal: this.planner.progress.total, spooled: this.engine!.backlog },
        "resuming an interrupted backfill: windows already checkpointed are not read again",
      );
    }
  }

  private snapshot(): ProgressSnapshot {
    const p = this.planner.progress;
    return {
      windowsDone: p.done, windowsTotal: p.total, windowsAtStart: this.windowsAtStart, valuesRead: this.valuesRead,
      valuesSent: this.stats.sent + this.stats.conflicts, spooled: this.engine?.backlog ?? 0,
      elapsedMs: this.clock.now() - this.started, phase: this.phase,
    };
  }

  async run(): Promise<BackfillResult> {
    this.engine?.start();
    const onProgress = this.o.onProgress;
    if (onProgress) {
      const every = this.o.progressEveryMs ?? 1_000;
      const report = () => {
        onProgress(this.snapshot());
        this.progressTimer = this.clock.setTimeout(report, every);
      };
      this.progressTimer = this.clock.setTimeout(report, every);
    }
    try {
      if (this.planner.complete) {
        // Every window was checkpointed by an earlier run: only what the spool kept is left (dead letters put back, or a stored spool's chunks).
        this.log.info({ event: "backfill_send_only", job: this.key, spooled: this.engine?.backlog ?? 0 }, "every window was read before: sending what the spool kept");
      } else {
        await this.readAll();
      }
    } catch (err) {
      // Could not connect, or our own side broke: keep the checkpoints written, close everything, report.
      await this.close(false);
      throw err;
    }
    this.interrupted = this.signal.aborted && !this.planner.complete;
    this.phase = "sending";
    const left = await this.close(true);
    onProgress?.(this.snapshot());
    return this.result(left);
  }

  /** Every window of every point, `concurrency` points at once; resolves when all are done or failed, or on abort. */
  private async readAll(): Promise<void> {
    const history = await HistorySet.open(this.o.mapping.sources, this.o.points.map((p) => p.source), this.o.mapping.state, this.log);
    try {
      const limits = history.limits;
      const perCall = limits.maxNodesPerCall > 0 ? limits.maxNodesPerCall : Number.POSITIVE_INFINITY;
      const maxInFlight = Math.max(
        1,
        Math.min(
          this.cfg.concurrency,
          limits.maxContinuationPoints > 0 ? limits.maxContinuationPoints : Number.POSITIVE_INFINITY,
          Math.floor(MAX_VALUES_IN_FLIGHT / this.cfg.valuesPerRead),
        ),
      );
      this.log.info(
        {
          event: "backfill_started", job: this.key, points: this.o.points.length, windows: this.windows, windowMs: this.cfg.windowMs, from: new Date(this.fromMs).toISOString(),
          to: new Date(this.toMs).toISOString(), pointsAtOnce: maxInFlight, maxNodesPerHistoryReadData: limits.maxNodesPerCall,
          valuesPerRead: this.cfg.valuesPerRead, dryRun: this.o.dryRun,
        },
        "backfill started",
      );
      // After the start line: a point that cannot be read is reported as part of this job.
      const ready = await history.prepare(this.o.points.map(historyPoint));
      for (const [pointId, prep] of ready) {
        const run = this.runs.get(pointId)!;
        if (!prep.ok) this.fail(run, prep.reason);
        else if (prep.enumLabels) run.enumLabels = prep.enumLabels;
      }
      await new Promise<void>((resolve, reject) => {
        const signal = this.signal;
        let inFlight = 0;
        let settled = false;
        const finish = (err?: unknown) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          if (err) reject(err);
          else resolve();
        };
        const onAbort = () => {
          for (const t of this.retryTimers) t.cancel();
          this.retryTimers.clear();
          if (inFlight === 0) finish();
        };
        const retryLater = (id: string, delayMs: number) => {
          const t = this.clock.setTimeout(() => {
            this.retryTimers.delete(t);
            this.planner.resume(id);
            pump();
          }, delayMs);
          this.retryTimers.add(t);
        };
        const pump = () => {
          if (settled) return;
          if (signal.aborted) return onAbort();
          while (inFlight < maxInFlight) {
            const unit = this.planner.take(Math.min(maxInFlight - inFlight, perCall));
            if (!unit) break;
            inFlight += unit.pointIds.length;
            this.readUnit(history, unit, retryLater).then(() => {
              inFlight -= unit.pointIds.length;
              pump();
            }, finish);
          }
          if (inFlight === 0 && this.retryTimers.size === 0) finish();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        pump();
      });
    } finally {
      for (const t of this.retryTimers) t.cancel();
      this.retryTimers.clear();
      await history.close();
    }
  }

  /** One window of several points in one HistoryRead; the outcome decides each point's next step. */
  private async readUnit(history: HistorySet, unit: Unit, retryLater: (id: string, delayMs: number) => void): Promise<void> {
    const { from, to } = windowBounds(this.fromMs, this.toMs, this.cfg.windowMs, unit.window);
    let outcomes: HistoryOutcome[];
    try {
      outcomes = await history.read(unit.pointIds, from, to, { valuesPerRead: this.cfg.valuesPerRead, signal: this.signal, now: () => this.clock.now() }, async (pointId, values) => {
        this.onValues(this.runs.get(pointId)!, values);
        // The page is sendable now, not at the next commit tick or 5,000 rows later: the sender
        // and the API had gaps waiting for it (6 alternating pairs: 125,800 → 133,200 values/s on average).
        this.engine?.commit();
        // Let the sender's responses in between pages: a response of several points is a lot of work.
        await new Promise<void>((r) => setImmediate(r));
        // Reading waits while many values wait for the API.
        if (this.engine) await this.engine.room(this.signal);
      });
    } catch (err) {
      // Our side failed (e.g. the spool): retry the window like a transient server failure.
      const reason = (err as Error).message;
      outcomes = unit.pointIds.map(() => ({ kind: "failed", status: "Error", permanent: false, reason, values: 0 }));
    }
    outcomes.forEach((outcome, i) => {
      const run = this.runs.get(unit.pointIds[i]!)!;
      this.flushHeld(run);
      const id = run.config.pointId;
      if (outcome.kind === "done") {
        run.attempts = 0;
        this.planner.done(id);
        this.checkpoints?.stage(id, this.planner.doneBelow(id));
        this.log.debug({ event: "window_read", pointId: id, window: unit.window, values: outcome.values, outside: outcome.outside }, "window read");
      } else if (outcome.kind === "aborted") {
        this.planner.release(id);
      } else {
        run.errors++;
        run.attempts++;
        if (outcome.permanent || run.attempts >= MAX_ATTEMPTS) {
          const where = `window ${new Date(from).toISOString()} .. ${new Date(to).toISOString()}, ${run.attempts} attempts`;
          this.fail(run, outcome.permanent ? outcome.reason : `${outcome.reason} (${where})`);
          return;
        }
        const delay = Math.min(30_000, 1_000 * 2 ** (run.attempts - 1));
        this.log.warn({ event: "window_retry", pointId: id, window: unit.window, status: outcome.status, reason: outcome.reason, retryInMs: delay }, "history read failed; retrying the window");
        this.planner.hold(id);
        retryLater(id, delay);
      }
    });
  }

  /** One page of a point's history: conversion as in live mode, the range by the timestamp sent, same-ms merge. */
  private onValues(run: PointRun, values: readonly RawDataValue[]): void {
    run.read += values.length;
    this.valuesRead += values.length;
    this.pageArrived = this.clock.now();
    const out = this.out;
    for (const raw of values) {
      if (raw.sourceTimestamp === null && raw.serverTimestamp === null) {
        run.skipped++; // no time at all: cannot be placed
        continue;
      }
      const dropped = convertTo(out, raw, run.settings, run.enumLabels);
      if (dropped !== undefined) {
        if (dropped === "bad_status") run.bad++;
        else run.skipped++;
        continue;
      }
      const ts = out.ts;
      if (out.fallback === "received" || ts < this.fromMs || ts >= this.toMs) {
        run.skipped++; // strictly [from, to) by the timestamp the API gets
        continue;
      }
      run.merger.push(ts, out.value, out.quality);
    }
  }

  private flushHeld(run: PointRun): void {
    this.pageArrived = this.clock.now();
    run.merger.flush();
  }

  private emit(run: PointRun, ts: number, value: string, quality: 0 | 1 | 2): void {
    run.wouldSend++;
    if (run.queue && !this.engine!.add(run.queue, ts, value, quality, this.pageArrived)) {
      throw new Error(`the backfill spool is full (spool.maxBytes ${this.o.mapping.spool.maxBytes}) or cannot be written`);
    }
  }

  private fail(run: PointRun, reason: string): void {
    run.failed = reason;
    this.planner.fail(run.config.pointId);
    this.log.error({ event: "point_failed", pointId: run.config.pointId, nodeId: run.config.nodeId, line: run.config.line, reason }, "point not backfilled; the others continue");
  }

  /**
   * Everything read is committed, then sent (send = true: until nothing is left, or, once stopped,
   * for drainOnStopMs); the engine's last commit writes the checkpoints of what the API settled; the
   * job is forgotten when it is complete. Returns what is left.
   */
  private async close(send: boolean): Promise<number> {
    const e = this.engine;
    if (e && send) {
      this.o.onProgress?.(this.snapshot());
      // No deadline but a stop's, which cuts the drain to drainOnStopMs; the progress timer reports meanwhile.
      if (!(await e.drain(Number.POSITIVE_INFINITY, { signal: this.signal, ms: this.o.drainOnStopMs ?? 10_000 }))) this.interrupted = true;
    }
    this.progressTimer?.cancel();
    if (!e) return 0;
    const complete = this.planner.complete && [...this.runs.values()].every((r) => !r.failed);
    if (send && complete && e.backlog === 0 && !this.interrupted && (this.stats.dropped.dead_letter ?? 0) === 0) this.checkpoints!.finish();
    return e.finish(0);
  }

  private result(leftInSpool: number): BackfillResult {
    const elapsedMs = this.clock.now() - this.started;
    const spoolFile = this.o.spoolFile ?? "the backfill spool";
    const points: PointReport[] = this.o.points.map((config) => {
      const run = this.runs.get(config.pointId)!;
      const c = this.stats.points.get(config.pointId);
      const refused = c?.dropped ?? 0; // only dead letters are counted there in a backfill
      const doneBelow = this.planner.doneBelow(config.pointId);
      let status: PointReport["status"] = run.failed ? "failed" : doneBelow >= this.windows ? "ok" : "interrupted";
      let reason = run.failed;
      if (!run.failed && refused > 0) {
        status = "failed";
        reason = `${refused} values refused by the API for good (kept as dead letters in ${spoolFile}; see the log for the API's answer)`;
      }
      return {
        pointId: config.pointId, nodeId: config.nodeId, line: config.line,
        read: run.read, sent: this.o.dryRun ? run.wouldSend : (c?.sent ?? 0), conflicts: c?.conflicts ?? 0,
        badSkipped: run.bad, skipped: run.skipped + run.merger.merged, errors: run.errors + refused,
        windowsDone: doneBelow, windowsTotal: this.windows, status, ...(reason && { reason }),
      };
    });
    return {
      job: { key: this.key, fromMs: this.fromMs, toMs: this.toMs, windowMs: this.cfg.windowMs, windows: this.windows, resumed: this.resumed, windowsAtStart: this.windowsAtStart },
      points,
      interrupted: this.interrupted,
      leftInSpool,
      deadLetters: this.stats.dropped.dead_letter ?? 0,
      valuesPerS: elapsedMs > 0 ? (this.valuesRead * 1000) / elapsedMs : 0,
      elapsedMs,
    };
  }
}
