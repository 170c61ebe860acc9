import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Spool } from "../../src/spool/spool.js";
import { tempDir } from "../helpers/env.js";

// Checkpoints live in the backfill spool's SQLite file; these tests use a real one in a temp folder.
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function spoolAt(file: string, values: "stored" | "memory" = "stored"): Spool {
  return new Spool({ file, maxBytes: 1 << 30, whenFull: "dropNewest", values });
}

function fileAt(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return join(dir.path, "backfill.db");
}

const chunksStored = (spool: Spool) => spool.database.prepare("SELECT COUNT(*) FROM chunks").pluck().get() as number;
const sample = (pointId: string, ts: number) => ({ pointId, ts, value: String(ts), quality: 0 as const });

describe("backfill checkpoints", () => {
  it("a job keeps its resolved range; progress is written with the spool commit and survives a reopen", () => {
    const dir = tempDir("checkpoints");
    dirs.push(dir);
    const file = join(dir.path, "backfill.db");
    let spool = spoolAt(file);
    let cp = spool.checkpoints("job-1");
    expect(cp.open(1_000, 9_000, 1_000, { from: "-1h" }, 5).resumed).toBe(false);
    spool.append({ pointId: "a", ts: 1_500, value: "1", quality: 0 }, 0);
    cp.stage("a", 1);
    cp.stage("b", 3);
    cp.stage("b", 2); // never backwards
    expect(cp.pending).toBe(2);
    spool.commit();
    expect(cp.pending).toBe(0);
    spool.close();

    spool = spoolAt(file);
    cp = spool.checkpoints("job-1");
    const again = cp.open(2_000, 10_000, 1_000, {}, 6);
    expect(again.resumed).toBe(true);
    expect(again.job).toMatchObject({ fromMs: 1_000, toMs: 9_000, windowMs: 1_000, params: '{"from":"-1h"}', created: 5 });
    expect([...cp.progress()]).toEqual([["a", 1], ["b", 3]]);
    expect(spool.rows).toBe(1); // the values the checkpoint stands for are there too
    expect(spool.checkpoints("job-2").progress().size).toBe(0);

    cp.finish();
    expect(cp.find()).toBeUndefined();
    expect(cp.progress().size).toBe(0);
    spool.close();
  });

  it("staged progress is not written without a commit (a crash before it loses the checkpoint, not data)", () => {
    const dir = tempDir("checkpoints");
    dirs.push(dir);
    const file = join(dir.path, "backfill.db");
    const spool = spoolAt(file);
    const cp = spool.checkpoints("j");
    cp.open(0, 10, 1, {}, 0);
    cp.stage("a", 4);
    expect(cp.progress().size).toBe(0);
    // A failing commit (the file may not grow: SQLITE_FULL) rolls the checkpoint back with it and keeps it staged.
    const pages = spool.database.pragma("page_count", { simple: true }) as number;
    spool.database.pragma(`max_page_count = ${pages}`);
    for (let i = 0; i < 2_000; i++) spool.append({ pointId: "a", ts: i, value: "x".repeat(200), quality: 0 }, 0);
    expect(() => spool.commit()).toThrow(/full/i);
    expect(cp.progress().size).toBe(0);
    expect(cp.pending).toBe(1);
    spool.database.pragma("max_page_count = 1073741823");
    spool.commit();
    expect([...cp.progress()]).toEqual([["a", 4]]);
    expect(cp.pending).toBe(0);
    spool.close();
  });

  it("a finished job writes nothing staged after it (its progress would make the same command skip windows later)", () => {
    for (const values of ["stored", "memory"] as const) {
      const spool = spoolAt(fileAt("checkpoints"), values);
      const cp = spool.checkpoints("j");
      cp.open(0, 10, 1, {}, 0);
      spool.append(sample("a", 1), 0);
      cp.stage("a", 3);
      cp.finish();
      cp.stage("a", 4);
      spool.commit();
      expect(cp.pending, values).toBe(0);
      expect(cp.find(), values).toBeUndefined();
      expect(cp.progress().size, values).toBe(0);
      spool.close();
    }
  });
});

// The backfill's spool (values: "memory"): values are not written; a checkpoint waits until the API
// settled every value added before it was staged.
describe("backfill checkpoints of values held in memory only", () => {
  it("writes no value, makes them sendable at the commit, and writes a checkpoint once every value before it is settled", () => {
    const file = fileAt("checkpoints-mem");
    const spool = spoolAt(file, "memory");
    const cp = spool.checkpoints("j");
    cp.open(0, 10, 1, {}, 0);
    for (let ts = 1; ts <= 3; ts++) spool.append(sample("a", ts), 0);
    cp.stage("a", 1); // window 0 of a: the 3 values above
    spool.append(sample("a", 4), 0);
    cp.stage("a", 2); // window 1: one more
    spool.append(sample("b", 1), 0);
    cp.stage("b", 1);
    spool.commit();
    expect(chunksStored(spool)).toBe(0);
    expect(spool.rows).toBe(5);
    expect(cp.progress().size).toBe(0); // nothing settled yet

    expect(spool.take("a", 2).map((r) => r.ts)).toEqual([1, 2]);
    spool.release("a"); // a transient failure settles nothing
    expect(cp.pending).toBe(0);
    expect(spool.take("a", 2).map((r) => r.ts)).toEqual([1, 2]);
    spool.ack("a");
    spool.commit();
    expect(cp.progress().size).toBe(0); // 2 of window 0's 3 values

    expect(spool.take("a", 1).map((r) => r.ts)).toEqual([3]);
    spool.ack("a");
    spool.commit();
    expect([...cp.progress()]).toEqual([["a", 1]]); // window 0 whole, window 1 not yet

    spool.take("a", 10);
    spool.ack("a");
    // b's value refused for good: settled as a dead letter, written in the same commit as b's checkpoint.
    spool.deadLetter("b", spool.take("b", 10), 400, "refused", false, 0);
    spool.commit();
    expect([...cp.progress()].sort()).toEqual([["a", 2], ["b", 1]]);
    expect(spool.deadLetters.summary().count).toBe(1);
    expect(spool.rows).toBe(0);
    spool.close();

    const again = spoolAt(file, "memory");
    expect(again.rows).toBe(0);
    expect(chunksStored(again)).toBe(0);
    expect([...again.checkpoints("j").progress()].sort()).toEqual([["a", 2], ["b", 1]]);
    again.close();
  });

  it("values a stored spool left in the file are sent, and do not count as settling values held in memory", () => {
    const file = fileAt("checkpoints-left");
    const stored = spoolAt(file, "stored");
    for (let ts = 1; ts <= 5; ts++) stored.append(sample("a", ts), 0);
    stored.commit();
    stored.close();

    const spool = spoolAt(file, "memory");
    expect(spool.rows).toBe(5);
    const cp = spool.checkpoints("j");
    cp.open(0, 10, 1, {}, 0);
    spool.append(sample("a", 100), 0);
    cp.stage("a", 1);
    spool.commit();
    expect(spool.take("a", 5).map((r) => r.ts)).toEqual([1, 2, 3, 4, 5]); // what was left goes first
    spool.ack("a");
    spool.commit(true);
    expect(cp.progress().size).toBe(0); // 5 settled, none of them the value the checkpoint waits for
    expect(chunksStored(spool)).toBe(0); // the stored chunk, all acknowledged, is deleted
    expect(spool.take("a", 5).map((r) => r.ts)).toEqual([100]);
    spool.ack("a");
    spool.commit();
    expect([...cp.progress()]).toEqual([["a", 1]]);
    spool.close();
  });

  it("a commit that cannot write keeps the checkpoint and the values for the next; values settle meanwhile", () => {
    const spool = spoolAt(fileAt("checkpoints-ro"), "memory");
    const cp = spool.checkpoints("j");
    cp.open(0, 10, 1, {}, 0);
    spool.append(sample("a", 1), 0);
    cp.stage("a", 1);
    spool.commit();
    spool.take("a", 1);
    spool.ack("a");
    spool.database.pragma("query_only = ON"); // every write fails (a full disk: the WAL cannot grow)
    spool.append(sample("a", 2), 0);
    expect(() => spool.commit()).toThrow(/readonly/i);
    expect(spool.buffered).toBe(1); // not sendable before a commit succeeds
    expect(cp.pending).toBe(1);
    spool.database.pragma("query_only = OFF");
    spool.commit();
    expect([...cp.progress()]).toEqual([["a", 1]]);
    expect(spool.take("a", 1).map((r) => r.ts)).toEqual([2]);
    spool.close();
  });

  it("needs whenFull dropNewest (a spool in memory has nothing on disk to drop)", () => {
    expect(() => new Spool({ file: fileAt("checkpoints-opt"), maxBytes: 1 << 20, whenFull: "dropOldest", values: "memory" })).toThrow(/dropNewest/);
  });
});
