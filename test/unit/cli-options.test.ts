import { describe, expect, it } from "vitest";
import { commandHelp, commandLine, flagList, parseCommandLine, type CommandSpec } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { UsageError } from "../../src/cli/errors.js";

// Each command owns its flags: parsing against its spec, without running anything.

const spec = (name: string): CommandSpec => COMMANDS.find((c) => c.name === name)!;
const parse = (name: string, ...argv: string[]) => parseCommandLine(spec(name), argv, COMMANDS);
function usageError(name: string, ...argv: string[]): string {
  try {
    parse(name, ...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError); // the CLI's exit 2
    return (err as Error).message;
  }
  throw new Error(`${name} ${argv.join(" ")} was accepted`);
}

/** The CLI contract (README "Commands", DESIGN.md): every command and the flags it has always taken. */
const CONTRACT: Record<string, string[]> = {
  run: ["config", "drain-timeout", "shard"],
  validate: ["config", "online"],
  browse: ["endpoint", "root", "depth", "filter", "point-ids", "security-mode", "security-policy", "user", "password-env", "state", "include-properties"],
  demo: ["duration"],
  emulator: ["port", "host", "token-lifetime", "latency"],
  deadletter: ["config", "id", "json"],
  plant: ["port", "host", "state"],
  schema: [],
  backfill: ["config", "from", "to", "point", "overwrite", "dry-run"],
  reconcile: ["config", "from", "to", "point", "json", "repair", "overwrite"],
};

describe("command options", () => {
  it("every command of the contract exists and takes exactly its flags, plus --help and --log-level", () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(Object.keys(CONTRACT).sort());
    for (const [name, flags] of Object.entries(CONTRACT)) expect(Object.keys(spec(name).flags).sort(), name).toEqual([...flags].sort());
  });

  it("a flag a command does not take is a usage error on every command, naming it and listing the command's flags", () => {
    for (const c of COMMANDS) {
      const message = usageError(c.name, "--no-such-flag");
      expect(message).toMatch(new RegExp(`^${c.name} does not take --no-such-flag; ${c.name} takes `));
      expect(message).toContain(flagList(c));
      for (const f of Object.keys(c.flags)) expect(message).toContain(`--${f}`);
    }
  });

  it("run --dry-run and backfill --repair are refused, saying whose flags they are", () => {
    expect(usageError("run", "--config", "m.yaml", "--dry-run")).toBe(
      "run does not take --dry-run (--dry-run is a flag of backfill); run takes --config FILE, --drain-timeout DURATION, --shard INDEX/COUNT, --log-level LEVEL, --help",
    );
    expect(usageError("backfill", "--config", "m.yaml", "--from", "-1h", "--to", "now", "--repair")).toMatch(/^backfill does not take --repair \(--repair is a flag of reconcile\); backfill takes --config FILE, --from TIME/);
    expect(usageError("validate", "--config", "m.yaml", "--json")).toMatch(/^validate does not take --json \(--json is a flag of deadletter, reconcile\)/);
    expect(usageError("schema", "--config", "m.yaml")).toMatch(/^schema does not take --config \(--config is a flag of run, validate, deadletter, backfill, reconcile\); schema takes --log-level LEVEL, --help$/);
  });

  it("deadletter takes --json for list only: retry and purge refuse it", () => {
    for (const action of ["retry", "purge"]) {
      const args = parse("deadletter", action, "--config", "m.yaml", "--json");
      expect(() => spec("deadletter").run(args)).toThrow(new UsageError(`deadletter ${action} does not take --json: it is a flag of deadletter list`));
    }
  });

  it("suggests the flag meant for a close misspelling", () => {
    expect(usageError("run", "--confg", "m.yaml")).toMatch(/^run does not take --confg \(did you mean --config\?\); run takes /);
    expect(usageError("backfill", "--dryrun")).toMatch(/\(did you mean --dry-run\?\)/);
    expect(usageError("browse", "--endpiont", "opc.tcp://x:4840")).toMatch(/\(did you mean --endpoint\?\)/);
  });

  it("unknown short flags, values on switches, missing values and surplus arguments are usage errors", () => {
    expect(usageError("run", "-x")).toMatch(/^run does not take -x; /);
    expect(usageError("validate", "--online=yes")).toBe('validate: --online takes no value (got "yes")');
    expect(usageError("validate", "--config")).toBe("validate: --config needs a value: --config FILE");
    expect(usageError("run", "--config", "m.yaml", "extra")).toMatch(/^run: unexpected argument "extra"/);
    expect(usageError("deadletter", "list", "retry")).toMatch(/^deadletter: unexpected argument "retry"/);
    expect(usageError("run", "--log-level", "loud")).toMatch(/--log-level must be one of/);
  });

  it("applies the declared defaults", () => {
    const run = parse("run", "--config", "m.yaml");
    expect(run.required("config", "")).toBe("m.yaml");
    expect(run.duration("drain-timeout")).toBe(10_000);
    expect(parse("run", "-c", "m.yaml", "--drain-timeout", "20s").duration("drain-timeout")).toBe(20_000);
    const emulator = parse("emulator");
    expect([emulator.integer("port"), emulator.string("host"), emulator.integer("token-lifetime"), emulator.integer("latency")]).toEqual([8480, "127.0.0.1", undefined, undefined]);
    const plant = parse("plant");
    expect([plant.integer("port"), plant.string("host"), plant.string("state")]).toEqual([4840, "127.0.0.1", "./state"]);
    const browse = parse("browse", "--endpoint", "opc.tcp://x:4840");
    expect([browse.string("root"), browse.string("state"), browse.string("password-env"), browse.string("depth")]).toEqual(["i=85", "./state", "OPCUA_PASSWORD", undefined]);
    expect(parse("demo").duration("duration")).toBeUndefined();
    expect(() => parse("run", "--drain-timeout", "soon").duration("drain-timeout")).toThrow(UsageError);
    expect(() => parse("emulator", "--port", "80a").integer("port")).toThrow(/--port must be a whole number, got "80a"/);
  });

  it("a required flag that is missing is a usage error that says what it is", () => {
    expect(() => parse("run").required("config", "the mapping YAML")).toThrow(new UsageError("run: --config FILE is required (the mapping YAML)"));
  });

  it("repeatable flags collect, relative times after --from/--to are values, not flags", () => {
    const a = parse("backfill", "--config", "m.yaml", "--from", "-7d", "--to", "-1h", "--point", "a", "--point", "b");
    expect([a.string("from"), a.string("to"), a.list("point")]).toEqual(["-7d", "-1h", ["a", "b"]]);
    expect(parse("reconcile", "--from=-2w", "--to", "now").string("from")).toBe("-2w");
    expect(parse("deadletter", "retry", "--id", "3", "--id", "5").list("id")).toEqual(["3", "5"]);
    expect(parse("deadletter", "retry").positionals).toEqual(["retry"]);
  });

  it("--help is accepted by every command, and its help lists every flag with its default", () => {
    for (const c of COMMANDS) {
      expect(parse(c.name, "--help").boolean("help")).toBe(true);
      expect(parse(c.name, "-h").boolean("help")).toBe(true);
      const help = commandHelp(c);
      expect(help.startsWith(`opcua-ingest ${c.name}`)).toBe(true);
      for (const [name, f] of Object.entries(c.flags)) {
        expect(help, `${c.name} --${name}`).toContain(`--${name}`);
        if (f.default !== undefined) expect(help, `${c.name} --${name} default`).toContain(`default ${f.default}`);
      }
    }
    expect(commandHelp(spec("validate"))).toMatch(/--log-level LEVEL\s+trace, debug, info, warn, error \(default warn\)/);
    expect(commandHelp(spec("run"))).toMatch(/--log-level LEVEL\s+trace, debug, info, warn, error \(default info, or LOG_LEVEL\)/);
  });

  it("the command line recorded in a lock quotes what a shell would need quoted", () => {
    expect(commandLine(["run", "--config", "m.yaml"])).toBe("opcua-ingest run --config m.yaml");
    expect(commandLine(["run", "--config", "my mapping.yaml"])).toBe("opcua-ingest run --config 'my mapping.yaml'");
  });
});
