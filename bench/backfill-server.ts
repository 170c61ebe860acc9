// The backfill benchmark's OPC UA server, a process of its own: test/helpers/historian.ts with
// `points` historizing variables of `values` past values each. Announces itself over IPC:
//   { id: 0, endpoint, nodeIds: string[] (mapping form), stored, fillMs, startMs, stepMs }
// and runs until the benchmark disconnects.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HistorianServer } from "../test/helpers/historian.js";

const points = Number(process.argv[2] ?? 30);
const values = Number(process.argv[3] ?? 10_000);
const startMs = Number(process.argv[4] ?? Date.UTC(2024, 0, 1));
const stepMs = Number(process.argv[5] ?? 1_000);

const pkiDir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-historian-"));
const server = await HistorianServer.start({ pkiDir, points, valuesPerPoint: values, startMs, stepMs });
let stored = 0;
for (const h of server.history.values()) stored += h.length;
process.on("disconnect", () => {
  void server.stop().finally(() => {
    rmSync(pkiDir, { recursive: true, force: true });
    process.exit(0);
  });
});
process.send!({ id: 0, endpoint: server.endpoint, nodeIds: server.names.map((n) => server.nodeId(n)), stored, fillMs: server.fillMs, startMs, stepMs });
