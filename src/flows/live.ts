import { join } from "node:path";
import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import { IngestClient } from "../ingest/client.js";
import { OpcuaSource, type SourcePoint, type SourceState } from "../opcua/source.js";
import { createMetrics, type OpsView } from "../ops/metrics.js";
import { startOpsServer } from "../ops/server.js";
import { createStatusRoutes } from "../ops/status.js";
import { Spool } from "../spool/spool.js";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import { convert, historySettings } from "../transform/convert.js";
import { Scheduler } from "../delivery/scheduler.js";
import { Sender } from "../delivery/sender.js";
import { Stats, type PointCounters } from "../delivery/stats.js";
import type { Sample } from "../core/types.js";

/** StatusCode info bits: InfoType DataValue (0x400) with Overflow (0x80). */
const OVERFLOW = 0x480;

/** Samples held in memory while commits fail, at most (about 10 s at 100,000 values/s). */
const MAX_BUFFERED = 1_000_000;

/** Rows that trigger a commit before the interval is up, so a burst does not pile up in memory. */
const COMMIT_ROWS = 5_000;

export function spoolFile(stateDir: string): string {
  return join(stateDir, "spool.db");
}

/**
 * Live mode: OPC UA notifications → conversion → spool (durable) → per-point batches → the API.
 * A value is safe once its group commit ran; it leaves the spool only when the API acknowledged it.
 */
/** A mapped point at run time: its settings, counters and last sample (for the heartbeat). */
export interface LivePoint extends SourcePoint {
  readonly config: PointConfig;
  readonly counters: PointCounters;
  last?: Sample;
  /** When `last` was spooled: the heartbeat counts from here, not from the device's clock. */
  lastAt?: number;
  /** Gap fill: the newest timestamp known delivered before a stop or a lost subscription; filled up to the next live value. */
  fillAfter?: number;
  /** Gap fill found no history for this node (auto mode stops trying). */
  noHistory?: boolean;
  /** Timestamp of `last` when the connection was lost. */
  lastBeforeLoss?: number;
}

export class LiveConnector implements OpsView {
  readonly stats = new Stats();
  sourceState: SourceState = "connecting";
  readonly source: OpcuaSource<LivePoint>;
  readonly spool: Spool;
  private readonly client: IngestClient;
  private readonly scheduler: Scheduler;
  private readonly sender: Sender;
  private commitTimer: Timer | undefined;
  private heartbeatTimer: Timer | undefined;
  private ops: { url: string; close(): Promise<void> } | undefined;
  private lastFullWarning = 0;

  constructor(
    public mapping: Mapping,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    const { ingest, batch } = mapping;
    this.client = new IngestClient(ingest);
    if (ingest.tlsInsecure) log.warn({ api: ingest.baseUrl }, "ingest.tlsInsecure is on: the API's TLS certificate is not verified; anyone on the path could read the token and the data");
    this.spool = new Spool({ file: spoolFile(mapping.state), maxBytes: mapping.spool.maxBytes, whenFull: mapping.spool.whenFull });
    this.scheduler = new Scheduler(batch.maxValues, batch.maxDelayMs, clock, () => this.sender.wake());
    this.sender = new Sender(
      {
        concurrency: ingest.concurrency,
        overwrite: ingest.overwrite,
        maxValues: batch.maxValues,
        backoff: { initialMs: 500, maxMs: ingest.retryMaxDelayMs },
        maxRequestsPerSecond: ingest.maxRequestsPerSecond,
        retryMaxElapsedMs: ingest.retryMaxElapsedMs,
      },
      this.spool,
      this.scheduler,
      (pointId, rows, overwrite) => this.client.send(pointId, rows, overwrite),
      this.stats,
      clock,
      log,
    );
    const stats = this.stats;
    const spool = this.spool;
    this.source = new OpcuaSource<LivePoint>(mapping.opcua, this.toLivePoints(mapping.points), mapping.state, log, {
      value: (point, raw) => {
        const c = point.counters;
        stats.received++;
        c.received++;
        // The server's queue for this item overflowed: values were discarded before they reached us.
        if ((raw.statusCode & OVERFLOW) === OVERFLOW) {
          stats.overflows++;
          c.overflows++;
        }
        const config = point.config;
        const r = convert(config.pointId, raw, config, point.enumLabels);
        if (!r.ok) {
          stats.drop(config.pointId, r.reason);
          // A heartbeat must not go on repeating a Good value the device has since reported Bad.
          if (r.reason === "bad_status") point.last = undefined;
          return;
        }
        if (r.fallback) stats.timestampFallback[r.fallback]++;
        c.lastValue = r.sample.value;
        c.lastTs = r.sample.ts;
        c.lastReceivedAt = raw.receivedAt;
        point.last = r.sample;
        point.lastAt = raw.receivedAt;
        if (point.fillAfter !== undefined) this.fillGap(point, r.sample.ts);
        this.append(r.sample, raw.receivedAt);
      },
      state: (s) => {
        if (s === "reconnecting" && this.sourceState !== "reconnecting") {
          stats.reconnects++;
          // Where a fill would start: values that arrive while items are re-created must not move it.
          for (const p of this.source.currentPoints()) p.lastBeforeLoss = p.last?.ts ?? p.lastBeforeLoss;
        }
        this.sourceState = s;
      },
      gap: (from, to) => {
        stats.gaps.push({ from, to });
        stats.gapCount++;
        if (stats.gaps.length > 100) stats.gaps.shift();
        // Fill each point from its last value before the loss up to its first value after the recovery.
        for (const p of this.source.currentPoints()) if (p.lastBeforeLoss !== undefined) p.fillAfter ??= p.lastBeforeLoss;
      },
    });
  }

  /**
   * Run-time points for a mapping. Per-point counters are resolved once, not looked up per value.
   * At start, a point delivered before the stop is gap-filled from its last spooled timestamp when
   * its first live value arrives; on reload, a point that stays keeps its state (last value, fill).
   */
  private toLivePoints(points: readonly PointConfig[], previous?: readonly LivePoint[]): LivePoint[] {
    const kept = new Map((previous ?? []).map((p) => [p.config.pointId, p]));
    const last = previous || this.mapping.gapFill.enabled === false ? new Map<string, number>() : this.spool.lastTimestamps();
    return points.map((config) => {
      const old = kept.get(config.pointId);
      if (old) return { ...old, config };
      const fillAfter = last.get(config.pointId);
      const point: LivePoint = { config, counters: this.stats.point(config.pointId) };
      if (fillAfter !== undefined) point.fillAfter = fillAfter;
      return point;
    });
  }

  private readonly fills = new Set<Promise<void>>();
  private readonly fillQueue: (() => Promise<void>)[] = [];

  /**
   * Reads the point's history over (fillAfter, firstLive) — at most gapFill.maxWindow — and spools
   * it like live values, so the API has no hole after a stop or a lost subscription. At most
   * backfill.concurrency reads at once; the live values keep flowing meanwhile.
   */
  private fillGap(point: LivePoint, firstLive: number): void {
    const after = point.fillAfter!;
    point.fillAfter = undefined;
    const { enabled, maxWindowMs } = this.mapping.gapFill;
    if (enabled === false || point.noHistory || firstLive - after <= 1) return;
    const from = Math.max(after + 1, firstLive - maxWindowMs);
    if (from > after + 1) this.log.warn({ pointId: point.config.pointId, gapStart: new Date(after + 1).toISOString(), filledFrom: new Date(from).toISOString() }, "gap longer than gapFill.maxWindow: only its end is filled");
    const job = async () => {
      const config = point.config;
      const settings = historySettings(config);
      let values = 0;
      try {
        const outcome = await this.source.readHistory(config, from, firstLive, this.mapping.backfill.valuesPerRead, (page) => {
          for (const raw of page) {
            const r = convert(config.pointId, raw, settings, point.enumLabels);
            if (!r.ok || r.sample.ts < from || r.sample.ts >= firstLive) continue;
            values++;
            this.append(r.sample, this.clock.now());
          }
        });
        if (outcome === undefined) return; // stopping, or no session
        if (outcome.kind !== "done") {
          if (outcome.kind === "failed" && outcome.permanent) point.noHistory = true;
          const reason = outcome.kind === "failed" ? outcome.reason : "stopped";
          const level = enabled === true || (outcome.kind === "failed" && !outcome.permanent) ? "warn" : "debug";
          this.log[level]({ pointId: config.pointId, from: new Date(from).toISOString(), to: new Date(firstLive).toISOString(), reason }, "gap fill: cannot read the point's history; this window stays open");
          return;
        }
        this.stats.gapFilled += values;
        this.stats.gapFills++;
        this.log.info({ pointId: config.pointId, from: new Date(from).toISOString(), to: new Date(firstLive).toISOString(), values }, "gap filled from the server's history");
      } catch (err) {
        this.log.warn({ pointId: config.pointId, err: (err as Error).message }, "gap fill failed");
      }
    };
    this.fillQueue.push(job);
    this.runFills();
  }

  private runFills(): void {
    while (this.fills.size < this.mapping.backfill.concurrency && this.fillQueue.length > 0) {
      const job = this.fillQueue.shift()!;
      const running: Promise<void> = job().finally(() => {
        this.fills.delete(running);
        this.runFills();
      });
      this.fills.add(running);
    }
  }


  private append(sample: Sample, arrived: number): void {
    // Commits failing for long (disk full) must not grow memory without bound.
    if (this.spool.buffered >= MAX_BUFFERED) return this.stats.drop(sample.pointId, "spool_error");
    if (!this.spool.append(sample, arrived)) this.spoolFull(sample.pointId, 1);
    else if (this.spool.buffered >= COMMIT_ROWS) this.commit();
  }

  async start(): Promise<void> {
    this.spool.registerPoints(this.mapping.points.map((p) => p.pointId));
    const backlog = this.spool.backlog();
    this.log.info(
      { points: this.mapping.points.length, endpoint: this.mapping.opcua.endpoint, api: this.mapping.ingest.baseUrl, spooled: this.spool.rows },
      backlog.length ? "starting; sending what the spool kept from before" : "starting",
    );
    // What an earlier run left unsent goes first, oldest point first.
    for (const b of backlog) this.scheduler.update(b.pointId, this.spool.unread(b.pointId), b.firstArrived);
    this.scheduleCommit();
    const { listen, token, perPointMetrics } = this.mapping.ops;
    if (listen) this.ops = await startOpsServer(this, createMetrics(this, perPointMetrics), { listen, ...(token && { token }) }, this.log, [createStatusRoutes(this, { token, log: this.log }).handle]);
    await this.source.start();
    this.scheduleHeartbeat();
  }

  /**
   * Heartbeat: a point with heartbeatMs that has not changed for that long gets its last value
   * again, stamped with the current time (as OPC Publisher's HeartbeatInterval). One coarse timer
   * for all points; off when no point asks for it.
   */
  private scheduleHeartbeat(): void {
    const periods = this.mapping.points.map((p) => p.heartbeatMs).filter((ms) => ms > 0);
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
    if (periods.length === 0) return;
    const tick = Math.max(100, Math.min(1_000, periods.reduce((a, b) => Math.min(a, b)) / 4));
    const run = () => {
      const now = this.clock.now();
      for (const p of this.source.currentPoints()) {
        const every = p.config.heartbeatMs;
        if (every <= 0 || !p.last || now - (p.lastAt ?? now) < every || this.sourceState !== "connected") continue;
        p.last = { ...p.last, ts: now };
        p.lastAt = now;
        this.stats.heartbeats++;
        this.append(p.last, now);
      }
      this.heartbeatTimer = this.clock.setTimeout(run, tick);
    };
    this.heartbeatTimer = this.clock.setTimeout(run, tick);
  }

  /**
   * Hot reload with an already validated mapping: points are added, removed and retuned without
   * touching the others; what would need a restart (server, API, spool, batching, state) is
   * reported and left as it was. The spool is untouched, so nothing spooled is lost.
   */
  async reload(next: Mapping): Promise<void> {
    const needsRestart = (["opcua", "ingest", "batch", "spool", "state", "ops", "backfill", "gapFill"] as const).filter(
      (k) => JSON.stringify(next[k]) !== JSON.stringify(this.mapping[k]),
    );
    if (needsRestart.length) this.log.warn({ sections: needsRestart }, "mapping reload: these sections changed and need a restart; kept as they were");
    const r = await this.source.update(this.toLivePoints(next.points, this.source.currentPoints()));
    this.mapping = { ...this.mapping, points: next.points };
    this.scheduleHeartbeat();
    this.log.info({ added: r.added.length, removed: r.removed.length, recreated: r.recreated.length, retuned: r.retuned.length, points: next.points.length }, "mapping reloaded");
  }

  /** Base URL of /healthz, /readyz, /metrics (undefined when ops.listen is off). */
  get opsUrl(): string | undefined {
    return this.ops?.url;
  }

  private scheduleCommit(): void {
    this.commitTimer = this.clock.setTimeout(() => {
      this.commit();
      if (this.spool.changedElsewhere()) {
        // `opcua-ingest deadletter retry` put rows back: count them in.
        this.spool.load();
        for (const b of this.spool.backlog()) this.scheduler.update(b.pointId, this.spool.unread(b.pointId), b.firstArrived);
      }
      this.scheduleCommit();
    }, this.mapping.spool.commitIntervalMs);
  }

  /** The group commit: buffered samples become durable, acknowledged ones are deleted. */
  private commit(): void {
    let result;
    try {
      result = this.spool.commit();
    } catch (err) {
      // Disk full, file locked: the samples stay buffered (bounded in append) for the next commit.
      this.stats.commitErrors++;
      const now = this.clock.now();
      if (now - this.lastCommitError >= 10_000) {
        this.lastCommitError = now;
        this.log.error({ err: (err as Error).message, buffered: this.spool.buffered }, "spool commit failed; values are kept in memory and the commit is retried");
      }
      return;
    }
    if (result.droppedOldest > 0) this.spoolFull(undefined, result.droppedOldest);
    for (const [pointId, firstArrived] of result.added) this.scheduler.update(pointId, this.spool.unread(pointId), firstArrived);
  }
  private lastCommitError = 0;

  private spoolFull(pointId: string | undefined, n: number): void {
    if (pointId) this.stats.drop(pointId, "spool_full", n);
    else this.stats.dropped.spool_full = (this.stats.dropped.spool_full ?? 0) + n;
    const now = this.clock.now();
    if (now - this.lastFullWarning < 60_000) return;
    this.lastFullWarning = now;
    this.log.error(
      { maxBytes: this.mapping.spool.maxBytes, whenFull: this.mapping.spool.whenFull, droppedTotal: this.stats.dropped.spool_full, backlog: this.spool.rows },
      this.mapping.spool.whenFull === "dropOldest" ? "SPOOL FULL: deleting the oldest unsent values" : "SPOOL FULL: refusing new values",
    );
  }

  spoolStatus(): { rows: number; bytes: number; maxBytes: number; oldestArrival: number | undefined } {
    return { rows: this.spool.rows, bytes: this.spool.bytes, maxBytes: this.mapping.spool.maxBytes, oldestArrival: this.spool.oldestArrival() };
  }

  tokenRefreshes(): number {
    return this.client.tokens.refreshes;
  }

  pointCounts(): { mapped: number; failed: number } {
    return { mapped: this.mapping.points.length, failed: this.source.failed.size };
  }

  /** The last failed API request, for the status page (recorded by the sender; never a credential). */
  lastApiError(): { at: number; reason: string } | undefined {
    return this.stats.lastApiError;
  }

  /** Values received and not yet acknowledged by the API. */
  get backlog(): number {
    return this.spool.rows + this.spool.buffered;
  }

  /**
   * Stop receiving, make everything durable, send what can be sent within graceMs. What is left
   * stays in the spool for the next start. Returns the number of values left.
   */
  async stop(graceMs: number): Promise<number> {
    this.fillQueue.length = 0; // fills not started yet are dropped: their windows are logged as open
    await this.source.stop();
    // Running fills end with the session (their reads fail); wait for them, boundedly, before the spool closes.
    await Promise.race([Promise.all(this.fills), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await this.ops?.close();
    this.commitTimer?.cancel();
    this.heartbeatTimer?.cancel();
    this.commit();
    this.scheduler.flushAll(this.spool.backlog().map((b) => b.pointId));
    this.sender.wake();
    const drained = await this.sender.drain(graceMs, () => this.commit());
    this.sender.stop();
    this.scheduler.stop();
    await (drained ? this.client.close() : this.client.destroy());
    await this.sender.whenIdle(); // aborted requests end before the spool closes under them
    this.spool.close();
    const left = drained ? 0 : this.spool.rows;
    if (left > 0) this.log.warn({ left }, "drain timeout: values left in the spool; they are sent at the next start");
    this.log.info({ received: this.stats.received, sent: this.stats.sent, conflicts: this.stats.conflicts, dropped: this.stats.dropped, left }, "stopped");
    return left;
  }
}
