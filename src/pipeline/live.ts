import type { Logger } from "pino";
import type { Mapping } from "../config/types.js";
import { IngestClient } from "../ingest/client.js";
import { OpcuaSource, type SourceState } from "../opcua/source.js";
import { Batcher } from "./batcher.js";
import { systemClock } from "./clock.js";
import { convert } from "./convert.js";
import { DeadLetterFile } from "./deadletter.js";
import { Sender } from "./sender.js";
import { Stats, type PointCounters } from "./stats.js";

/** Live mode: OPC UA notifications → conversion → per-point batches → the API. */
export class LiveConnector {
  readonly stats = new Stats();
  sourceState: SourceState = "connecting";
  readonly source: OpcuaSource;
  readonly deadLetters: DeadLetterFile;
  private readonly client: IngestClient;
  private readonly batcher: Batcher;
  private readonly sender: Sender;

  constructor(
    readonly mapping: Mapping,
    private readonly log: Logger,
  ) {
    const { ingest, batch, points } = mapping;
    this.client = new IngestClient(ingest);
    this.deadLetters = new DeadLetterFile(mapping.state);
    this.sender = new Sender(
      { concurrency: ingest.concurrency, overwrite: ingest.overwrite, backoff: { initialMs: 500, maxMs: ingest.retryMaxDelayMs }, maxRequestsPerSecond: ingest.maxRequestsPerSecond },
      (pointId, samples, overwrite) => this.client.send(pointId, samples, overwrite),
      (b, r) => this.deadLetters.write(b, r.status, r.detail),
      this.stats,
      systemClock,
      log,
    );
    this.batcher = new Batcher(
      { maxValues: batch.maxValues, maxDelayMs: batch.maxDelayMs, overwrite: ingest.overwrite },
      systemClock,
      (b) => this.sender.enqueue(b),
      () => this.stats.duplicates++,
    );
    // Per-point counters resolved once, not looked up per value.
    const counters: PointCounters[] = points.map((p) => this.stats.point(p.pointId));
    const stats = this.stats;
    this.source = new OpcuaSource(mapping.opcua, points, mapping.state, log, {
      value: (index, raw) => {
        const point = points[index]!;
        const c = counters[index]!;
        stats.received++;
        c.received++;
        const r = convert(point.pointId, raw, point);
        if (!r.ok) {
          stats.drop(point.pointId, r.reason);
          return;
        }
        if (r.fallback) stats.timestampFallback[r.fallback]++;
        c.lastValue = r.sample.value;
        c.lastTs = r.sample.ts;
        this.batcher.add(r.sample);
      },
      state: (s) => (this.sourceState = s),
    });
  }

  async start(): Promise<void> {
    this.log.info({ points: this.mapping.points.length, endpoint: this.mapping.opcua.endpoint, api: this.mapping.ingest.baseUrl }, "starting");
    await this.source.start();
  }

  /** Values waiting in open batches, queued or in flight. */
  get backlog(): number {
    return this.batcher.pending + this.sender.backlog;
  }

  /**
   * Stop receiving, flush every open batch and wait (at most graceMs) for the API to take them.
   * Returns the number of values that could not be delivered in time.
   */
  async stop(graceMs: number): Promise<number> {
    await this.source.stop();
    this.batcher.flushAll();
    const drained = await this.sender.drain(graceMs);
    const unsent = drained ? 0 : this.sender.stop();
    if (unsent > 0) {
      this.stats.dropped.shutdown = unsent;
      this.log.error({ unsent }, "shutdown grace period over: values not delivered");
    }
    await (drained ? this.client.close() : this.client.destroy());
    this.log.info({ received: this.stats.received, sent: this.stats.sent, conflicts: this.stats.conflicts, dropped: this.stats.dropped }, "stopped");
    return unsent;
  }
}
