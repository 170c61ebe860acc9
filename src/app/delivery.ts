import type { Logger } from "pino";
import type { Mapping } from "../config/types.js";
import type { Clock } from "../core/clock.js";
import { DeliveryEngine } from "../delivery/engine.js";
import type { SpoolOptions } from "../spool/spool.js";
import { IngestClient } from "../ingest/client.js";

export interface DeliveryChoices {
  file: string;
  overwrite: boolean;
  whenFull?: SpoolOptions["whenFull"];
  /** History can be read again: no fsync per commit (backfill, repair). Live keeps full durability. */
  durability?: SpoolOptions["durability"];
  /** Values the source can read again (backfill): held in memory only, checkpoints wait for the API. */
  values?: SpoolOptions["values"];
  clock?: Clock;
}

/** The delivery engine and its API client from a mapping: the same for every command that sends. */
export function buildDelivery(mapping: Mapping, log: Logger, c: DeliveryChoices): { engine: DeliveryEngine; client: IngestClient } {
  const { ingest, batch, spool } = mapping;
  const client = new IngestClient(ingest, c.clock);
  if (ingest.tlsInsecure) log.warn({ event: "tls_insecure", api: ingest.baseUrl }, "ingest.tlsInsecure is on: the API's TLS certificate is not verified; anyone on the path could read the token and the data");
  const engine = new DeliveryEngine({
    spool: { file: c.file, maxBytes: spool.maxBytes, whenFull: c.whenFull ?? spool.whenFull, ...(c.durability && { durability: c.durability }), ...(c.values && { values: c.values }) },
    commitIntervalMs: spool.commitIntervalMs,
    batch: { maxValues: batch.maxValues, maxDelayMs: batch.maxDelayMs },
    sender: {
      concurrency: ingest.concurrency,
      overwrite: c.overwrite,
      maxRequestsPerSecond: ingest.maxRequestsPerSecond,
      retryMaxElapsedMs: ingest.retryMaxElapsedMs,
      retryMaxDelayMs: ingest.retryMaxDelayMs,
    },
    api: { send: (pointId, rows, overwrite) => client.send(pointId, rows, overwrite), close: () => client.close(), destroy: () => client.destroy() },
    log,
    ...(c.clock && { clock: c.clock }),
  });
  return { engine, client };
}
