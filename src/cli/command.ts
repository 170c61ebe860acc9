// A command's command line, declared next to its run function: flags, defaults, help. main.ts only
// dispatches. Parsing is node:util's parseArgs (tokens), with the checks it does not do itself: a flag
// the command does not take is a usage error naming the command's flags (exit 2), not ignored.

import { parseArgs } from "node:util";
import type { DestinationStream, Logger } from "pino";
import { parseDuration } from "../config/index.js";
import { didYouMean } from "../config/suggest.js";
import { createLogger } from "../ops/logger.js";
import { lockStateFolder, type StateLock } from "../spool/lock.js";
import { UsageError } from "./errors.js";

export interface Flag {
  type: "string" | "boolean";
  short?: string;
  /** Repeatable: the value is a list. */
  multiple?: boolean;
  /** The value's placeholder in help: FILE, DURATION, N. */
  arg?: string;
  /** The default, as a user would write it; applied by the accessors below and shown in help. */
  default?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** After the command's name in `opcua-ingest --help`: the main flags. */
  synopsis: string;
  /** One line for `opcua-ingest --help`. */
  summary: string;
  /** `<command> --help`, after the synopsis and before the generated option list. */
  description: string;
  flags: Record<string, Flag>;
  /**
   * The command's output is the product (browse, validate, reconcile, demo): it logs warnings only
   * unless --log-level is given (LOG_LEVEL does not apply). Others log at LOG_LEVEL, default info.
   */
  quietLog?: boolean;
  /** Positional arguments: e.g. deadletter's action. None by default. */
  positionals?: { name: string; max: number };
  run(args: Args): Promise<number> | number;
}

/** On every command: --help, and --log-level (the README's contract). */
export const COMMON_FLAGS: Record<string, Flag> = {
  "log-level": { type: "string", arg: "LEVEL", help: "trace, debug, info, warn, error (default info, or LOG_LEVEL)" },
  help: { type: "boolean", short: "h", help: "this help" },
};

/** How --from and --to are written (backfill, reconcile). */
export const TIME_HELP = `ISO 8601 with a zone (2024-03-01T00:00:00Z,
2024-03-01T06:00+01:00), now, or relative: -30m, -12h, -7d, -2w`;

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

/** The parsed command line of one command, with typed accessors that apply the declared defaults. */
export class Args {
  constructor(
    readonly spec: CommandSpec,
    readonly values: Record<string, string | boolean | string[] | undefined>,
    readonly positionals: string[],
  ) {}

  private flag(name: string): Flag {
    const f = this.spec.flags[name] ?? COMMON_FLAGS[name];
    if (!f) throw new Error(`${this.spec.name}: no flag --${name} declared`);
    return f;
  }

  /** A string flag, or its declared default. */
  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === "string" ? v : this.flag(name).default;
  }

  required(name: string, what: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`${this.spec.name}: --${name} ${this.flag(name).arg ?? ""} is required (${what})`.replace("  ", " "));
    return v;
  }

  boolean(name: string): boolean {
    this.flag(name);
    return this.values[name] === true;
  }

  list(name: string): string[] {
    this.flag(name);
    const v = this.values[name];
    return Array.isArray(v) ? v : [];
  }

  given(name: string): boolean {
    return this.values[name] !== undefined;
  }

  /** A duration flag (250ms, 5s, 1m) in milliseconds, or its default. */
  duration(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (err) {
      throw new UsageError(`--${name}: ${(err as Error).message}`);
    }
  }

  /** A whole-number flag, or its default. */
  integer(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}"`);
    return Number(v);
  }

  /** The command's logger at --log-level, else warn (quietLog) or LOG_LEVEL, default info. */
  logger(destination?: DestinationStream): Logger {
    const flag = this.values["log-level"];
    const level = typeof flag === "string" ? flag : this.spec.quietLog ? "warn" : logLevelFromEnv();
    return createLogger(level, destination);
  }
}

function logLevelFromEnv(): string {
  const level = process.env.LOG_LEVEL ?? "info";
  if (!LEVELS.includes(level)) throw new UsageError(`LOG_LEVEL must be one of trace, debug, info, warn, error; got "${level}"`);
  return level;
}

const QUIET_LOG_LEVEL: Flag = { ...COMMON_FLAGS["log-level"]!, help: "trace, debug, info, warn, error (default warn)" };
const allFlags = (spec: CommandSpec): Record<string, Flag> => ({ ...spec.flags, ...COMMON_FLAGS, ...(spec.quietLog && { "log-level": QUIET_LOG_LEVEL }) });

/** `--config FILE, --drain-timeout DURATION, ...`: what the command takes, for error messages. */
export function flagList(spec: CommandSpec): string {
  return Object.entries(allFlags(spec)).map(([name, f]) => `--${name}${f.arg ? ` ${f.arg}` : ""}`).join(", ");
}

/**
 * Parses `argv` (what follows the command's name) against the command's flags. Unknown flags, a
 * value on a boolean flag, a string flag without a value and surplus positionals are UsageErrors.
 * `others` (the other commands' specs) only improve the message: "--dry-run is a flag of backfill".
 */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[], others: readonly CommandSpec[] = []): Args {
  const flags = allFlags(spec);
  // `--from -7d`: a value that starts with "-" and a digit (a relative time) would look like a flag
  // to parseArgs; joined as --from=-7d.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([^=]+)$/.exec(a);
    const next = argv[i + 1];
    if (m && flags[m[1]!]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, { type: f.type, ...(f.short && { short: f.short }), ...(f.multiple && { multiple: true }) }]),
  );
  let tokens;
  try {
    ({ tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true }));
  } catch (err) {
    throw new UsageError(`${spec.name}: ${(err as Error).message}`);
  }
  const values: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") {
      positionals.push(t.value);
      continue;
    }
    if (t.kind !== "option") continue; // "--": what follows is positional (tokens of kind positional)
    const f = flags[t.name];
    if (!f) throw unknownFlag(spec, t.rawName, t.name, others);
    if (f.type === "boolean" && t.value !== undefined) throw new UsageError(`${spec.name}: ${t.rawName} takes no value (got "${t.value}")`);
    if (f.type === "string" && t.value === undefined) throw new UsageError(`${spec.name}: ${t.rawName} needs a value: ${t.rawName} ${f.arg ?? "VALUE"}`);
    if (f.multiple) values[t.name] = [...((values[t.name] as string[] | undefined) ?? []), t.value!];
    else values[t.name] = f.type === "boolean" ? true : t.value;
  }
  if (values.help === true) return new Args(spec, values, positionals);
  const max = spec.positionals?.max ?? 0;
  if (positionals.length > max) throw new UsageError(`${spec.name}: unexpected argument "${positionals[max]}"; ${spec.name} takes ${flagList(spec)}`);
  const level = values["log-level"];
  if (typeof level === "string" && !LEVELS.includes(level)) throw new UsageError(`--log-level must be one of trace, debug, info, warn, error; got "${level}"`);
  return new Args(spec, values, positionals);
}

function unknownFlag(spec: CommandSpec, raw: string, name: string, others: readonly CommandSpec[]): UsageError {
  const names = Object.keys(allFlags(spec));
  const close = raw.startsWith("--") ? /"([^"]+)"/.exec(didYouMean(name, names))?.[1] : undefined;
  const owners = others.filter((o) => o !== spec && raw.startsWith("--") && name in o.flags).map((o) => o.name);
  const notes = [...(close ? [`did you mean --${close}?`] : []), ...(owners.length ? [`${raw} is a flag of ${owners.join(", ")}`] : [])];
  return new UsageError(`${spec.name} does not take ${raw}${notes.length ? ` (${notes.join("; ")})` : ""}; ${spec.name} takes ${flagList(spec)}`);
}

/** `opcua-ingest <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(allFlags(spec)).map(([name, f]) => {
    const left = `  ${f.short ? `-${f.short}, ` : ""}--${name}${f.arg ? ` ${f.arg}` : ""}${f.multiple ? " ..." : ""}`;
    const right = `${f.help}${f.default !== undefined && !f.help.includes("default") ? ` (default ${f.default})` : ""}`;
    return { left, right };
  });
  const width = Math.min(30, Math.max(...rows.map((r) => r.left.length)) + 2);
  const options = rows.map(({ left, right }) => {
    const lines = right.split("\n");
    const first = left.length + 2 > width ? `${left}\n${" ".repeat(width)}${lines[0]}` : `${left.padEnd(width)}${lines[0]}`;
    return [first, ...lines.slice(1).map((l) => `${" ".repeat(width)}${l}`)].join("\n");
  });
  return `opcua-ingest ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ""}\n\n${spec.description}\n\nOptions:\n${options.join("\n")}`;
}

/** The overview of `opcua-ingest --help`: one entry per command. */
export function overview(specs: readonly CommandSpec[]): string {
  return specs
    .map((s) => {
      const left = `  opcua-ingest ${s.name}${s.synopsis ? ` ${s.synopsis}` : ""}`;
      return left.length <= 56 ? `${left.padEnd(58)}${s.summary}` : `${left}\n${" ".repeat(58)}${s.summary}`;
    })
    .join("\n");
}

/** This process's command line as the user typed it (roughly): shown to whoever finds the state folder in use. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ["opcua-ingest", ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))].join(" ");
}

/** One writer per state folder: the commands that write state hold this until they exit. */
export function lockState(dir: string, log: Logger): StateLock {
  return lockStateFolder(dir, { command: commandLine(), log });
}
