import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import { runBackfill, type BackfillOptions, type BackfillResult } from "../flows/backfill.js";
import { buildDelivery } from "./delivery.js";
import { backfillSpoolFile } from "./files.js";

export { backfillSpoolFile };

/**
 * `opcua-ingest backfill` put together: the backfill flow on a delivery engine of its own
 * (state/backfill.db, so a live connector's spool is never touched). History can be read again, so
 * the spool skips the fsync per commit: values and their checkpoints commit in one transaction, and
 * a power loss can only take both back together (those windows are read again).
 */
export function backfill(o: Omit<BackfillOptions, "engine" | "spoolFile"> & { log: Logger; clock?: Clock }): Promise<BackfillResult> {
  const file = backfillSpoolFile(o.mapping.state);
  const engine = o.dryRun
    ? undefined
    : buildDelivery(o.mapping, o.log, { file, overwrite: o.overwrite, whenFull: "dropNewest", durability: "normal", ...(o.clock && { clock: o.clock }) }).engine;
  return runBackfill({ ...o, engine, spoolFile: file });
}
