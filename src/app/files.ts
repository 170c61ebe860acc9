import { join } from "node:path";

/** The files of a state folder, one spool per command that sends: each has a single writer. */
export const spoolFile = (stateDir: string): string => join(stateDir, "spool.db");
export const backfillSpoolFile = (stateDir: string): string => join(stateDir, "backfill.db");
export const reconcileSpoolFile = (stateDir: string): string => join(stateDir, "reconcile.db");
