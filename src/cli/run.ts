import type { Logger } from "pino";
import { loadMapping } from "../config/index.js";
import { LiveConnector } from "../app/live.js";
import { formatShard, parseShard, selectShard, ShardError, type Shard } from "../flows/shard.js";
import { EXIT, UsageError } from "./errors.js";
import { watchMapping } from "./reload.js";
import { onceTerminated } from "./signals.js";

export interface RunOptions {
  /** `--shard INDEX/COUNT` or `auto/COUNT`: run only this replica's share of the points. */
  shard?: string;
}

function shardOption(text: string | undefined): Shard | undefined {
  if (text === undefined) return undefined;
  try {
    return parseShard(text);
  } catch (err) {
    if (err instanceof ShardError) throw new UsageError(err.message);
    throw err;
  }
}

/** `opcua-ingest run`: live mode until SIGINT/SIGTERM, then flush, drain (bounded) and exit. */
export async function runCommand(configFile: string, drainTimeoutMs: number, log: Logger, opts: RunOptions = {}): Promise<number> {
  const shard = shardOption(opts.shard);
  const mapping = loadMapping(configFile);
  if (shard) {
    const all = mapping.points.length;
    mapping.points = selectShard(mapping.points, shard);
    if (mapping.points.length === 0) {
      throw new UsageError(
        `--shard ${formatShard(shard)}: this shard takes none of the ${all} points of ${configFile}; ` +
          `use fewer replicas (a smaller COUNT) for this mapping`,
      );
    }
    log.info({ event: "shard", shard: formatShard(shard), points: mapping.points.length, of: all }, `shard ${formatShard(shard)}: this replica takes ${mapping.points.length} of ${all} points`);
  }
  const connector = new LiveConnector(mapping, log);
  const terminated = onceTerminated(() => {
    log.error("second signal: exiting without waiting for the drain");
    process.exit(EXIT.failure);
  });
  // Until the watcher runs, a SIGHUP must not end the process (its default action).
  const earlyHup = () => log.warn("SIGHUP during start-up ignored; send it again once the connector runs");
  process.on("SIGHUP", earlyHup);
  const started = connector.start();
  const first = await Promise.race([started.then(() => "started" as const), terminated]);
  if (first === "started") {
    // SIGHUP or an edited file: validated, then applied point by point (this replica's shard only).
    process.off("SIGHUP", earlyHup);
    const watcher = watchMapping(configFile, log, (next) => {
      if (shard) next.points = selectShard(next.points, shard);
      return connector.reload(next);
    });
    const signal = await terminated;
    watcher.close();
    log.info({ event: "stopping", signal, backlog: connector.backlog }, "stopping: flushing open batches");
  }
  // What the drain timeout left is safe in the spool and goes out at the next start: still a clean stop.
  await connector.stop(drainTimeoutMs);
  await started.catch(() => {}); // a start interrupted by the signal is not an error
  return EXIT.ok;
}
