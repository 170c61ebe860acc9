import type { Logger } from "pino";
import type { Mapping } from "../config/types.js";
import { IngestClient } from "../ingest/client.js";
import { Spool } from "../spool/spool.js";
import { systemClock, type Clock, type Timer } from "../core/clock.js";
import { Scheduler } from "./scheduler.js";
import { Sender } from "./sender.js";
import { Stats } from "./stats.js";
import type { Sample } from "../core/types.js";

/** Rows that trigger a commit before the interval is up, so a burst does not pile up in memory. */
const COMMIT_ROWS = 5_000;

/**
 * The delivery half of the pipeline for one-shot commands (reconcile's repair): samples in, a
 * durable spool of its own, the scheduler and sender, the API. `finish` drains and closes.
 */
export class Delivery {
  readonly stats = new Stats();
  readonly spool: Spool;
  private readonly client: IngestClient;
  private readonly scheduler: Scheduler;
  private readonly sender: Sender;
  private timer: Timer | undefined;

  constructor(mapping: Mapping, file: string, overwrite: boolean, log: Logger, private readonly clock: Clock = systemClock) {
    const { ingest, batch } = mapping;
    this.client = new IngestClient(ingest);
    this.spool = new Spool({ file, maxBytes: mapping.spool.maxBytes, whenFull: "dropNewest" });
    this.scheduler = new Scheduler(batch.maxValues, batch.maxDelayMs, clock, () => this.sender.wake());
    this.sender = new Sender(
      {
        concurrency: ingest.concurrency, overwrite, maxValues: batch.maxValues,
        backoff: { initialMs: 500, maxMs: ingest.retryMaxDelayMs },
        maxRequestsPerSecond: ingest.maxRequestsPerSecond, retryMaxElapsedMs: ingest.retryMaxElapsedMs,
      },
      this.spool, this.scheduler, (pointId, rows, ow) => this.client.send(pointId, rows, ow), this.stats, clock, log,
    );
    for (const b of this.spool.backlog()) this.scheduler.update(b.pointId, this.spool.unread(b.pointId), b.firstArrived);
    const tick = () => {
      this.commit();
      this.timer = clock.setTimeout(tick, mapping.spool.commitIntervalMs);
    };
    this.timer = clock.setTimeout(tick, mapping.spool.commitIntervalMs);
  }

  /** False when the spool is full (the sample is counted as dropped). */
  append(sample: Sample): boolean {
    const ok = this.spool.append(sample, this.clock.now());
    if (!ok) this.stats.drop(sample.pointId, "spool_full");
    else if (this.spool.buffered >= COMMIT_ROWS) this.commit();
    return ok;
  }

  private commit(): void {
    for (const [pointId, first] of this.spool.commit().added) this.scheduler.update(pointId, this.spool.unread(pointId), first);
  }

  /** Send everything (at most timeoutMs), close; returns the values left in the spool for a next run. */
  async finish(timeoutMs: number): Promise<number> {
    this.timer?.cancel();
    this.commit();
    this.scheduler.flushAll(this.spool.backlog().map((b) => b.pointId));
    this.sender.wake();
    const drained = await this.sender.drain(timeoutMs, () => this.commit());
    this.sender.stop();
    this.scheduler.stop();
    await (drained ? this.client.close() : this.client.destroy());
    await this.sender.whenIdle();
    this.commit(); // the last acknowledgements, before counting what is left
    const left = this.spool.rows;
    this.spool.close();
    return left;
  }

  /** For the API read-back of the same command: one token cache and connection pool. */
  get api(): IngestClient {
    return this.client;
  }
}
