import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { LOCK_FILE, type LockOwner } from "../../src/spool/lock.js";
import { startCli, type Running } from "../helpers/cli.js";
import { mappingYaml, tempDir } from "../helpers/env.js";
import { Producer } from "../helpers/producer.js";

// One writer per state folder, with real processes: a running `run` holds the folder; backfill,
// reconcile --repair, deadletter retry|purge and a second run on it exit 1 at once naming its PID;
// read-only commands still work beside it; a lock left by kill -9 is taken over with a warning.

const dir = tempDir("state-lock");
let server: SimServer;
let emulator: Emulator;

beforeAll(async () => {
  server = await SimServer.start({ pkiDir: join(dir.path, "server-pki") });
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  await server?.stop();
  dir.remove();
});

function mapping(id: string): { file: string; state: string } {
  const p = new Producer(server);
  const points = [0, 1].map((k) => ({ name: `${id}.P${k}`, pointId: `${id}-${k}` }));
  for (const x of points) p.add(x.name, "Double", x.pointId, 0);
  const state = join(dir.path, `${id}-state`);
  const file = join(dir.path, `${id}.yaml`);
  writeFileSync(file, mappingYaml(server, emulator, state, { points }));
  return { file, state };
}

const started = (r: Running) => r.line((l) => l.includes('"event":"items_created"'), 30_000);
const lockOf = (state: string) => JSON.parse(readFileSync(join(state, LOCK_FILE), "utf8")) as LockOwner;

/** A command that must be refused at once: exit 1, the holder named. */
async function refused(args: string[], holder: LockOwner, state: string): Promise<void> {
  const t0 = Date.now();
  const r = startCli(args);
  expect(await r.exit, `${args.join(" ")}\n${r.stderr.join("")}`).toBe(1);
  expect(r.stderr.join("")).toContain(
    `state folder ${state} is in use by PID ${holder.pid} (${holder.command}, since ${holder.startedAt}); stop it first or give this command another state folder`,
  );
  expect(Date.now() - t0).toBeLessThan(15_000); // no connection attempt, no waiting for the holder
}

describe("one writer per state folder", () => {
  it("a running `run` holds its state folder: every other writer exits 1 naming its PID and command; readers still work; the lock goes with it", async () => {
    const { file, state } = mapping("held");
    const run = startCli(["run", "--config", file]);
    await started(run);
    const holder = lockOf(state);
    expect(holder.pid).toBe(run.child.pid);
    expect(holder.command).toBe(`opcua-ingest run --config ${file}`);

    await refused(["run", "--config", file], holder, state);
    await refused(["backfill", "--config", file, "--from", "-1h", "--to", "now"], holder, state);
    await refused(["reconcile", "--config", file, "--from", "-1h", "--to", "now", "--repair"], holder, state);
    await refused(["deadletter", "retry", "--config", file], holder, state);
    await refused(["deadletter", "purge", "--config", file, "--id", "1"], holder, state);

    // read-only commands take no lock
    const list = startCli(["deadletter", "list", "--config", file]);
    expect(await list.exit).toBe(0);
    expect(list.stdout).toContain("no dead letters");
    const validate = startCli(["validate", "--config", file]);
    expect(await validate.exit).toBe(0);
    expect(lockOf(state)).toEqual(holder);

    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(existsSync(join(state, LOCK_FILE))).toBe(false);
    expect(run.stdout.some((l) => l.includes("state_lock_taken_over"))).toBe(false);
  }, 120_000);

  it("a lock left by kill -9 is taken over by the next run, with a warning naming the dead PID", async () => {
    const { file, state } = mapping("stale");
    const first = startCli(["run", "--config", file]);
    await started(first);
    first.child.kill("SIGKILL");
    expect(await first.exit).toBe(null);
    const left = lockOf(state);
    expect(left.pid).toBe(first.child.pid);

    const second = startCli(["run", "--config", file]);
    const warning = JSON.parse(await second.line((l) => l.includes('"state_lock_taken_over"'), 20_000)) as Record<string, unknown>;
    expect(warning).toMatchObject({ level: "warn", event: "state_lock_taken_over", dir: state, stale: left, reason: "that process is gone" });
    expect(warning.msg).toContain(`from PID ${first.child.pid} (opcua-ingest run --config ${file}`);
    await started(second);
    expect(lockOf(state).pid).toBe(second.child.pid);
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
    expect(existsSync(join(state, LOCK_FILE))).toBe(false);
  }, 120_000);

  it("the lock is released on every way out: return, process.exit, an uncaught exception, a signal nobody handles", async () => {
    const lockModule = new URL("../../dist/spool/lock.js", import.meta.url).href;
    const ways: Record<string, { code: number | null; signal: NodeJS.Signals | null }> = {
      "": { code: 0, signal: null },
      "process.exit(3);": { code: 3, signal: null },
      "setTimeout(() => { throw new Error('boom'); }, 0);": { code: 1, signal: null },
      "setInterval(() => {}, 1000); process.kill(process.pid, 'SIGTERM');": { code: null, signal: "SIGTERM" },
      "setInterval(() => {}, 1000); process.kill(process.pid, 'SIGINT');": { code: null, signal: "SIGINT" },
      "setInterval(() => {}, 1000); process.kill(process.pid, 'SIGHUP');": { code: null, signal: "SIGHUP" },
    };
    let k = 0;
    for (const [then, want] of Object.entries(ways)) {
      const state = join(dir.path, `exit-${k++}`);
      const script = `import { lockStateFolder } from ${JSON.stringify(lockModule)};
lockStateFolder(${JSON.stringify(state)}, { command: "test" });
${then}`;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
      expect({ code, signal }, then).toEqual(want);
      expect(existsSync(state), then).toBe(true); // it did take the lock
      expect(existsSync(join(state, LOCK_FILE)), then).toBe(false);
    }
  }, 60_000);

  it("a flag the command does not take exits 2 naming it", async () => {
    const run = startCli(["run", "--config", "m.yaml", "--dry-run"]);
    expect(await run.exit).toBe(2);
    expect(run.stderr.join("")).toContain("run does not take --dry-run (--dry-run is a flag of backfill); run takes --config FILE, --drain-timeout DURATION, --shard INDEX/COUNT");
    const backfill = startCli(["backfill", "--config", "m.yaml", "--from", "-1h", "--to", "now", "--repair"]);
    expect(await backfill.exit).toBe(2);
    expect(backfill.stderr.join("")).toContain("backfill does not take --repair (--repair is a flag of reconcile)");
    const help = startCli(["--help"]);
    expect(await help.exit).toBe(0);
    for (const name of ["run", "validate", "browse", "demo", "emulator", "deadletter", "plant", "schema", "backfill", "reconcile"]) expect(help.stdout.join("\n")).toContain(`opcua-ingest ${name}`);
  });
});
