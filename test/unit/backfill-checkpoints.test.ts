import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Checkpoints } from "../../src/spool/checkpoints.js";
import { Spool } from "../../src/spool/spool.js";
import { tempDir } from "../helpers/env.js";

// Checkpoints live in the backfill spool's SQLite file; these tests use a real one in a temp folder.
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function spoolAt(file: string): Spool {
  return new Spool({ file, maxBytes: 1 << 30, whenFull: "dropNewest" });
}

describe("backfill checkpoints", () => {
  it("a job keeps its resolved range; progress is written with the spool commit and survives a reopen", () => {
    const dir = tempDir("checkpoints");
    dirs.push(dir);
    const file = join(dir.path, "backfill.db");
    let spool = spoolAt(file);
    let cp = new Checkpoints(spool.database, "job-1");
    expect(cp.open(1_000, 9_000, 1_000, { from: "-1h" }, 5).resumed).toBe(false);
    spool.append({ pointId: "a", ts: 1_500, value: "1", quality: 0 }, 0);
    cp.stage("a", 1);
    cp.stage("b", 3);
    cp.stage("b", 2); // never backwards
    expect(cp.pending).toBe(2);
    cp.commitWith(() => spool.commit());
    expect(cp.pending).toBe(0);
    spool.close();

    spool = spoolAt(file);
    cp = new Checkpoints(spool.database, "job-1");
    const again = cp.open(2_000, 10_000, 1_000, {}, 6);
    expect(again.resumed).toBe(true);
    expect(again.job).toMatchObject({ fromMs: 1_000, toMs: 9_000, windowMs: 1_000, params: '{"from":"-1h"}', created: 5 });
    expect([...cp.progress()]).toEqual([["a", 1], ["b", 3]]);
    expect(spool.rows).toBe(1); // the values the checkpoint stands for are there too
    expect(new Checkpoints(spool.database, "job-2").progress().size).toBe(0);

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
    const cp = new Checkpoints(spool.database, "j");
    cp.open(0, 10, 1, {}, 0);
    cp.stage("a", 4);
    expect(cp.progress().size).toBe(0);
    // A failing commit rolls the checkpoint back with it.
    expect(() => cp.commitWith(() => {
      throw new Error("disk full");
    })).toThrow("disk full");
    expect(cp.progress().size).toBe(0);
    spool.close();
  });
});
