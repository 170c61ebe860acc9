import type { Logger } from "pino";
import type { SendResult } from "../ingest/result.js";
import { backoffMs, type BackoffOptions } from "../ingest/retry.js";
import type { Batch } from "./batcher.js";
import type { Clock } from "./clock.js";
import type { Stats } from "./stats.js";
import type { Sample } from "./types.js";

export type SendFn = (pointId: string, samples: readonly Sample[], overwrite: boolean) => Promise<SendResult>;

export interface SenderOptions {
  concurrency: number;
  overwrite: boolean;
  backoff: BackoffOptions;
  /** 0 = unlimited. */
  maxRequestsPerSecond: number;
}

interface PointQueue {
  batches: Batch[];
  busy: boolean;
}

/**
 * Sends batches: one request in flight per point (values of a point stay in order), at most
 * `concurrency` over all points, transient failures retried forever with jittered backoff.
 */
export class Sender {
  private readonly queues = new Map<string, PointQueue>();
  private active = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private busyPoints = 0;
  private queuedValues = 0;
  private nextSendAt = 0;
  private stopped = false;
  private apiDownSince: number | undefined;
  private readonly sleeps = new Set<() => void>();

  constructor(
    private readonly opts: SenderOptions,
    private readonly send: SendFn,
    private readonly deadLetter: (batch: Batch, result: Extract<SendResult, { kind: "rejected" }>) => void,
    private readonly stats: Stats,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  enqueue(batch: Batch): void {
    let q = this.queues.get(batch.pointId);
    if (!q) {
      q = { batches: [], busy: false };
      this.queues.set(batch.pointId, q);
    }
    q.batches.push(batch);
    this.queuedValues += batch.samples.length;
    if (!q.busy && !this.stopped) void this.pump(q);
  }

  /** Values queued or in flight. */
  get backlog(): number {
    return this.queuedValues;
  }

  /** Resolves true once everything queued was sent (or dead-lettered), false at the deadline. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.busyPoints === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        timer.cancel();
        resolve(true);
      });
    });
  }

  /** Stop retrying and sending; what is still queued stays unsent. Returns its value count. */
  stop(): number {
    this.stopped = true;
    for (const wake of this.sleeps) wake();
    return this.queuedValues;
  }

  private async pump(q: PointQueue): Promise<void> {
    q.busy = true;
    this.busyPoints++;
    try {
      for (let batch = q.batches[0]; batch && !this.stopped; batch = q.batches[0]) {
        await this.deliver(batch);
        q.batches.shift();
        this.queuedValues -= batch.samples.length;
      }
    } finally {
      q.busy = false;
      if (--this.busyPoints === 0) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  /** Until the batch is accepted or rejected (or the sender stops). */
  private async deliver(batch: Batch): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      await this.acquire();
      let result: SendResult;
      try {
        await this.pace();
        result = await this.send(batch.pointId, batch.samples, this.opts.overwrite);
      } finally {
        this.release();
      }
      this.stats.requests++;
      const statusKey = result.kind === "retry" ? "retry" : String(result.status);
      this.stats.byStatus[statusKey] = (this.stats.byStatus[statusKey] ?? 0) + 1;
      if (result.kind === "accepted") {
        this.apiUp();
        const point = this.stats.point(batch.pointId);
        const conflicts = result.conflicts.length;
        this.stats.sent += batch.samples.length - conflicts;
        this.stats.conflicts += conflicts;
        point.sent += batch.samples.length - conflicts;
        point.conflicts += conflicts;
        return;
      }
      if (result.kind === "rejected") {
        this.apiUp();
        this.stats.drop(batch.pointId, "dead_letter", batch.samples.length);
        this.log.error({ pointId: batch.pointId, status: result.status, detail: result.detail, values: batch.samples.length }, "API rejected a batch; written to the dead letters");
        this.deadLetter(batch, result);
        return;
      }
      this.stats.retries++;
      this.apiDown(result.reason);
      await this.sleep(result.afterMs ?? backoffMs(attempt, this.opts.backoff));
    }
  }

  private apiDown(reason: string): void {
    if (this.apiDownSince !== undefined) return;
    this.apiDownSince = this.clock.now();
    this.log.warn({ reason }, "API unavailable; retrying with backoff, nothing is dropped");
  }

  private apiUp(): void {
    if (this.apiDownSince === undefined) return;
    this.log.info({ downMs: this.clock.now() - this.apiDownSince }, "API available again");
    this.apiDownSince = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        timer.cancel();
        this.sleeps.delete(done);
        resolve();
      };
      const timer = this.clock.setTimeout(done, ms);
      this.sleeps.add(done);
    });
  }

  /** Request-rate limit: space request starts 1/rate apart. */
  private async pace(): Promise<void> {
    if (this.opts.maxRequestsPerSecond <= 0) return;
    const now = this.clock.now();
    const at = Math.max(now, this.nextSendAt);
    this.nextSendAt = at + 1000 / this.opts.maxRequestsPerSecond;
    if (at > now) await this.sleep(at - now);
  }

  private acquire(): Promise<void> {
    if (this.active < this.opts.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private release(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.active--;
  }
}
