import { IngestClient } from "../ingest/client.js";
import { runReconcile, type ReconcileOptions, type ReconcileResult } from "../flows/reconcile.js";
import { buildDelivery } from "./delivery.js";
import { reconcileSpoolFile } from "./files.js";

/**
 * `opcua-ingest reconcile` put together: with --repair, the missing values go through a delivery
 * engine of its own (state/reconcile.db), whose API client also reads the API back; without, a
 * client only reads.
 */
export function reconcile(o: Omit<ReconcileOptions, "engine" | "client">): Promise<ReconcileResult> {
  if (!o.repair) return runReconcile({ ...o, client: new IngestClient(o.mapping.ingest) });
  const { engine, client } = buildDelivery(o.mapping, o.log, { file: reconcileSpoolFile(o.mapping.state), overwrite: o.overwrite, whenFull: "dropNewest", durability: "normal" });
  return runReconcile({ ...o, engine, client });
}
