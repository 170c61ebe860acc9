import BetterSqlite3 from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Sample } from "../../src/core/types.js";
import { listDeadLetters, purgeDeadLetters, retryDeadLetters } from "../../src/spool/deadletters.js";
import { SCHEMA_VERSION, SpoolVersionError } from "../../src/spool/schema.js";
import { Spool } from "../../src/spool/spool.js";
import { tempDir } from "../helpers/env.js";

// Real SQLite files in a temp folder: the spool is I/O, tested against the real thing.
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

function file(): string {
  const d = tempDir("spool");
  dirs.push(d);
  return join(d.path, "state", "spool.db");
}
const s = (pointId: string, ts: number, value = `v${ts}`): Sample => ({ pointId, ts, value, quality: 0 });
const open = (f: string, maxBytes = 1 << 30, whenFull: "dropOldest" | "dropNewest" = "dropOldest") => new Spool({ file: f, maxBytes, whenFull });

describe("Spool", () => {
  it("keeps samples only from their commit on, hands them out per point in order, deletes on ack", () => {
    const sp = open(file());
    sp.append(s("a", 1), 100);
    sp.append(s("b", 5), 101);
    sp.append(s("a", 2), 102);
    expect(sp.take("a", 10)).toEqual([]); // not committed yet
    const c = sp.commit();
    expect([...c.added]).toEqual([["a", 100], ["b", 101]]);
    expect(sp.unread("a")).toBe(2);
    const rows = sp.take("a", 10);
    expect(rows.map((r) => [r.ts, r.value])).toEqual([[1, "v1"], [2, "v2"]]);
    expect(sp.unread("a")).toBe(0);
    expect(sp.take("a", 10)).toEqual([]); // in flight: not handed out twice
    sp.ack("a", rows);
    expect(sp.rows).toBe(3);
    sp.commit();
    expect(sp.rows).toBe(1);
    expect(sp.unread("b")).toBe(1);
    sp.ack("b", sp.take("b", 10));
    sp.commit();
    expect(sp.rows).toBe(0);
    // the table is empty now; new rows must still come after the read cursors
    sp.append(s("a", 3), 103);
    sp.commit();
    expect(sp.take("a", 10).map((r) => r.ts)).toEqual([3]);
    sp.close();
  });

  it("gives released rows back first, before newer ones", () => {
    const sp = open(file());
    for (let i = 0; i < 5; i++) sp.append(s("a", i), i);
    sp.commit();
    const first = sp.take("a", 2);
    sp.append(s("a", 9), 9);
    sp.commit();
    sp.release("a", first);
    expect(sp.unread("a")).toBe(6);
    expect(sp.take("a", 3).map((r) => r.ts)).toEqual([0, 1, 2]);
    expect(sp.firstUnreadArrival("a")).toBe(3);
    sp.close();
  });

  it("survives a reopen: what was committed and not acknowledged is there again, oldest point first", () => {
    const f = file();
    const sp = open(f);
    sp.append(s("late", 1), 500);
    sp.append(s("early", 1), 100);
    sp.append(s("early", 2), 600);
    sp.commit();
    sp.ack("early", sp.take("early", 1));
    sp.close(); // commits the ack
    const again = open(f);
    expect(again.rows).toBe(2);
    expect(again.backlog()).toEqual([{ pointId: "early", firstArrived: 600 }, { pointId: "late", firstArrived: 500 }].sort((a, b) => a.firstArrived - b.firstArrived));
    expect(again.take("early", 10).map((r) => r.ts)).toEqual([2]);
    again.close();
  });

  it("dropNewest refuses samples at the cap and counts them; the stored ones stay", () => {
    const sp = open(file(), 48 * 10 + 200, "dropNewest");
    let accepted = 0;
    for (let i = 0; i < 50; i++) if (sp.append(s("a", i, "x".repeat(10)), i)) accepted++;
    sp.commit();
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(50);
    expect(sp.droppedNewest).toBe(50 - accepted);
    expect(sp.take("a", 100).map((r) => r.ts)).toEqual(Array.from({ length: accepted }, (_, i) => i));
    sp.close();
  });

  it("dropOldest deletes the oldest rows to get under the cap and counts them", () => {
    const sp = open(file(), 58 * 100, "dropOldest");
    for (let i = 0; i < 300; i++) sp.append(s(i % 2 ? "a" : "b", i, "y".repeat(10)), i);
    const c = sp.commit();
    expect(c.droppedOldest).toBeGreaterThan(200);
    expect(sp.bytes).toBeLessThanOrEqual(58 * 100);
    expect(sp.rows).toBe(300 - c.droppedOldest);
    const left = [...sp.take("a", 1000), ...sp.take("b", 1000)].map((r) => r.ts).sort((x, y) => x - y);
    expect(left[0]).toBe(c.droppedOldest); // exactly the oldest went
    expect(left).toHaveLength(sp.rows);
    sp.close();
  });

  it("keeps dead letters with the API's answer; retry puts them back, purge deletes them", () => {
    const f = file();
    const sp = open(f);
    sp.append(s("gone", 1), 1);
    sp.append(s("gone", 2), 2);
    sp.commit();
    const rows = sp.take("gone", 10);
    sp.deadLetter("gone", rows, 404, "point not found", false, 1234);
    sp.commit();
    expect(sp.rows).toBe(0);
    const db = new BetterSqlite3(f);
    const letters = listDeadLetters(db);
    expect(letters).toEqual([{ id: 1, at: 1234, pointId: "gone", status: 404, detail: "point not found", overwrite: false, samples: [[1, "v1", 0], [2, "v2", 0]] }]);
    expect(sp.changedElsewhere()).toBe(false);
    expect(retryDeadLetters(db)).toBe(2);
    expect(listDeadLetters(db)).toEqual([]);
    expect(sp.changedElsewhere()).toBe(true);
    sp.load();
    expect(sp.take("gone", 10).map((r) => r.value)).toEqual(["v1", "v2"]);
    sp.deadLetter("gone", [], 400, "x", false, 1);
    sp.commit();
    expect(purgeDeadLetters(db)).toBe(1);
    db.close();
    sp.close();
  });

  it("keeps buffered samples and acknowledgements in memory when a commit fails (disk full), and writes them later", () => {
    const sp = open(file());
    sp.append(s("a", 1), 1);
    sp.commit();
    const taken = sp.take("a", 10);
    sp.ack("a", taken);
    const pages = sp.database.pragma("page_count", { simple: true }) as number;
    sp.database.pragma(`max_page_count = ${pages}`); // the file may not grow: SQLITE_FULL
    for (let i = 2; i < 3_000; i++) sp.append(s("a", i, "z".repeat(200)), i);
    expect(() => sp.commit()).toThrow(/full/i);
    expect(sp.buffered).toBe(2_998);
    sp.database.pragma("max_page_count = 1073741823");
    sp.commit();
    expect(sp.buffered).toBe(0);
    expect(sp.rows).toBe(2_998); // the acknowledged row went, every buffered one is stored
    expect(sp.take("a", 5_000).map((r) => r.ts)).toEqual(Array.from({ length: 2_998 }, (_, i) => i + 2));
    sp.close();
  });

  it("records its schema version and refuses a file from a newer version", () => {
    const f = file();
    open(f).close();
    const db = new BetterSqlite3(f);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => open(f)).toThrow(SpoolVersionError);
  });
});
