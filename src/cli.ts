#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MappingError, mappingJsonSchema, parseDuration } from "./config/index.js";
import { EXIT, UsageError } from "./commands/errors.js";
import { createLogger } from "./ops/logger.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

const USAGE = `opcua-ingest ${VERSION}: stream OPC UA data into the Point Value Ingest API

Usage:
  opcua-ingest run --config FILE [--drain-timeout 10s]   live mode until SIGINT/SIGTERM (then flush and exit 0)
  opcua-ingest validate --config FILE                     check a mapping; exit 2 with every problem listed
  opcua-ingest demo [--duration 60s]                      simulated plant + API emulator + connector on mappings/demo.yaml
  opcua-ingest emulator [--port N] [--token-lifetime S] [--latency MS]
                                                          run the local Ingest API emulator
  opcua-ingest schema                                     print the mapping's JSON Schema (mappings/schema.json)
  opcua-ingest backfill ... | browse ...                  not in this version yet

Options on every command: --help, --log-level LEVEL (trace|debug|info|warn|error; default info, or LOG_LEVEL)
  opcua-ingest --version

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad mapping.`;

const HELP: Record<string, string> = {
  run: `opcua-ingest run --config FILE [--drain-timeout DURATION] [--log-level LEVEL]

Streams every value change of the mapped OPC UA nodes to the Ingest API until SIGINT/SIGTERM.
On the first signal it stops the subscriptions, flushes every open batch and waits up to
--drain-timeout (default 10s) for the API to take them; a second signal exits at once.
Logs are JSON lines on stdout. Exit 0 after a clean stop, 1 if values could not be delivered
or the OPC UA session could not be opened, 2 for a bad mapping.`,
  validate: `opcua-ingest validate --config FILE

Checks the mapping offline: schema, ranges, durations, node id syntax, duplicates, environment
variables. Prints every problem as FILE:LINE:COLUMN: KEY: what is wrong; what is allowed. Exit 0 or 2.`,
  demo: `opcua-ingest demo [--duration DURATION]

Starts a simulated plant (an OPC UA server on 127.0.0.1 with a few realistic signals), the Ingest
API emulator and the connector on mappings/demo.yaml, and prints a live summary. Ctrl-C stops it
cleanly; --duration stops it after that long.`,
  emulator: `opcua-ingest emulator [--port N] [--host ADDR] [--token-lifetime SECONDS] [--latency MS]

Runs the local, strict Ingest API emulator (token endpoint, POST/GET values) for dry runs.
Credentials: client id demo-client, secret demo-secret. Prints its URLs; runs until Ctrl-C.`,
};

const OPTIONS: ParseArgsConfig["options"] = {
  config: { type: "string", short: "c" },
  "drain-timeout": { type: "string" },
  duration: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "token-lifetime": { type: "string" },
  latency: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  online: { type: "boolean" },
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
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
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
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const level = (values["log-level"] as string | undefined) ?? process.env.LOG_LEVEL ?? "info";
  if (!["trace", "debug", "info", "warn", "error", "fatal", "silent"].includes(level)) {
    throw new UsageError(`--log-level must be one of trace, debug, info, warn, error; got "${level}"`);
  }
  switch (command) {
    case "run": {
      const { runCommand } = await import("./commands/run.js");
      return runCommand(requireConfig(values), duration(values, "drain-timeout", 10_000), createLogger(level));
    }
    case "validate": {
      const { validateCommand } = await import("./commands/validate.js");
      if (values.online) throw new UsageError("validate --online is not in this version yet; the offline checks run without it");
      return validateCommand(requireConfig(values));
    }
    case "demo": {
      const { demoCommand } = await import("./commands/demo.js");
      const d = values.duration === undefined ? undefined : duration(values, "duration", 0);
      return demoCommand(d, createLogger(values["log-level"] ? level : "warn", process.stderr));
    }
    case "emulator": {
      const { emulatorCommand } = await import("./commands/emulator.js");
      return emulatorCommand({
        port: integer(values, "port", 8480),
        host: typeof values.host === "string" ? values.host : "127.0.0.1",
        tokenLifetimeS: integer(values, "token-lifetime", undefined),
        latencyMs: integer(values, "latency", undefined),
      });
    }
    case "schema":
      process.stdout.write(`${JSON.stringify(mappingJsonSchema(), null, 2)}\n`);
      return EXIT.ok;
    case "backfill":
    case "browse":
      console.error(`opcua-ingest ${command} is not in this version yet.`);
      return EXIT.usage;
    default:
      throw new UsageError(`unknown command "${command}"; commands: run, validate, demo, emulator, schema`);
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
