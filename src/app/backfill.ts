import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import { runBackfill, type BackfillOptions, type BackfillResult } from "../flows/backfill.js";
import { buildDelivery, type DeliveryChoices } from "./delivery.js";
import { backfillSpoolFile } from "./files.js";

/**
 * The backfill's spool (state/backfill.db, so a live connector's spool is never touched). History
 * can be read again, so the values are not written at all: they are held in memory, and a window's
 * checkpoint is written once the API settled every value of it (a crash or a stop reads the windows
 * not yet settled again; the API answers values it already has as conflicts, or with --overwrite
 * takes them again). What the file still holds (checkpoints, dead letters) skips the fsync per
 * commit: a power loss can only take back checkpoints, whose windows are then read again. Measured:
 * the values' writes cost the backfill 9–20 % of its rate (README, Performance).
 */
export const BACKFILL_SPOOL = { whenFull: "dropNewest", durability: "normal", values: "memory" } as const satisfies Partial<DeliveryChoices>;

/** `opcua-ingest backfill` put together: the backfill flow on a delivery engine of its own. */
export function backfill(o: Omit<BackfillOptions, "engine" | "spoolFile"> & { log: Logger; clock?: Clock }): Promise<BackfillResult> {
  const file = backfillSpoolFile(o.mapping.state);
  const engine = o.dryRun ? undefined : buildDelivery(o.mapping, o.log, { file, overwrite: o.overwrite, ...BACKFILL_SPOOL, ...(o.clock && { clock: o.clock }) }).engine;
  return runBackfill({ ...o, engine, spoolFile: file });
}
