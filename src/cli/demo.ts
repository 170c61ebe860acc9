import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";
import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import type { Stats } from "../delivery/stats.js";
import { defineCommand } from "./command.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

const DEMO_MAPPING = fileURLToPath(new URL("../../mappings/demo.yaml", import.meta.url));

function table(stats: Stats, elapsedS: number): string {
  const rows = [...stats.points].map(([id, p]) =>
    `  ${id.padEnd(22)} ${String(p.received).padStart(8)} ${String(p.sent).padStart(8)} ${String(p.conflicts).padStart(9)}  ${(p.lastValue ?? "").slice(0, 24)}`,
  );
  const rate = elapsedS > 0 ? (stats.sent / elapsedS).toFixed(1) : "0";
  return [
    `  ${"point".padEnd(22)} ${"read".padStart(8)} ${"sent".padStart(8)} ${"conflicts".padStart(9)}  last value`,
    ...rows,
    `  total: read ${stats.received}, sent ${stats.sent} (${rate}/s), conflicts ${stats.conflicts}, merged within a ms ${stats.duplicates}, dropped ${stats.droppedTotal}, requests ${stats.requests}`,
  ].join("\n");
}

export const demoSpec = defineCommand({
  name: "demo",
  quietLog: true,
  synopsis: "[--duration DURATION]",
  summary: "simulated plant + API emulator + connector on mappings/demo.yaml",
  description: `Starts a simulated plant (an OPC UA server on 127.0.0.1 with a few realistic signals), the Ingest
API emulator and the connector on mappings/demo.yaml, and prints a live summary. Ctrl-C stops it
cleanly; --duration stops it after that long.`,
  flags: {
    duration: { type: "string", arg: "DURATION", help: "stop after this long (default: until Ctrl-C)" },
  },
  run: (a) => demoCommand(a.duration("duration"), a.logger(process.stderr)),
});

/** Simulated plant + API emulator + the connector on mappings/demo.yaml, with a live summary. */
export async function demoCommand(durationMs: number | undefined, log: Logger): Promise<number> {
  const [{ startEmulator }, { DemoPlant }, { LiveConnector }] = await Promise.all([import("../dev/emulator.js"), import("../dev/plant.js"), import("../app/live.js")]);
  const stateDir = join(dirname(DEMO_MAPPING), "..", "state", "demo");
  const plant = await DemoPlant.start(join(stateDir, "plant-pki"));
  const emulator = await startEmulator();
  process.env.DEMO_OPCUA_ENDPOINT = plant.server.endpoint;
  process.env.DEMO_API_URL = emulator.baseUrl;
  process.env.DEMO_TOKEN_URL = emulator.tokenUrl;
  const mapping = loadMapping(DEMO_MAPPING);
  const connector = new LiveConnector(mapping, log);
  console.log(`opcua-ingest demo
  simulated plant (OPC UA): ${plant.server.endpoint}
  Ingest API emulator:      ${emulator.baseUrl}
  mapping:                  ${DEMO_MAPPING} (${mapping.points.length} points)
${durationMs ? `Running for ${durationMs / 1000}s` : "Ctrl-C to stop"}.`);

  const started = Date.now();
  await connector.start();
  if (connector.opsUrl) console.log(`  status page:              ${connector.opsUrl}/  (health and metrics: ${connector.opsUrl}/metrics  ${connector.opsUrl}/readyz)`);
  const tty = process.stdout.isTTY;
  let lines = 0;
  const print = () => {
    const text = table(connector.stats, (Date.now() - started) / 1000);
    if (tty && lines) process.stdout.write(`\x1b[${lines}A\x1b[0J`);
    process.stdout.write(`${text}\n`);
    lines = text.split("\n").length;
  };
  const ticker = setInterval(print, tty ? 1_000 : 5_000);
  const stopSignal = onceTerminated(() => process.exit(EXIT.failure));
  await (durationMs ? Promise.race([stopSignal, new Promise((r) => setTimeout(r, durationMs))]) : stopSignal);
  clearInterval(ticker);

  const unsent = await connector.stop(10_000);
  const elapsedS = (Date.now() - started) / 1000;
  lines = 0;
  print();
  const e = emulator.stats();
  const rssMb = (process.memoryUsage().rss / 1048576).toFixed(0);
  console.log(`  emulator stored ${e.valuesStored} values in ${e.requests} requests (${(e.valuesStored / elapsedS).toFixed(1)} values/s); RSS ${rssMb} MB`);
  console.log(unsent === 0 ? "Stopped cleanly: everything read was delivered." : `Stopped with ${unsent} values undelivered.`);
  await plant.stop();
  await emulator.close();
  return unsent === 0 ? EXIT.ok : EXIT.failure;
}
