import type { Logger } from "pino";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import type { Sample } from "../core/types.js";
import type { Checkpoints } from "../spool/checkpoints.js";
import type { DeadLetterSummary } from "../spool/deadletters.js";
import type { PointQueue } from "../spool/queue.js";
import { Spool, type SpoolOptions } from "../spool/spool.js";
import { Scheduler } from "./scheduler.js";
import { Sender, type DrainStop, type SendFn, type SenderOptions } from "./sender.js";
import { Stats } from "./stats.js";

/** Buffered samples that trigger a commit before the interval is up, so a burst does not pile up in memory. */
const COMMIT_ROWS = 5_000;
/** Samples held in memory while commits fail, at most (about 10 s at 100,000 values/s). */
const MAX_BUFFERED = 1_000_000;
/**
 * Acknowledged chunks are deleted, and the progress per point (where a gap fill starts after a
 * restart) written, this often and at the end: an upsert per changed point is the costliest
 * statement of the spool at 10,000 points, and an acknowledged chunk may stay on disk a while.
 */
const MAINTAIN_EVERY_MS = 5_000;
/**
 * Samples memory may hold while the API takes values, at most (about 70 bytes of heap a sample plus
 * its value: some 100 MB for short numeric values; long string values take more). A backlog on
 * disk (an outage longer than memoryRows, a restart) is read back in arrival order, spread over
 * every point: 100,000 samples over 10,000 points are 10 a point, and the drain would send
 * 10-value requests at the API's per-request cost. Holding up to maxValues a point lets it send
 * full ones; while the API is down the spool keeps to memoryRows, so an outage does not grow the heap.
 */
const DRAIN_MEMORY_ROWS = 1_000_000;
/** Values waiting for the API above which a reader that can wait (backfill, repair) waits: room(). */
const READER_HIGH_WATER = 10_000;

/** room()'s limit: READER_HIGH_WATER, or 20 full requests per connection if more (16,000 with the defaults). */
export function readerHighWater(maxValues: number, concurrency: number): number {
  return Math.max(READER_HIGH_WATER, 20 * maxValues * concurrency);
}

/** A failing commit or a full spool is logged at most this often. */
const LOUD_EVERY_MS = 10_000;
const BACKOFF_INITIAL_MS = 500;
/** After a failed commit the next one waits this long at first, doubling up to the most: each try rewrites the whole buffer. */
const COMMIT_RETRY_MS = 200;
const COMMIT_RETRY_MAX_MS = 5_000;

/** A point's queue in the spool, as a handle the flows hold and pass back to add(). */
export type SpoolPoint = PointQueue;

/** The API side the engine sends through (src/ingest's client, or a test's). */
export interface DeliveryApi {
  send: SendFn;
  /** Let requests in flight finish, then close the connections. */
  close(): Promise<void>;
  /** Abort requests in flight (after the drain deadline). */
  destroy(): Promise<void>;
}

export interface EngineOptions {
  spool: SpoolOptions;
  commitIntervalMs: number;
  batch: { maxValues: number; maxDelayMs: number };
  sender: Omit<SenderOptions, "maxValues" | "backoff"> & { retryMaxDelayMs: number };
  api: DeliveryApi;
  log: Logger;
  stats?: Stats;
  clock?: Clock;
}

/**
 * The one delivery path of every command that sends (live, gap fill, backfill, reconcile --repair):
 * append → group commit (durable) → per-point batches of at most maxValues → the sender (one
 * request in flight per point, global concurrency, one pause for all on transient failure) →
 * acknowledgement deletes, refusal dead-letters. A failing commit (disk full) never throws out of
 * here: the samples stay in memory (bounded) and the commit is tried again at the next tick.
 */
export class DeliveryEngine {
  readonly stats: Stats;
  readonly spool: Spool;
  private readonly scheduler: Scheduler;
  private readonly sender: Sender;
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer: Timer | undefined;
  private lastMaintain = 0;
  private lastCommitError = Number.NEGATIVE_INFINITY;
  /** Failed commits in a row, and when the next may be tried (0: commits work). */
  private commitFailures = 0;
  private retryCommitAt = 0;
  private lastFullWarning = Number.NEGATIVE_INFINITY;
  private finished = false;
  /** Readers waiting for room (room()), with the signal that stops their wait. */
  private roomWaiters: { signal: AbortSignal | undefined; resolve: () => void }[] = [];
  /** Signals with our abort listener: one per signal, however many readers wait on it (backfill: up to 64). */
  private readonly roomSignals = new WeakSet<AbortSignal>();

  constructor(private readonly o: EngineOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.log;
    this.stats = o.stats ?? new Stats();
    this.spool = new Spool(o.spool);
    this.scheduler = new Scheduler(o.batch.maxValues, o.batch.maxDelayMs, this.clock, () => this.sender.wake());
    const { retryMaxDelayMs, ...sender } = o.sender;
    this.sender = new Sender(
      { ...sender, maxValues: o.batch.maxValues, backoff: { initialMs: BACKOFF_INITIAL_MS, maxMs: retryMaxDelayMs } },
      this.spool, this.scheduler, o.api.send, this.stats, this.clock, this.log, () => this.wakeRoom(),
    );
  }

  /** Start sending what the spool holds (what an earlier run left goes first, oldest point first) and committing. */
  start(): void {
    this.scheduleBacklog();
    this.lastMaintain = this.clock.now();
    const tick = () => {
      try {
        this.commit();
        // Another process put rows back (`deadletter retry` past a lock taken over): count them in.
        if (this.spool.changedElsewhere()) this.commit(true);
      } catch (err) {
        this.log.error({ event: "spool_check_failed", err: (err as Error).message }, "spool check failed; tried again at the next commit");
      } finally {
        this.timer = this.clock.setTimeout(tick, this.o.commitIntervalMs);
      }
    };
    this.timer = this.clock.setTimeout(tick, this.o.commitIntervalMs);
  }

  /** Buffer a sample for the next commit; false when it was dropped (spool full, or commits failing for long). */
  append(sample: Sample, arrived: number = this.clock.now()): boolean {
    return this.add(this.spool.point(sample.pointId), sample.ts, sample.value, sample.quality, arrived);
  }

  /** A point's handle for add(), looked up once (registered by the next commit when new). */
  point(pointId: string): SpoolPoint {
    return this.spool.point(pointId);
  }

  /** append() on the per-notification path: the point's handle and the sample's fields, no lookup and no object. */
  add(point: SpoolPoint, ts: number, value: string, quality: 0 | 1 | 2, arrived: number): boolean {
    if (this.spool.buffered >= MAX_BUFFERED) {
      this.stats.drop(point.id, "spool_error");
      return false;
    }
    if (!this.spool.add(point, ts, value, quality, arrived)) {
      this.spoolFull(point.id, 1);
      return false;
    }
    // A burst commits early, but only while commits work: a failing one waits for its retry time.
    if (this.spool.buffered >= COMMIT_ROWS && this.commitFailures === 0) this.commit();
    return true;
  }

  /** Values received and not yet acknowledged by the API. */
  get backlog(): number {
    return this.spool.rows + this.spool.buffered;
  }

  /**
   * A reader's backpressure (backfill, repair: sources that can wait): resolves once at most
   * READER_HIGH_WATER values (or 20 full requests per connection, if more) wait for the API and the
   * spool file is under half its maxBytes, when `signal` aborts, or at finish(). The spool stays
   * small and a stop drains fast. Woken by the acknowledgements and commits that make room, not by
   * polling: a reader that looked every 20 ms left the historian idle in between.
   */
  room(signal?: AbortSignal): Promise<void> {
    if (this.finished || signal?.aborted || this.hasRoom()) return Promise.resolve();
    if (signal && !this.roomSignals.has(signal)) {
      this.roomSignals.add(signal);
      signal.addEventListener("abort", () => this.releaseRoom((w) => w.signal === signal), { once: true });
    }
    return new Promise<void>((resolve) => this.roomWaiters.push({ signal, resolve }));
  }

  private hasRoom(): boolean {
    return this.backlog <= readerHighWater(this.o.batch.maxValues, this.o.sender.concurrency) && this.spool.bytes <= this.o.spool.maxBytes / 2;
  }

  /** After an acknowledgement or a commit: every waiter goes on once there is room. */
  private wakeRoom(): void {
    if (this.roomWaiters.length > 0 && this.hasRoom()) this.releaseRoom(() => true);
  }

  private releaseRoom(which: (w: { signal: AbortSignal | undefined }) => boolean): void {
    const keep: typeof this.roomWaiters = [];
    for (const w of this.roomWaiters) {
      if (which(w)) w.resolve();
      else keep.push(w);
    }
    this.roomWaiters = keep;
  }

  /**
   * The group commit: buffered samples become durable and sendable; every few seconds it also
   * deletes what was acknowledged. Never throws: a failure is counted, logged (at most every
   * 10 s) and retried at the next tick with nothing lost from memory.
   */
  commit(maintain?: boolean, force = false): void {
    const now = this.clock.now();
    if (this.commitFailures > 0 && now < this.retryCommitAt && !force) return;
    const due = maintain ?? now - this.lastMaintain >= MAINTAIN_EVERY_MS;
    this.spool.setMemoryLimit(this.stats.apiUp ? Math.min(DRAIN_MEMORY_ROWS, this.spool.pointCount * this.o.batch.maxValues) : 0);
    let result;
    try {
      result = this.spool.commit(due);
    } catch (err) {
      this.stats.commitErrors++;
      this.retryCommitAt = now + Math.min(COMMIT_RETRY_MAX_MS, COMMIT_RETRY_MS * 2 ** Math.min(this.commitFailures, 10));
      this.commitFailures++;
      if (now - this.lastCommitError >= LOUD_EVERY_MS) {
        this.lastCommitError = now;
        this.log.error({ event: "spool_commit_failed", err: (err as Error).message, buffered: this.spool.buffered }, "spool commit failed; values are kept in memory and the commit is retried");
      }
      return;
    }
    this.commitFailures = 0;
    if (due) this.lastMaintain = now;
    if (result.droppedOldest > 0) this.spoolFull(undefined, result.droppedOldest);
    for (const [pointId, firstArrived] of result.added) this.scheduler.update(pointId, this.spool.unread(pointId), firstArrived);
    this.wakeRoom(); // maintenance shrinks the file's bytes, dropOldest the backlog
  }

  /** Backfill checkpoints of a job, written in the engine's commits with the samples they stand for. */
  checkpoints(job: string): Checkpoints {
    return this.spool.checkpoints(job);
  }

  /** Newest timestamp ever spooled per point: where a gap after a stop starts. */
  lastTimestamps(): Map<string, number> {
    return this.spool.lastTimestamps();
  }

  deadLetters(): DeadLetterSummary {
    return this.spool.deadLetters.summary();
  }

  spoolStatus(): { rows: number; bytes: number; maxBytes: number; oldestArrival: number | undefined } {
    return { rows: this.spool.rows, bytes: this.spool.bytes, maxBytes: this.o.spool.maxBytes, oldestArrival: this.spool.oldestArrival() };
  }

  /**
   * Send everything now (maxDelay no longer waited for): true once nothing is unsent, false at the
   * deadline, which `stop` brings forward to `stop.ms` after its signal aborts.
   */
  async drain(timeoutMs: number, stop?: DrainStop): Promise<boolean> {
    this.commit(true);
    this.scheduler.flushAll(this.spool.backlog().map((b) => b.pointId));
    this.sender.wake();
    return this.sender.drain(timeoutMs, () => this.commit(true), stop);
  }

  /**
   * Make everything durable, send what can be sent within graceMs (or `stop.ms` once its signal
   * aborts), close. What is left stays in the spool for the next run. Returns the number of values left.
   */
  async finish(graceMs: number, stop?: DrainStop): Promise<number> {
    if (this.finished) return this.backlog;
    this.finished = true;
    this.timer?.cancel();
    // A reader still waiting for room goes on (its values stay buffered for this last commit).
    this.releaseRoom(() => true);
    const drained = await this.drain(graceMs, stop);
    this.sender.stop();
    this.scheduler.stop();
    await (drained ? this.o.api.close() : this.o.api.destroy());
    await this.sender.whenIdle(); // aborted requests end before the spool closes under them
    this.commit(true, true); // the last acknowledgements, before counting what is left
    const left = this.backlog;
    try {
      this.spool.close();
    } catch (err) {
      this.log.error({ event: "spool_close_failed", err: (err as Error).message, buffered: this.spool.buffered }, "spool could not be written at the end: values received since the last successful commit are lost");
    }
    if (left > 0) {
      if (this.o.spool.values === "memory") this.log.warn({ event: "drain_timeout", left }, "drain timeout: values not acknowledged by the API; those held in memory only are read again by the next run, any in the spool's file are sent by it");
      else this.log.warn({ event: "drain_timeout", left }, "drain timeout: values left in the spool; they are sent at the next start");
    }
    return left;
  }

  private scheduleBacklog(): void {
    for (const b of this.spool.backlog()) this.scheduler.update(b.pointId, this.spool.unread(b.pointId), b.firstArrived);
  }

  private spoolFull(pointId: string | undefined, n: number): void {
    if (pointId) this.stats.drop(pointId, "spool_full", n);
    else this.stats.dropped.spool_full = (this.stats.dropped.spool_full ?? 0) + n;
    const now = this.clock.now();
    if (now - this.lastFullWarning < 6 * LOUD_EVERY_MS) return;
    this.lastFullWarning = now;
    const { maxBytes, whenFull } = this.o.spool;
    this.log.error(
      { event: "spool_full", maxBytes, whenFull, droppedTotal: this.stats.dropped.spool_full, backlog: this.spool.rows },
      whenFull === "dropOldest" ? "SPOOL FULL: deleting the oldest unsent values" : "SPOOL FULL: refusing new values",
    );
  }
}
