import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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
});
