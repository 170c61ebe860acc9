import { join } from "node:path";
import type { Logger } from "pino";
import type { Mapping, PointConfig, PointSettings } from "../config/types.js";
import { IngestClient } from "../ingest/client.js";
import { HistorySession, type HistoryOutcome } from "../opcua/history.js";
import { Checkpoints } from "../spool/checkpoints.js";
import { Spool } from "../spool/spool.js";
import { jobKey, SameMsMerger, windowBounds, windowCount, WindowPlanner, type Unit } from "./backfill-plan.js";
import type { PointReport, ProgressSnapshot } from "./backfill-report.js";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import { convert, historySettings } from "../transform/convert.js";
import { Scheduler } from "../delivery/scheduler.js";
import { Sender } from "../delivery/sender.js";
import { Stats } from "../delivery/stats.js";
import type { TimeRange } from "./timerange.js";
import type { RawDataValue, Sample } from "../core/types.js";

/** The backfill's own spool (and checkpoints): a running live connector keeps state/spool.db to itself. */
export function backfillSpoolFile(stateDir: string): string {
  return join(stateDir, "backfill.db");
}

/** Values in flight from the historian at once (pages of all points being read), bounding memory. */
const MAX_VALUES_IN_FLIGHT = 200_000;
/** Buffered samples that trigger a commit before the commit interval is up. */
const COMMIT_ROWS = 5_000;
/** Attempts of one window of one point after transient failures: 1, 2, 4, 8, 16, 30, 30 s apart (about 90 s). */
const MAX_ATTEMPTS = 8;

export interface BackfillOptions {
  mapping: Mapping;
  /** The selected points, in mapping order. */
  points: readonly PointConfig[];
  range: TimeRange;
  overwrite: boolean;
  dryRun: boolean;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: stop reading, keep what is durable, drain for `drainOnStopMs`. */
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
  /** Values still in the spool (sent by the next run). */
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
  read: number;
  wouldSend: number;
  bad: number;
  skipped: number;
  errors: number;
  attempts: number;
  failed?: string;
}

/** The sending half: the live mode's scheduler and sender on the backfill spool, checkpoints in its commits. */
interface Delivery {
  spool: Spool;
  checkpoints: Checkpoints;
  client: IngestClient;
  scheduler: Scheduler;
  sender: Sender;
}

/**
 * `opcua-ingest backfill`: the raw history of the selected points over [from, to), window by window,
 * through the live pipeline's conversion, the same-ms rule, a durable spool (state/backfill.db) and the
 * sender. Per point, the windows whose values are durable are checkpointed with the spool commit that
 * made them so, so an interrupted run (signal, crash, kill -9) resumes where it stopped.
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
  private readonly stats = new Stats();
  private readonly delivery: Delivery | undefined;
  private readonly fromMs: number;
  private readonly toMs: number;
  private readonly windows: number;
  private readonly planner: WindowPlanner;
  private readonly resumed: boolean;
  private readonly windowsAtStart: number;
  /** Reading pauses while this many values wait for the API: the spool stays small, a stop drains fast. */
  private readonly highWater: number;
  private readonly retryTimers = new Set<Timer>();
  private commitTimer: Timer | undefined;
  private progressTimer: Timer | undefined;
  private valuesRead = 0;
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
    if (!o.dryRun) {
      const spool = new Spool({ file: backfillSpoolFile(mapping.state), maxBytes: mapping.spool.maxBytes, whenFull: "dropNewest" });
      // No fsync per commit: values and their checkpoint commit in one transaction, so a power loss can
      // only take both back together (WAL stays consistent) and those windows are read again. A process
      // crash or kill -9 loses nothing committed either way. (Live mode keeps FULL: its source is gone.)
      spool.database.pragma("synchronous = NORMAL");
      const checkpoints = new Checkpoints(spool.database, this.key);
      const params = {
        from: o.range.from.text, to: o.range.to.text, fromIso: new Date(fromMs).toISOString(), toIso: new Date(toMs).toISOString(),
        windowMs: this.cfg.windowMs, overwrite: o.overwrite, points: o.points.length,
      };
      const opened = checkpoints.open(fromMs, toMs, this.cfg.windowMs, params, this.started);
      resumed = opened.resumed;
      fromMs = opened.job.fromMs;
      toMs = opened.job.toMs;
      progress = checkpoints.progress();
      this.delivery = this.startDelivery(spool, checkpoints);
    }
    this.fromMs = fromMs;
    this.toMs = toMs;
    this.resumed = resumed;
    this.windows = windowCount(fromMs, toMs, this.cfg.windowMs);
    this.planner = new WindowPlanner(this.windows, o.points.map((p) => ({ id: p.pointId, doneBelow: progress.get(p.pointId) ?? 0 })));
    this.windowsAtStart = this.planner.progress.done;
    this.highWater = Math.max(10_000, 20 * mapping.batch.maxValues * mapping.ingest.concurrency);
    for (const config of o.points) {
      if (config.timestamp === "received") this.log.warn({ pointId: config.pointId }, "timestamp: received has no meaning for history; using the source timestamp");
      const settings = historySettings(config);
      this.runs.set(config.pointId, { config, settings, merger: new SameMsMerger(o.overwrite), read: 0, wouldSend: 0, bad: 0, skipped: 0, errors: 0, attempts: 0 });
    }
    if (resumed) {
      this.log.info(
        { job: this.key, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), windowsDone: this.windowsAtStart, windowsTotal: this.planner.progress.total, spooled: this.delivery!.spool.rows },
        "resuming an interrupted backfill: windows already durable are not read again",
      );
    }
  }

  private startDelivery(spool: Spool, checkpoints: Checkpoints): Delivery {
    const { ingest, batch } = this.o.mapping;
    const client = new IngestClient(ingest);
    // The scheduler's callback runs only after the sender exists.
    const d = { spool, checkpoints, client } as Delivery;
    d.scheduler = new Scheduler(batch.maxValues, batch.maxDelayMs, this.clock, () => d.sender.wake());
    d.sender = new Sender(
      {
        concurrency: ingest.concurrency,
        overwrite: this.o.overwrite,
        maxValues: batch.maxValues,
        backoff: { initialMs: 500, maxMs: ingest.retryMaxDelayMs },
        maxRequestsPerSecond: ingest.maxRequestsPerSecond,
        retryMaxElapsedMs: ingest.retryMaxElapsedMs,
      },
      spool,
      d.scheduler,
      (pointId, rows, overwrite) => client.send(pointId, rows, overwrite),
      this.stats,
      this.clock,
      this.log,
    );
    // What an interrupted run left in the spool goes first.
    for (const b of spool.backlog()) d.scheduler.update(b.pointId, spool.unread(b.pointId), b.firstArrived);
    return d;
  }

  /** Group commit: buffered values and the staged checkpoints in one transaction, then tell the scheduler. */
  private commit(): void {
    const d = this.delivery;
    if (!d) return;
    const { added } = d.checkpoints.commitWith(() => d.spool.commit());
    for (const [pointId, first] of added) d.scheduler.update(pointId, d.spool.unread(pointId), first);
  }

  private snapshot(): ProgressSnapshot {
    const p = this.planner.progress;
    const spool = this.delivery?.spool;
    return {
      windowsDone: p.done, windowsTotal: p.total, windowsAtStart: this.windowsAtStart, valuesRead: this.valuesRead,
      valuesSent: this.stats.sent + this.stats.conflicts, spooled: spool ? spool.rows + spool.buffered : 0,
      elapsedMs: this.clock.now() - this.started, phase: this.phase,
    };
  }

  async run(): Promise<BackfillResult> {
    const { mapping } = this.o;
    if (this.delivery) {
      const tick = () => {
        this.commit();
        this.commitTimer = this.clock.setTimeout(tick, mapping.spool.commitIntervalMs);
      };
      this.commitTimer = this.clock.setTimeout(tick, mapping.spool.commitIntervalMs);
    }
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
        // Every window was read by an earlier run (stopped while sending): only the spool is left.
        this.log.info({ job: this.key, spooled: this.delivery?.spool.rows ?? 0 }, "every window was read before: sending what the spool kept");
      } else {
        await this.readAll();
      }
    } catch (err) {
      // Could not connect, or our own side broke: keep what is durable, close everything, report.
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
    const history = await HistorySession.open(this.o.mapping.opcua, this.o.mapping.state, this.log);
    try {
      const ready = await history.prepare(this.o.points.map((p) => ({ pointId: p.pointId, nodeId: p.nodeId, enumAs: p.enumAs })));
      for (const [pointId, prep] of ready) {
        const run = this.runs.get(pointId)!;
        if (!prep.ok) this.fail(run, prep.reason);
        else if (prep.enumLabels) run.enumLabels = prep.enumLabels;
      }
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
          job: this.key, points: this.o.points.length, windows: this.windows, windowMs: this.cfg.windowMs, from: new Date(this.fromMs).toISOString(),
          to: new Date(this.toMs).toISOString(), pointsAtOnce: maxInFlight, maxNodesPerHistoryReadData: limits.maxNodesPerCall,
          valuesPerRead: this.cfg.valuesPerRead, dryRun: this.o.dryRun,
        },
        "backfill started",
      );
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
  private async readUnit(history: HistorySession, unit: Unit, retryLater: (id: string, delayMs: number) => void): Promise<void> {
    const { from, to } = windowBounds(this.fromMs, this.toMs, this.cfg.windowMs, unit.window);
    let outcomes: HistoryOutcome[];
    try {
      outcomes = await history.read(unit.pointIds, from, to, { valuesPerRead: this.cfg.valuesPerRead, signal: this.signal, now: () => this.clock.now() }, async (pointId, values) => {
        this.onValues(this.runs.get(pointId)!, values);
        // Let the sender's responses in between pages: a response of several points is a lot of work.
        await new Promise<void>((r) => setImmediate(r));
        while (this.spoolBusy() && !this.signal.aborted) await new Promise<void>((r) => this.clock.setTimeout(r, 20));
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
        this.delivery?.checkpoints.stage(id, this.planner.doneBelow(id));
        this.log.debug({ pointId: id, window: unit.window, values: outcome.values, outside: outcome.outside }, "window read");
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
        this.log.warn({ pointId: id, window: unit.window, status: outcome.status, reason: outcome.reason, retryInMs: delay }, "history read failed; retrying the window");
        this.planner.hold(id);
        retryLater(id, delay);
      }
    });
  }

  private spoolBusy(): boolean {
    const spool = this.delivery?.spool;
    return !!spool && (spool.rows + spool.buffered > this.highWater || spool.bytes > this.o.mapping.spool.maxBytes / 2);
  }

  /** One page of a point's history: conversion as in live mode, the range by the timestamp sent, same-ms merge. */
  private onValues(run: PointRun, values: readonly RawDataValue[]): void {
    run.read += values.length;
    this.valuesRead += values.length;
    const id = run.config.pointId;
    for (const raw of values) {
      if (raw.sourceTimestamp === null && raw.serverTimestamp === null) {
        run.skipped++; // no time at all: cannot be placed
        continue;
      }
      const r = convert(id, raw, run.settings, run.enumLabels);
      if (!r.ok) {
        if (r.reason === "bad_status") run.bad++;
        else run.skipped++;
        continue;
      }
      const ts = r.sample.ts;
      if (r.fallback === "received" || ts < this.fromMs || ts >= this.toMs) {
        run.skipped++; // strictly [from, to) by the timestamp the API gets
        continue;
      }
      const out = run.merger.push(r.sample);
      if (out) this.emit(run, out);
    }
  }

  private flushHeld(run: PointRun): void {
    const held = run.merger.flush();
    if (held) this.emit(run, held);
  }

  private emit(run: PointRun, s: Sample): void {
    run.wouldSend++;
    const spool = this.delivery?.spool;
    if (!spool) return;
    if (!spool.append(s, this.clock.now())) throw new Error(`the backfill spool is full (spool.maxBytes ${this.o.mapping.spool.maxBytes})`);
    if (spool.buffered >= COMMIT_ROWS) this.commit();
  }

  private fail(run: PointRun, reason: string): void {
    run.failed = reason;
    this.planner.fail(run.config.pointId);
    this.log.error({ pointId: run.config.pointId, nodeId: run.config.nodeId, line: run.config.line, reason }, "point not backfilled; the others continue");
  }

  /**
   * Everything read becomes durable; then sent (send = true: until the spool is empty, or, once
   * stopped, for drainOnStopMs); the job is forgotten when it is complete. Returns what is left.
   */
  private async close(send: boolean): Promise<number> {
    this.progressTimer?.cancel();
    const d = this.delivery;
    if (!d) return 0;
    this.commit();
    if (send) {
      d.scheduler.flushAll(d.spool.backlog().map((b) => b.pointId));
      d.sender.wake();
      this.o.onProgress?.(this.snapshot());
      const every = this.o.progressEveryMs ?? 1_000;
      let lastReport = this.clock.now();
      while (!this.signal.aborted && !(await d.sender.drain(250))) {
        if (this.o.onProgress && this.clock.now() - lastReport >= every) {
          lastReport = this.clock.now();
          this.o.onProgress(this.snapshot());
        }
      }
      if (this.signal.aborted && !(await d.sender.drain(this.o.drainOnStopMs ?? 10_000))) this.interrupted = true;
    }
    this.commitTimer?.cancel();
    d.sender.stop();
    d.scheduler.stop();
    await (d.spool.rows === 0 ? d.client.close() : d.client.destroy());
    await d.sender.whenIdle(); // aborted requests end before the spool closes under them
    this.commit(); // the last acknowledgements
    const left = d.spool.rows;
    const complete = this.planner.complete && [...this.runs.values()].every((r) => !r.failed);
    if (send && complete && left === 0 && !this.interrupted && (this.stats.dropped.dead_letter ?? 0) === 0) d.checkpoints.finish();
    d.spool.close();
    return left;
  }

  private result(leftInSpool: number): BackfillResult {
    const elapsedMs = this.clock.now() - this.started;
    const spoolFile = backfillSpoolFile(this.o.mapping.state);
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
