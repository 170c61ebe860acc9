#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { MappingError } from "../config/index.js";
import { commandHelp, overview, parseCommandLine } from "./command.js";
import { COMMANDS } from "./commands.js";
import { EXIT, UsageError } from "./errors.js";

// main only dispatches: each command declares its flags, defaults and help next to its run function
// (a small spec, see command.ts) and loads what it needs (node-opcua, SQLite) only when it runs.

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const USAGE = `opcua-ingest ${VERSION}: stream OPC UA data into the Point Value Ingest API

Usage:
${overview(COMMANDS)}

Options on every command: --help, --log-level LEVEL (trace|debug|info|warn|error; default info, or LOG_LEVEL)
  opcua-ingest --version
  opcua-ingest COMMAND --help                             the command's options and defaults

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad mapping.`;

const names = () => COMMANDS.map((c) => c.name).join(", ");

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") {
    if (rest.length) throw new UsageError(`--version takes nothing after it, got "${rest[0]}"`);
    console.log(VERSION);
    return EXIT.ok;
  }
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    // `help run` is `run --help`
    const spec = first === "help" && rest[0] ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (first === "help" && rest[0] && !spec) throw new UsageError(`unknown command "${rest[0]}"; commands: ${names()}`);
    console.log(spec ? commandHelp(spec) : USAGE);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first.startsWith("-")) throw new UsageError(`the command comes first: opcua-ingest COMMAND [options], got "${first}"; commands: ${names()}`);
  const spec = COMMANDS.find((c) => c.name === first);
  if (!spec) throw new UsageError(`unknown command "${first}"; commands: ${names()}`);
  const args = parseCommandLine(spec, rest, COMMANDS);
  if (args.boolean("help")) {
    console.log(commandHelp(spec));
    return EXIT.ok;
  }
  return spec.run(args);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof MappingError) {
      console.error(err.message);
      process.exit(EXIT.usage);
    }
    if (err instanceof UsageError) {
      const command = COMMANDS.find((c) => c.name === process.argv[2]);
      console.error(`opcua-ingest: ${err.message}\nRun "opcua-ingest ${command ? `${command.name} ` : ""}--help" for usage.`);
      process.exit(EXIT.usage);
    }
    const e = err as { code?: string; message?: string };
    console.error(`opcua-ingest: ${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`);
    process.exit(EXIT.failure);
  },
);
