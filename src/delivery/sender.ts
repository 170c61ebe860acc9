import type { Logger } from "pino";
import type { SendResult } from "../ingest/result.js";
import { backoffMs, type BackoffOptions } from "../ingest/retry.js";
import type { Spool, SpoolRow } from "../spool/spool.js";
import type { Clock, Timer } from "../core/clock.js";
import { dedupeMs } from "../transform/dedup.js";
import type { Scheduler } from "./scheduler.js";
import type { Stats } from "./stats.js";

/** Shortest pause after a transient failure, even when Retry-After says 0. */
const MIN_PAUSE = 250;
const MAX_RETRY_AFTER = 600_000;

export type SendFn = (pointId: string, samples: readonly SpoolRow[], overwrite: boolean) => Promise<SendResult>;

export interface SenderOptions {
  concurrency: number;
  overwrite: boolean;
  maxValues: number;
  backoff: BackoffOptions;
  /** 0 = unlimited. */
  maxRequestsPerSecond: number;
  /** 0 = retry forever; otherwise a batch failing that long goes to the dead letters. */
  retryMaxElapsedMs: number;
}

/** A drain that a stop signal shortens to `ms` from when it aborts. */
export interface DrainStop {
  signal: AbortSignal;
  ms: number;
}

/**
 * Takes due points from the scheduler, their rows from the spool, and sends them: one request in
 * flight per point (so a point's values stay in order), at most `concurrency` over all points.
 * A transient failure pauses every sender (the API is down, not one point): one backoff for all,
 * rows left in the spool, no memory held per waiting point. After the outage the backlog drains
 * at full concurrency, oldest points first.
 */
export class Sender {
  private active = 0;
  private stopped = false;
  private pausedUntil = 0;
  private failures = 0;
  private pauseTimer: Timer | undefined;
  private nextSendAt = 0;
  private apiDownSince: number | undefined;
  private readonly failingSince = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];
  /** One request in flight per point: a point made due again meanwhile waits for its request to end. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly opts: SenderOptions,
    private readonly spool: Spool,
    private readonly scheduler: Scheduler,
    private readonly send: SendFn,
    private readonly stats: Stats,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** After each request's outcome was applied (acknowledged, released or dead-lettered). */
    private readonly settled: () => void = () => {},
  ) {}

  /** Start workers for due points, up to the concurrency limit. */
  wake(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    if (now < this.pausedUntil) {
      this.pauseTimer ??= this.clock.setTimeout(() => {
        this.pauseTimer = undefined;
        this.wake();
      }, this.pausedUntil - now);
      return;
    }
    while (this.active < this.opts.concurrency) {
      const pointId = this.scheduler.next();
      if (pointId === undefined) break;
      if (this.busy.has(pointId)) continue; // rescheduled when its own request ends
      this.busy.add(pointId);
      this.active++;
      void this.work(pointId).finally(() => {
        this.busy.delete(pointId);
        this.active--;
        this.settled();
        // Due again? By count at once, otherwise maxDelay after its oldest remaining value arrived.
        // Only now, with the point no longer busy, so it can never have two requests in flight.
        if (!this.stopped) this.scheduler.update(pointId, this.spool.unread(pointId), this.spool.firstUnreadArrival(pointId));
        this.wake();
        if (this.active === 0) this.notifyIdle();
      });
    }
  }

  /**
   * Resolves true once nothing is in flight or stored unsent; false at the deadline. With `stop`, the
   * deadline is at most `stop.ms` after its signal aborts (noticed within 50 ms; from now if it already
   * has): an operator's Ctrl-C cuts a long drain short without losing what stays in the spool.
   */
  async drain(timeoutMs: number, commit: () => void = () => void this.spool.commit(), stop?: DrainStop): Promise<boolean> {
    let deadline = this.clock.now() + timeoutMs;
    let shortened = false;
    for (;;) {
      commit(); // the owner's commit: makes the buffered rows sendable
      if (this.active === 0 && this.spool.rows === 0 && this.spool.buffered === 0) return true;
      if (!shortened && stop?.signal.aborted) {
        shortened = true;
        deadline = Math.min(deadline, this.clock.now() + stop.ms);
      }
      const left = deadline - this.clock.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = this.clock.setTimeout(resolve, Math.min(left, 50));
        this.idleWaiters.push(() => {
          t.cancel();
          resolve();
        });
      });
    }
  }

  /** Resolves when no request is in flight (after stop: once the aborted ones have ended). */
  async whenIdle(): Promise<void> {
    while (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stop sending; what is unsent stays in the spool for the next start. */
  stop(): void {
    this.stopped = true;
    this.pauseTimer?.cancel();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    this.idleWaiters.splice(0).forEach((w) => w());
  }

  private async work(pointId: string): Promise<void> {
    if (this.opts.maxRequestsPerSecond > 0) await this.pace();
    const rows = this.spool.take(pointId, this.opts.maxValues);
    if (rows.length === 0) return;
    try {
      await this.deliver(pointId, rows);
    } catch (err) {
      // The send function broke its promise never to throw: keep the rows, try again after a pause.
      this.spool.release(pointId, rows);
      const now = this.clock.now();
      this.pausedUntil = Math.max(this.pausedUntil, now + backoffMs(this.failures++, this.opts.backoff));
      this.log.error({ event: "send_failed", pointId, err: (err as Error).message }, "sending failed unexpectedly; retrying after a pause");
    }
  }

  private async deliver(pointId: string, rows: SpoolRow[]): Promise<void> {
    const { kept, duplicates } = dedupeMs(rows, this.opts.overwrite);
    this.stats.duplicates += duplicates;
    const started = performance.now();
    const result = await this.send(pointId, kept, this.opts.overwrite);
    this.stats.requests++;
    const statusKey = result.kind === "retry" ? "retry" : String(result.status);
    this.stats.onRequest?.((performance.now() - started) / 1000, statusKey);
    this.stats.byStatus[statusKey] = (this.stats.byStatus[statusKey] ?? 0) + 1;
    const now = this.clock.now();
    switch (result.kind) {
      case "accepted": {
        this.apiUp(now);
        this.failingSince.delete(pointId);
        this.spool.ack(pointId, rows);
        const conflicts = result.conflicts.length;
        const sent = kept.length - conflicts;
        const point = this.stats.point(pointId);
        this.stats.sent += sent;
        this.stats.conflicts += conflicts;
        point.sent += sent;
        point.conflicts += conflicts;
        break;
      }
      case "rejected":
        this.stats.lastApiError = { at: now, reason: `HTTP ${result.status}: ${result.detail}` };
        this.apiUp(now);
        this.failingSince.delete(pointId);
        this.deadLetter(pointId, rows, result.status, result.detail, now);
        break;
      case "retry": {
        this.stats.retries++;
        this.stats.lastApiError = { at: now, reason: result.reason };
        const since = this.failingSince.get(pointId) ?? now;
        this.failingSince.set(pointId, since);
        if (this.opts.retryMaxElapsedMs > 0 && now - since >= this.opts.retryMaxElapsedMs) {
          this.failingSince.delete(pointId);
          this.deadLetter(pointId, rows, 0, `gave up after ${Math.round((now - since) / 1000)} s of retries (ingest.retryMaxElapsed): ${result.reason}`, now);
          break;
        }
        this.spool.release(pointId, rows);
        this.apiDown(result.reason, now);
        // One step of backoff per pause, not per request that was in flight when the API went down;
        // Retry-After is honoured, at least MIN_PAUSE (0 would spin) and at most 10 minutes.
        const paused = now < this.pausedUntil;
        const step = paused ? 0 : backoffMs(this.failures++, this.opts.backoff);
        const delay = result.afterMs === undefined ? step : Math.min(MAX_RETRY_AFTER, Math.max(MIN_PAUSE, result.afterMs));
        this.pausedUntil = Math.max(this.pausedUntil, now + delay);
        break;
      }
    }
  }

  private deadLetter(pointId: string, rows: readonly SpoolRow[], status: number, detail: string, now: number): void {
    this.spool.deadLetter(pointId, rows, status, detail, this.opts.overwrite, now);
    this.stats.drop(pointId, "dead_letter", rows.length);
    this.log.error({ event: "dead_letter", pointId, status, detail, values: rows.length }, "batch refused for good; kept in the dead letters (opcua-ingest deadletter list)");
  }

  private apiDown(reason: string, now: number): void {
    if (this.apiDownSince !== undefined) return;
    this.apiDownSince = now;
    this.stats.apiUp = false;
    this.log.warn({ event: "api_down", reason }, "API unavailable; values wait in the spool, retrying with backoff");
  }

  private apiUp(now: number): void {
    this.failures = 0;
    this.stats.lastApiSuccess = now;
    if (this.apiDownSince === undefined) return;
    this.log.info({ event: "api_up", downMs: now - this.apiDownSince, backlog: this.spool.rows }, "API available again; draining the spool");
    this.apiDownSince = undefined;
    this.stats.apiUp = true;
  }

  /** Request-rate limit: space request starts 1/rate apart. */
  /** Only with a rate limit (work() asks first: an async call costs a promise even when it returns at once). */
  private async pace(): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.nextSendAt);
    this.nextSendAt = at + 1000 / this.opts.maxRequestsPerSecond;
    if (at > now) await new Promise<void>((r) => this.clock.setTimeout(r, at - now));
  }
}
