#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MappingError, mappingJsonSchema, parseDuration } from "../config/index.js";
import { EXIT, UsageError } from "./errors.js";
import { createLogger } from "../ops/logger.js";

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const USAGE = `opcua-ingest ${VERSION}: stream OPC UA data into the Point Value Ingest API

Usage:
  opcua-ingest run --config FILE [--drain-timeout 10s]   live mode until SIGINT/SIGTERM (then flush and exit 0)
      [--shard INDEX/COUNT|auto/COUNT]                    take only this replica's share of the points
  opcua-ingest validate --config FILE [--online]          check a mapping; exit 2 with every problem listed
                                                          (--online: also every node on the OPC UA server)
  opcua-ingest browse --endpoint URL [--root NODEID] [--depth N] [--filter PATTERN] [--point-ids CSV]
                                                          walk the address space, print a mapping skeleton (YAML)
  opcua-ingest demo [--duration 60s]                      simulated plant + API emulator + connector on mappings/demo.yaml
  opcua-ingest emulator [--port N] [--token-lifetime S] [--latency MS]
                                                          run the local Ingest API emulator
  opcua-ingest deadletter list|retry|purge --config FILE [--id N]... [--json]
                                                          batches the API refused for good: show, resend, delete
  opcua-ingest plant [--port 4840] [--host 127.0.0.1]      the demo's simulated plant alone (for compose)
  opcua-ingest schema                                     print the mapping's JSON Schema (mappings/schema.json)
  opcua-ingest backfill --config FILE --from TIME --to TIME [--point ID]... [--overwrite] [--dry-run]
                                                          historian backfill of [from, to); resumable
  opcua-ingest reconcile --config FILE --from TIME --to TIME [--point ID]... [--json] [--repair [--overwrite]]
                                                          compare the API with the historian; repair what is missing

Options on every command: --help, --log-level LEVEL (trace|debug|info|warn|error; default info, or LOG_LEVEL)
  opcua-ingest --version

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad mapping.`;

const HELP: Record<string, string> = {
  run: `opcua-ingest run --config FILE [--drain-timeout DURATION] [--shard INDEX/COUNT|auto/COUNT] [--log-level LEVEL]

Streams every value change of the mapped OPC UA nodes to the Ingest API until SIGINT/SIGTERM.
Values are kept in a durable spool (state/spool.db) until the API acknowledged them.
On the first signal it stops the subscriptions and sends what it can within --drain-timeout
(default 10s); the rest stays in the spool for the next start. A second signal exits at once.
SIGHUP, or saving the mapping file, reloads the mapping: points are added, removed and retuned
without a gap for the others; an invalid mapping is logged and the old one kept.
Logs are JSON lines on stdout. Exit 0 after a stop, 1 if the OPC UA session or the spool could
not be opened, 2 for a bad mapping.

--shard INDEX/COUNT runs one of COUNT replicas on the same mapping: this one takes only the points
whose stable hash of the pointId falls in shard INDEX (0-based). auto/COUNT takes INDEX from the
hostname's trailing -N (Kubernetes StatefulSet pods: opcua-ingest-0, -1, ...). Changing COUNT
moves points between replicas. A shard with no points is an error (exit 2).`,
  validate: `opcua-ingest validate --config FILE [--online]

Checks the mapping offline: schema, ranges, durations, node id syntax, duplicates, environment
variables, TODO-... pointIds left by browse. Prints every problem as
FILE:LINE:COLUMN: KEY: what is wrong; what is allowed. Exit 0 or 2.

--online also connects with the mapping's opcua settings and checks every point on the server, in
batches within its operation limits: the node exists (nsu= resolved), is a Variable, is readable
(AccessLevel and UserAccessLevel with CurrentRead; HistoryRead when gapFill.enabled is true), its
data type converts to the API's string (structures and arrays need structured: json), and its
MinimumSamplingInterval is not slower than the point's samplingInterval (a warning). Prints a table
POINT ID, NODE ID, LINE, PROBLEM. Exit 2 if any error, 0 with warnings only, 1 if the server
cannot be reached or refuses the session.`,
  browse: `opcua-ingest browse --endpoint URL [--root NODEID] [--depth N] [--filter PATTERN] [--point-ids FILE]
                    [--security-mode MODE --security-policy POLICY] [--user NAME [--password-env VAR]]
                    [--state DIR] [--include-properties]

Walks the address space from --root (default i=85, the Objects folder) along forward hierarchical
references and prints a ready-to-edit mapping on stdout: opcua and ingest sections (\${VAR}
placeholders), then one points entry per variable with nodeId written with its namespace URI
(nsu=...), pointId TODO-<browse path>, and a comment: browse path, data type, engineering unit,
access level. Progress and a summary go to stderr.

  --filter PATTERN   glob on browse paths below the root, "/"-separated: * is one segment (or part of
                     one: Line*), ** any depth: Plant/Line1/**/Temperature. A match selects its subtree.
                     A "/" inside a browse name is written %2F.
  --depth N          levels below the root (default: no limit)
  --point-ids FILE   CSV of browsePath,pointId lines: those pointIds are filled in, the rest stay TODO-...
  --user NAME        user name; the password is read from the environment variable OPCUA_PASSWORD
                     (or the one --password-env names), never from the command line
  --security-mode    None (default), Sign, SignAndEncrypt; --security-policy Basic256Sha256 (default
                     when secure), Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss
  --state DIR        PKI folder root (default ./state): the server's certificate is trusted in
                     DIR/pki/trusted/certs, as for run
  --include-properties  list variables reached by HasProperty (EngineeringUnits, EURange...) too

The Server object (i=2253) is skipped unless it is the root. Example:
  opcua-ingest browse --endpoint opc.tcp://scada-gw:4840 --filter 'Plant/Line1/**' > plant.yaml
Exit 0; 1 when the server cannot be reached or refuses the session; 2 for bad flags or an unknown root.`,
  demo: `opcua-ingest demo [--duration DURATION]

Starts a simulated plant (an OPC UA server on 127.0.0.1 with a few realistic signals), the Ingest
API emulator and the connector on mappings/demo.yaml, and prints a live summary. Ctrl-C stops it
cleanly; --duration stops it after that long.`,
  reconcile: `opcua-ingest reconcile --config FILE --from TIME --to TIME [--point ID]... [--json] [--repair [--overwrite]]

Reads each point's raw history and its stored values in the API over [from, to), window by window,
and compares them millisecond by millisecond after live mode's conversion: values missing in the
API, values that differ, values in the API the historian does not have (extra), Bad values skipped.
--repair sends the missing values through the spool and sender (state/reconcile.db); with
--overwrite also the different ones (overwrite=true). --json prints the report for scripts.
Times as for backfill. Exit 0 when nothing is missing or different (extras are reported: the API
cannot delete them), 1 when something is (or a point could not be read), 2 for bad usage.`,
  backfill: `opcua-ingest backfill --config FILE --from TIME --to TIME [--point ID]... [--overwrite] [--dry-run]

Reads the raw history (HistoryRead, no bounding values) of the mapped points over [from, to) and
sends it to the API like live values: same conversion, one value per millisecond, durable spool
(state/backfill.db, apart from the live spool), retries. Windows of backfill.window per request,
backfill.valuesPerRead values per call with continuation points, backfill.concurrency points at once.

  --from, --to   ISO 8601 with a zone (2024-03-01T00:00:00Z, 2024-03-01T06:00+01:00), now,
                 or relative: -30m, -12h, -7d, -2w. from is included, to is not.
  --point ID     only this pointId (repeatable); default every point of the mapping
  --overwrite    send overwrite=true: replace values the API already has for a millisecond
  --dry-run      read and count only: nothing is sent, nothing written to state

Resumable: stopped by Ctrl-C (or a crash, or kill -9), the same command continues after the last
window whose values were durable; relative times keep the values of the first run. A different
range, window or point selection is a new job. One backfill per state folder at a time. Prints a
table per point (read, sent, conflicts, Bad skipped, skipped, errors). Progress on stderr: a bar
on a terminal, else a log line every 5 s.
Exit 0 when every point is done and sent; 1 when a point failed (each named with its reason) or
the run was stopped; 2 for bad flags, times or mapping.`,
  emulator: `opcua-ingest emulator [--port N] [--host ADDR] [--token-lifetime SECONDS] [--latency MS]

Runs the local, strict Ingest API emulator (token endpoint, POST/GET values) for dry runs.
Credentials: client id demo-client, secret demo-secret. Prints its URLs; runs until Ctrl-C.`,
};

const OPTIONS: ParseArgsConfig["options"] = {
  config: { type: "string", short: "c" },
  "drain-timeout": { type: "string" },
  shard: { type: "string" },
  duration: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "token-lifetime": { type: "string" },
  latency: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  online: { type: "boolean" },
  endpoint: { type: "string" },
  root: { type: "string" },
  depth: { type: "string" },
  filter: { type: "string" },
  "point-ids": { type: "string" },
  "security-mode": { type: "string" },
  "security-policy": { type: "string" },
  user: { type: "string" },
  "password-env": { type: "string" },
  state: { type: "string" },
  "include-properties": { type: "boolean" },
  id: { type: "string", multiple: true },
  json: { type: "boolean" },
  from: { type: "string" },
  to: { type: "string" },
  point: { type: "string", multiple: true },
  overwrite: { type: "boolean" },
  "dry-run": { type: "boolean" },
  repair: { type: "boolean" },
};

type Values = Record<string, string | boolean | undefined>;

function requireConfig(values: Values): string {
  if (typeof values.config !== "string") throw new UsageError("--config FILE is required (the mapping YAML)");
  return values.config;
}

function duration(values: Values, key: string, fallback: number): number {
  const v = values[key];
  if (typeof v !== "string") return fallback;
  try {
    return parseDuration(v);
  } catch (err) {
    throw new UsageError(`--${key}: ${(err as Error).message}`);
  }
}

function integer(values: Values, key: string, fallback: number | undefined): number | undefined {
  const v = values[key];
  if (typeof v !== "string") return fallback;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${key} must be a whole number, got "${v}"`);
  return Number(v);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    // `--from -7d`: a relative time looks like a flag to parseArgs; write it as `--from=-7d`.
    const args = argv.flatMap((a, i) => (/^--(from|to)$/.test(a) && /^-\d/.test(argv[i + 1] ?? "") ? [`${a}=${argv[i + 1]}`] : /^-\d/.test(a) && /^--(from|to)$/.test(argv[i - 1] ?? "") ? [] : [a]));
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  const command = positionals[0];
  if (values.version) {
    console.log(VERSION);
    return EXIT.ok;
  }
  if (!command || command === "help") {
    console.log(USAGE);
    return command || values.help ? EXIT.ok : EXIT.usage;
  }
  if (values.help) {
    console.log(HELP[command] ?? USAGE);
    return HELP[command] ? EXIT.ok : EXIT.usage;
  }
  if (positionals.length > (command === "deadletter" ? 2 : 1)) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const level = (values["log-level"] as string | undefined) ?? process.env.LOG_LEVEL ?? "info";
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(level)) {
    throw new UsageError(`--log-level must be one of trace, debug, info, warn, error; got "${level}"`);
  }
  switch (command) {
    case "run": {
      const { runCommand } = await import("./run.js");
      return runCommand(requireConfig(values), duration(values, "drain-timeout", 10_000), createLogger(level), {
        shard: typeof values.shard === "string" ? values.shard : undefined,
      });
    }
    case "deadletter": {
      const { deadletterCommand } = await import("./deadletter.js");
      const raw = (values.id as unknown as string[] | undefined) ?? [];
      const ids = raw.map((x) => {
        if (!/^\d+$/.test(x)) throw new UsageError(`--id must be a dead letter number (see deadletter list), got "${x}"`);
        return Number(x);
      });
      return deadletterCommand(positionals[1], requireConfig(values), ids, values.json === true);
    }
    case "validate": {
      const { validateCommand } = await import("./validate.js");
      return validateCommand(requireConfig(values), {
        online: values.online === true,
        log: createLogger(values["log-level"] ? level : "warn", process.stderr),
      });
    }
    case "demo": {
      const { demoCommand } = await import("./demo.js");
      const d = values.duration === undefined ? undefined : duration(values, "duration", 0);
      return demoCommand(d, createLogger(values["log-level"] ? level : "warn", process.stderr));
    }
    case "emulator": {
      const { emulatorCommand } = await import("./emulator.js");
      return emulatorCommand({
        port: integer(values, "port", 8480),
        host: typeof values.host === "string" ? values.host : "127.0.0.1",
        tokenLifetimeS: integer(values, "token-lifetime", undefined),
        latencyMs: integer(values, "latency", undefined),
      });
    }
    case "plant": {
      const { plantCommand } = await import("./plant.js");
      return plantCommand({
        port: integer(values, "port", 4840) ?? 4840,
        host: typeof values.host === "string" ? values.host : "127.0.0.1",
        state: typeof values.state === "string" ? values.state : "./state",
      });
    }
    case "schema":
      process.stdout.write(`${JSON.stringify(mappingJsonSchema(), null, 2)}\n`);
      return EXIT.ok;
    case "browse": {
      const { browseCommand } = await import("./browse.js");
      const text = (key: string) => (typeof values[key] === "string" ? (values[key] as string) : undefined);
      return browseCommand(
        {
          endpoint: text("endpoint"), root: text("root"), depth: text("depth"), filter: text("filter"), pointIds: text("point-ids"),
          securityMode: text("security-mode"), securityPolicy: text("security-policy"), user: text("user"),
          passwordEnv: text("password-env"), state: text("state"), includeProperties: values["include-properties"] === true,
        },
        createLogger(values["log-level"] ? level : "warn", process.stderr),
      );
    }
    case "backfill": {
      const { backfillCommand } = await import("./backfill.js");
      return backfillCommand(
        {
          config: requireConfig(values),
          from: typeof values.from === "string" ? values.from : undefined,
          to: typeof values.to === "string" ? values.to : undefined,
          points: (values.point as unknown as string[] | undefined) ?? [],
          overwrite: values.overwrite === true,
          dryRun: values["dry-run"] === true,
        },
        createLogger(level, process.stderr),
      );
    }
    case "reconcile": {
      const { reconcileCommand } = await import("./reconcile.js");
      return reconcileCommand(
        {
          config: requireConfig(values),
          from: typeof values.from === "string" ? values.from : undefined,
          to: typeof values.to === "string" ? values.to : undefined,
          points: (values.point as unknown as string[] | undefined) ?? [],
          json: values.json === true,
          repair: values.repair === true,
          overwrite: values.overwrite === true,
        },
        createLogger(values["log-level"] ? level : "warn", process.stderr),
      );
    }
    default:
      throw new UsageError(`unknown command "${command}"; commands: run, validate, browse, backfill, reconcile, demo, plant, emulator, deadletter, schema`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof MappingError) {
      console.error(err.message);
      process.exit(EXIT.usage);
    }
    if (err instanceof UsageError) {
      console.error(`opcua-ingest: ${err.message}\nRun "opcua-ingest --help" for usage.`);
      process.exit(EXIT.usage);
    }
    const e = err as { code?: string; message?: string };
    console.error(`opcua-ingest: ${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`);
    process.exit(EXIT.failure);
  },
);
