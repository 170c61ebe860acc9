import BetterSqlite3 from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Sample } from "../../src/core/types.js";
import { DeadLetterStore } from "../../src/spool/deadletters.js";
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
    expect(sp.rows).toBe(1); // what is left to send
    expect(sp.database.prepare("SELECT COUNT(*) FROM chunks").pluck().get()).toBe(1); // b's sample shares the chunk
    sp.commit();
    expect(sp.unread("b")).toBe(1);
    sp.ack("b", sp.take("b", 10));
    sp.commit();
    expect(sp.rows).toBe(0);
    expect(sp.database.prepare("SELECT COUNT(*) FROM chunks").pluck().get()).toBe(0); // fully acknowledged: deleted
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
    sp.append(s("late", 2), 700);
    sp.commit(); // a second chunk
    sp.ack("late", sp.take("late", 1)); // the first chunk is now partly acknowledged
    sp.ack("early", sp.take("early", 2)); // ... and fully
    sp.ack("late", sp.take("late", 1)); // the second chunk fully
    sp.append(s("late", 3), 800);
    sp.close(); // commits the acks and the buffered sample
    const again = open(f);
    expect(again.rows).toBe(1);
    expect(again.backlog()).toEqual([{ pointId: "late", firstArrived: 800 }]);
    expect(again.take("late", 10).map((r) => r.ts)).toEqual([3]);
    again.close();
  });

  it("after a crash, a partly acknowledged chunk is sent again whole, in order (repeats are conflicts for the API)", () => {
    const f = file();
    const sp = open(f);
    sp.append(s("a", 1), 100);
    sp.append(s("b", 1), 100);
    sp.append(s("a", 2), 101);
    sp.commit();
    sp.ack("a", sp.take("a", 10));
    sp.commit(); // b's row keeps the chunk
    sp.database.close(); // a crash: nothing more is written
    const again = open(f);
    expect(again.rows).toBe(3);
    expect(again.backlog().map((b) => b.pointId).sort()).toEqual(["a", "b"]);
    expect(again.take("a", 10).map((r) => r.ts)).toEqual([1, 2]);
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

  it("dropOldest deletes the oldest chunks to get under the cap and counts them", () => {
    const sp = open(file(), 58 * 100, "dropOldest"); // room for 100 samples of 10 characters
    let dropped = 0;
    for (let c = 0; c < 30; c++) {
      for (let i = c * 10; i < c * 10 + 10; i++) sp.append(s(i % 2 ? "a" : "b", i, "y".repeat(10)), i);
      dropped += sp.commit().droppedOldest; // one chunk of 10 per commit
    }
    expect(dropped).toBeGreaterThan(190);
    expect(sp.droppedOldest).toBe(dropped);
    expect(sp.bytes).toBeLessThanOrEqual(58 * 100);
    expect(sp.rows).toBe(300 - dropped);
    const left = [...sp.take("a", 1000), ...sp.take("b", 1000)].map((r) => r.ts).sort((x, y) => x - y);
    expect(left).toEqual(Array.from({ length: 300 - dropped }, (_, i) => dropped + i)); // exactly the oldest went
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
    const store = new DeadLetterStore(db);
    const letters = store.list();
    expect(letters).toEqual([{ id: 1, at: 1234, pointId: "gone", status: 404, detail: "point not found", overwrite: false, samples: [[1, "v1", 0], [2, "v2", 0]] }]);
    expect(sp.changedElsewhere()).toBe(false);
    expect(store.summary()).toEqual({ count: 1, latest: [{ id: 1, at: 1234, pointId: "gone", status: 404, detail: "point not found", values: 2 }] });
    expect(store.retry()).toBe(2);
    expect(store.list()).toEqual([]);
    expect(sp.changedElsewhere()).toBe(true);
    const c = sp.commit();
    expect([...c.added.keys()]).toEqual(["gone"]);
    const again = sp.take("gone", 10);
    expect(again.map((r) => r.value)).toEqual(["v1", "v2"]);
    sp.deadLetter("gone", again, 400, "x", false, 1);
    sp.commit();
    expect(store.purge()).toBe(1);
    db.close();
    sp.close();
  });

  it("gives a new file 16 KiB pages; a file of 4 KiB pages (an earlier version's) keeps them and its samples", () => {
    const f = file();
    const sp = open(f);
    expect(sp.database.pragma("page_size", { simple: true })).toBe(16_384);
    sp.append(s("a", 1), 1);
    sp.commit();
    sp.close();
    // What an earlier version left: the same schema and samples on 4 KiB pages.
    const db = new BetterSqlite3(f);
    db.pragma("journal_mode = DELETE");
    db.pragma("page_size = 4096");
    db.exec("VACUUM");
    db.pragma("journal_mode = WAL");
    expect(db.pragma("page_size", { simple: true })).toBe(4096);
    db.close();
    const again = open(f);
    expect(again.database.pragma("page_size", { simple: true })).toBe(4096);
    again.append(s("a", 2), 2);
    again.commit();
    expect(again.take("a", 10).map((r) => [r.ts, r.value])).toEqual([[1, "v1"], [2, "v2"]]);
    again.close();
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
    expect(sp.rows).toBe(2_998); // every buffered one is stored
    expect(sp.database.prepare("SELECT SUM(count) FROM chunks").pluck().get()).toBe(2_998); // the acknowledged chunk went
    expect(sp.take("a", 5_000).map((r) => r.ts)).toEqual(Array.from({ length: 2_998 }, (_, i) => i + 2));
    sp.close();
  });

  it("a point first seen while the disk is full is registered by the commit that finally works (append never writes)", () => {
    const sp = open(file());
    sp.append(s("a", 1), 1);
    sp.commit();
    const db = sp.database;
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
    for (let i = 0; i < 500; i++) expect(sp.append(s("new", i, "w".repeat(200)), i)).toBe(true);
    expect(() => sp.commit()).toThrow(/full/i);
    db.pragma("max_page_count = 1073741823");
    sp.commit();
    expect(sp.take("new", 1000).map((r) => r.ts)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(db.prepare("SELECT COUNT(*) FROM points WHERE point_id = 'new'").pluck().get()).toBe(1);
    sp.close();
  });

  it("after a crash, the newest timestamps of chunks the progress did not cover yet still count for gap fill", () => {
    const f = file();
    const sp = open(f);
    sp.append(s("a", 10), 1);
    sp.commit(true); // progress written: a = 10
    sp.append(s("a", 20), 2);
    sp.append(s("b", 5), 2);
    sp.commit(false); // a chunk the progress does not cover
    sp.ack("a", sp.take("a", 10));
    sp.database.close(); // crash
    const again = open(f);
    expect(again.lastTimestamps()).toEqual(new Map([["a", 20], ["b", 5]]));
    again.ack("a", again.take("a", 10));
    again.ack("b", again.take("b", 10));
    again.close(); // maintenance: progress written, chunks deleted
    const third = open(f);
    expect(third.rows).toBe(0);
    expect(third.lastTimestamps()).toEqual(new Map([["a", 20], ["b", 5]]));
    third.close();
  });

  it("a point another process puts back (deadletter retry) while this one has it buffered keeps one queue, in order", () => {
    const f = file();
    const sp = open(f);
    sp.append(s("x", 1), 1);
    sp.commit();
    sp.deadLetter("x", sp.take("x", 10), 404, "missing", false, 1);
    sp.commit();
    sp.append(s("late", 5), 2); // a point first seen now: not registered until the next commit
    const db = new BetterSqlite3(f);
    const store = new DeadLetterStore(db);
    db.prepare("UPDATE dead_letters SET point_id = 'late'").run(); // the letter now belongs to the buffered point
    sp.changedElsewhere(); // the first look only records the file's version
    expect(store.retry()).toBe(1);
    expect(sp.changedElsewhere()).toBe(true);
    sp.commit();
    expect(sp.take("late", 10).map((r) => r.ts).sort()).toEqual([1, 5]);
    expect(sp.rows).toBe(2);
    db.close();
    sp.close();
  });

  it("stores chunks as columns that read back exactly, and still reads the JSON chunks of a schema-4 file", () => {
    const tricky = ["", "12.66", "-0.000001", 'say "hi"\\n', "ünïcödé ✓ 𝄞", "x".repeat(5000), "1e+21", "null"];
    const f = file();
    const sp = open(f);
    const ts0 = Date.UTC(2026, 11, 2, 3, 4, 5, 678);
    tricky.forEach((v, i) => sp.append({ pointId: i % 2 ? "odd" : "even", ts: ts0 + i, value: v, quality: (i % 3) as 0 | 1 | 2 }, 1));
    sp.commit();
    sp.database.close(); // crash: served from the file at the next start
    const again = open(f);
    const got = [...again.take("even", 100), ...again.take("odd", 100)].sort((a, b) => a.ts - b.ts);
    expect(got).toEqual(tricky.map((v, i) => ({ ts: ts0 + i, value: v, quality: i % 3 })));
    again.close();

    // A file an earlier version left: schema 4, chunk bodies as JSON text [key, ts, value, quality, …].
    const old = file();
    open(old).close();
    const db = new BetterSqlite3(old);
    db.pragma("user_version = 4");
    db.prepare("INSERT INTO points (key, point_id) VALUES (1, 'a'), (2, 'b')").run();
    db.prepare("INSERT INTO chunks (arrived, count, bytes, body) VALUES (?, ?, ?, ?)").run(5, 3, 300, JSON.stringify([1, 10, "x", 0, 2, 11, 'q"', 2, 1, 12, "y", 1]));
    db.close();
    const migrated = open(old);
    expect(migrated.take("a", 10)).toEqual([{ ts: 10, value: "x", quality: 0 }, { ts: 12, value: "y", quality: 1 }]);
    expect(migrated.take("b", 10)).toEqual([{ ts: 11, value: 'q"', quality: 2 }]);
    expect(migrated.lastTimestamps()).toEqual(new Map([["a", 12], ["b", 11]]));
    migrated.close();
    const check = new BetterSqlite3(old);
    expect(check.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
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
