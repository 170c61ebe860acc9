import type { Logger } from "pino";
import type { Mapping } from "../config/types.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import type { Stats } from "../delivery/stats.js";
import { LiveFlow } from "../flows/live.js";
import type { IngestClient } from "../ingest/client.js";
import type { SourceStatus } from "../opcua/source.js";
import { createMetrics } from "../ops/metrics.js";
import { startOpsServer } from "../ops/server.js";
import { createStatusRoutes, type StatusView } from "../ops/status.js";
import type { DeadLetterSummary } from "../spool/deadletters.js";
import { buildDelivery } from "./delivery.js";
import { spoolFile } from "./files.js";
import { tuneHeap } from "./heap.js";

/**
 * `opcua-ingest run` put together: the live flow on the delivery engine (state/spool.db), the API
 * client, and the ops server (health, metrics, status page) over a read-only view of them.
 */
export class LiveConnector implements StatusView {
  readonly engine: DeliveryEngine;
  readonly flow: LiveFlow;
  private readonly client: IngestClient;
  private ops: { url: string; close(): Promise<void> } | undefined;

  constructor(
    mapping: Mapping,
    private readonly log: Logger,
    clock: Clock = systemClock,
  ) {
    tuneHeap(mapping.points.length, log);
    ({ engine: this.engine, client: this.client } = buildDelivery(mapping, log, { file: spoolFile(mapping.state), overwrite: mapping.ingest.overwrite, clock }));
    this.flow = new LiveFlow(mapping, this.engine, log, clock);
  }

  async start(): Promise<void> {
    const { mapping, engine } = this;
    const spooled = engine.spool.rows;
    this.log.info(
      { event: "starting", points: mapping.points.length, sources: mapping.sources.map((s) => ({ name: s.name, endpoint: s.endpoint })), api: mapping.ingest.baseUrl, spooled },
      spooled ? "starting; sending what the spool kept from before" : "starting",
    );
    engine.start();
    const { listen, token, perPointMetrics } = mapping.ops;
    if (listen) this.ops = await startOpsServer(this, createMetrics(this, perPointMetrics), { listen, ...(token && { token }) }, this.log, [createStatusRoutes(this, { token, log: this.log }).handle]);
    await this.flow.start();
  }

  reload(next: Mapping): Promise<void> {
    return this.flow.reload(next);
  }

  /**
   * Stop receiving, make everything durable, send what can be sent within graceMs. What is left
   * stays in the spool for the next start. Returns the number of values left.
   */
  async stop(graceMs: number): Promise<number> {
    await this.flow.stop();
    await this.ops?.close();
    const left = await this.engine.finish(graceMs);
    const s = this.stats;
    this.log.info({ event: "stopped", received: s.received, sent: s.sent, conflicts: s.conflicts, merged: s.duplicates, dropped: s.dropped, left }, "stopped");
    return left;
  }

  // The read-only view for ops/ (metrics, /readyz, status page).

  get mapping(): Mapping {
    return this.flow.mapping;
  }
  get stats(): Stats {
    return this.engine.stats;
  }
  get source(): LiveFlow["source"] {
    return this.flow.source;
  }
  get sourceState(): string {
    return this.flow.sourceState;
  }
  /** Values received and not yet acknowledged by the API. */
  get backlog(): number {
    return this.engine.backlog;
  }
  /** Base URL of /healthz, /readyz, /metrics (undefined when ops.listen is off). */
  get opsUrl(): string | undefined {
    return this.ops?.url;
  }
  sources(): SourceStatus[] {
    return this.source.status();
  }
  spoolStatus(): ReturnType<DeliveryEngine["spoolStatus"]> {
    return this.engine.spoolStatus();
  }
  deadLetters(): DeadLetterSummary {
    return this.engine.deadLetters();
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
}
