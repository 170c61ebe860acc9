import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import { LiveConnector } from "../pipeline/live.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

/** `opcua-ingest run`: live mode until SIGINT/SIGTERM, then flush, drain (bounded) and exit. */
export async function runCommand(configFile: string, drainTimeoutMs: number, log: Logger): Promise<number> {
  const mapping = loadMapping(configFile);
  const connector = new LiveConnector(mapping, log);
  const terminated = onceTerminated(() => {
    log.error("second signal: exiting without waiting for the drain");
    process.exit(EXIT.failure);
  });
  const started = connector.start();
  const first = await Promise.race([started.then(() => "started" as const), terminated]);
  if (first === "started") {
    const signal = await terminated;
    log.info({ signal, backlog: connector.backlog }, "stopping: flushing open batches");
  }
  const unsent = await connector.stop(drainTimeoutMs);
  await started.catch(() => {}); // a start interrupted by the signal is not an error
  return unsent === 0 ? EXIT.ok : EXIT.failure;
}
