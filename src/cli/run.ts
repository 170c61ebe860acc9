import type { Logger } from "pino";
import type { Mapping } from "../config/types.js";
import { loadMapping } from "../config/index.js";
import { formatShard, parseShard, selectShard, ShardError, type Shard } from "../flows/shard.js";
import { defineCommand, lockState } from "./command.js";
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

export const runSpec = defineCommand({
  name: "run",
  synopsis: "--config FILE [--drain-timeout 10s] [--shard INDEX/COUNT|auto/COUNT]",
  summary: "live mode until SIGINT/SIGTERM (then flush and exit 0)",
  description: `Streams every value change of the mapped OPC UA nodes to the Ingest API until SIGINT/SIGTERM.
Values are kept in a durable spool (state/spool.db) until the API acknowledged them.
On the first signal it stops the subscriptions and sends what it can within --drain-timeout;
the rest stays in the spool for the next start. A second signal exits at once.
SIGHUP, or saving the mapping file, reloads the mapping: points are added, removed and retuned
without a gap for the others; an invalid mapping is logged and the old one kept.
One writer per state folder: a second run, backfill, reconcile --repair or deadletter retry|purge
on the same state folder exits 1 naming this process.
Logs are JSON lines on stdout. Exit 0 after a stop, 1 if the OPC UA session or the spool could
not be opened (or the state folder is in use), 2 for a bad mapping.`,
  flags: {
    config: { type: "string", short: "c", arg: "FILE", help: "the mapping YAML" },
    "drain-timeout": { type: "string", arg: "DURATION", default: "10s", help: "after the first signal, send for at most this long" },
    shard: {
      type: "string",
      arg: "INDEX/COUNT",
      help: `run one of COUNT replicas on the same mapping: take only the points whose stable
hash of the pointId falls in shard INDEX (0-based). auto/COUNT takes INDEX from
the hostname's trailing -N (StatefulSet pods opcua-ingest-0, -1, ...). Changing
COUNT moves points between replicas. A shard with no points is an error (exit 2).`,
    },
  },
  run: (a) => runCommand(a.required("config", "the mapping YAML"), a.duration("drain-timeout")!, a.logger(), { shard: a.string("shard") }),
});

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
  const lock = lockState(mapping.state, log);
  try {
    return await live(configFile, mapping, shard, drainTimeoutMs, log);
  } finally {
    lock.release();
  }
}

async function live(configFile: string, mapping: Mapping, shard: Shard | undefined, drainTimeoutMs: number, log: Logger): Promise<number> {
  // node-opcua loads only now: usage errors and a state folder in use answer at once.
  const { LiveConnector } = await import("../app/live.js");
  const connector = new LiveConnector(mapping, log);
  const terminated = onceTerminated(() => {
    log.error({ event: "second_signal" }, "second signal: exiting without waiting for the drain");
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
