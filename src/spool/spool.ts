import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Sample } from "../core/types.js";
import { migrate } from "./schema.js";

export interface SpoolOptions {
  file: string;
  maxBytes: number;
  whenFull: "dropOldest" | "dropNewest";
}

export interface SpoolRow {
  id: number;
  ts: number;
  value: string;
  quality: 0 | 1 | 2;
}

/** Approximate stored size of a row: its value plus the fixed columns and index entry. */
const ROW_OVERHEAD = 48;
const rowBytes = (value: string) => value.length + ROW_OVERHEAD;

interface PointState {
  key: number;
  /** Committed rows after the cursor: not yet handed to the sender. */
  unread: number;
  /** Highest row id handed to the sender. */
  cursor: number;
}

export interface CommitResult {
  /** Points that gained rows, with the arrival time of their first new row. */
  added: Map<string, number>;
  /** Rows deleted by dropOldest in this commit. */
  droppedOldest: number;
}

/**
 * The durable queue between the OPC UA side and the API, in SQLite (WAL, synchronous FULL).
 * Samples are buffered and written in one transaction per commit (the group commit window);
 * a row is deleted only once the API acknowledged it. Per point, rows are taken in id order.
 */
export class Spool {
  private readonly db: Database;
  private readonly points = new Map<string, PointState>();
  private buffer: { point: PointState; pointId: string; s: Sample; arrived: number }[] = [];
  private bufferBytes = 0;
  /** Acknowledged id ranges [point key, first id, last id], deleted in the next commit. */
  private acks: [number, number, number][] = [];
  /** Refused batches, written in the next commit together with the deletion of their rows. */
  private letters: unknown[][] = [];
  private ackBytes = 0;
  /** Rows and approximate bytes stored (committed, not yet deleted). */
  rows = 0;
  bytes = 0;
  droppedNewest = 0;
  droppedOldest = 0;
  private readonly st: {
    insert: Statement; insertPoint: Statement; findPoint: Statement; take: Statement; firstArrival: Statement; deleteRange: Statement;
    letter: Statement;
    countAfter: Statement; oldest: Statement; progress: Statement;
  };

  constructor(private readonly opts: SpoolOptions) {
    mkdirSync(dirname(opts.file), { recursive: true });
    this.db = new BetterSqlite3(opts.file);
    this.db.pragma("journal_mode = WAL");
    // FULL: a committed group survives power loss, not only a process kill.
    this.db.pragma("synchronous = FULL");
    migrate(this.db, opts.file);
    this.st = {
      insert: this.db.prepare("INSERT INTO samples (point, ts, value, quality, arrived) VALUES (?, ?, ?, ?, ?)"),
      insertPoint: this.db.prepare("INSERT OR IGNORE INTO points (point_id) VALUES (?)"),
      findPoint: this.db.prepare("SELECT key FROM points WHERE point_id = ?").pluck(),
      letter: this.db.prepare("INSERT INTO dead_letters (at, point_id, status, detail, overwrite, samples) VALUES (?, ?, ?, ?, ?, ?)"),
      take: this.db.prepare("SELECT id, ts, value, quality FROM samples WHERE point = ? AND id > ? ORDER BY id LIMIT ?"),
      firstArrival: this.db.prepare("SELECT arrived FROM samples WHERE point = ? AND id > ? ORDER BY id LIMIT 1").pluck(),
      deleteRange: this.db.prepare("DELETE FROM samples WHERE point = ? AND id BETWEEN ? AND ?"),
      countAfter: this.db.prepare("SELECT COUNT(*) FROM samples WHERE point = ? AND id > ?").pluck(),
      oldest: this.db.prepare("SELECT arrived FROM samples ORDER BY id LIMIT 1").pluck(),
      progress: this.db.prepare(
        "INSERT INTO point_progress (point_id, last_ts) VALUES (?, ?) ON CONFLICT (point_id) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)",
      ),
    };
    this.load();
  }

  /** Rebuild the in-memory counters from the file (start-up, or after another process changed it). */
  load(): void {
    const keys = this.db.prepare("SELECT key, point_id FROM points").all() as { key: number; point_id: string }[];
    for (const { key, point_id } of keys) {
      const p = this.points.get(point_id);
      if (p) p.unread = this.st.countAfter.get(key, p.cursor) as number;
      else this.points.set(point_id, { key, cursor: 0, unread: this.st.countAfter.get(key, 0) as number });
    }
    const t = this.db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(length(value)), 0) + COUNT(*) * ${ROW_OVERHEAD} AS b FROM samples`).get() as { n: number; b: number };
    this.rows = t.n;
    this.bytes = t.b;
  }

  /** Points with unread rows and the arrival of their oldest one, oldest first: the backlog to send. */
  backlog(): { pointId: string; firstArrived: number }[] {
    const out: { pointId: string; firstArrived: number }[] = [];
    for (const [pointId, p] of this.points) {
      if (p.unread > 0) out.push({ pointId, firstArrived: this.st.firstArrival.get(p.key, p.cursor) as number });
    }
    return out.sort((a, b) => a.firstArrived - b.firstArrived);
  }

  /** Buffer a sample for the next commit. False when the spool is full and whenFull is dropNewest. */
  append(s: Sample, arrived: number): boolean {
    const size = rowBytes(s.value);
    if (this.opts.whenFull === "dropNewest" && this.bytes + this.bufferBytes + size > this.opts.maxBytes) {
      this.droppedNewest++;
      return false;
    }
    this.buffer.push({ point: this.point(s.pointId), pointId: s.pointId, s, arrived });
    this.bufferBytes += size;
    return true;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /**
   * One transaction: buffered samples in, acknowledged rows out (with their dead letters), then the
   * size cap. When SQLite fails (disk full, locked), nothing is lost from memory: the buffer and the
   * acknowledgements stay for the next commit, and the error goes to the caller.
   */
  commit(): CommitResult {
    const added = new Map<string, number>();
    const buffer = this.buffer;
    const acks = this.acks;
    const letters = this.letters;
    let deleted = 0;
    let droppedOldest = 0;
    const newest = new Map<string, number>();
    this.db.transaction(() => {
      for (const b of buffer) {
        this.st.insert.run(b.point.key, b.s.ts, b.s.value, b.s.quality, b.arrived);
        if ((newest.get(b.pointId) ?? -Infinity) < b.s.ts) newest.set(b.pointId, b.s.ts);
      }
      for (const [pointId, ts] of newest) this.st.progress.run(pointId, ts);
      for (const l of letters) this.st.letter.run(...l);
      for (const [key, first, last] of acks) deleted += this.st.deleteRange.run(key, first, last).changes;
      if (this.opts.whenFull === "dropOldest" && this.bytes + this.bufferBytes - this.ackBytes > this.opts.maxBytes) {
        droppedOldest = this.dropOldest();
      }
    })();
    this.buffer = [];
    this.acks = [];
    this.letters = [];
    for (const b of buffer) {
      b.point.unread++;
      if (!added.has(b.pointId)) added.set(b.pointId, b.arrived);
    }
    this.rows += buffer.length - deleted;
    this.bytes += this.bufferBytes - this.ackBytes;
    this.bufferBytes = 0;
    this.ackBytes = 0;
    if (droppedOldest > 0) this.load(); // exact counters again after the cap cut rows of any point
    return { added, droppedOldest };
  }

  /** Delete the oldest rows until the spool is 10 % under its cap (hysteresis: not every commit). */
  private dropOldest(): number {
    const target = this.opts.maxBytes * 0.9;
    let excess = this.bytes + this.bufferBytes - this.ackBytes - target;
    const rows = this.db.prepare("SELECT id, length(value) AS len FROM samples ORDER BY id LIMIT 10000").iterate() as Iterable<{ id: number; len: number }>;
    let upTo = 0;
    for (const r of rows) {
      upTo = r.id;
      excess -= r.len + ROW_OVERHEAD;
      if (excess <= 0) break;
    }
    const n = this.db.prepare("DELETE FROM samples WHERE id <= ?").run(upTo).changes;
    this.droppedOldest += n;
    return n;
  }

  /** Hand the next rows of a point to the sender (oldest first); they stay stored until ack. */
  take(pointId: string, limit: number): SpoolRow[] {
    const p = this.points.get(pointId);
    if (!p || p.unread === 0) return [];
    const rows = this.st.take.all(p.key, p.cursor, limit) as SpoolRow[];
    if (rows.length > 0) p.cursor = rows[rows.length - 1]!.id;
    p.unread = Math.max(0, p.unread - rows.length);
    return rows;
  }

  /** The rows were not delivered (transient failure): they will be taken again, first. */
  release(pointId: string, rows: readonly SpoolRow[]): void {
    const p = this.points.get(pointId);
    if (!p || rows.length === 0) return;
    p.cursor = Math.min(p.cursor, rows[0]!.id - 1);
    p.unread = this.st.countAfter.get(p.key, p.cursor) as number;
  }

  /** The API took these rows (204/202): delete them in the next commit. */
  ack(pointId: string, rows: readonly SpoolRow[]): void {
    const p = this.points.get(pointId);
    if (!p || rows.length === 0) return;
    this.acks.push([p.key, rows[0]!.id, rows[rows.length - 1]!.id]);
    for (const r of rows) this.ackBytes += rowBytes(r.value);
  }

  unread(pointId: string): number {
    return this.points.get(pointId)?.unread ?? 0;
  }

  /** Arrival time of the oldest unread row of a point. */
  firstUnreadArrival(pointId: string): number | undefined {
    const p = this.points.get(pointId);
    return p && p.unread > 0 ? ((this.st.firstArrival.get(p.key, p.cursor) as number | undefined) ?? undefined) : undefined;
  }

  /** Arrival time of the oldest stored row, for the "oldest unsent sample" metric. */
  oldestArrival(): number | undefined {
    return (this.st.oldest.get() as number | undefined) ?? undefined;
  }

  /** Newest timestamp ever spooled per point (kept after the rows are sent): where a gap starts. */
  lastTimestamps(): Map<string, number> {
    const rows = this.db.prepare("SELECT point_id, last_ts FROM point_progress").all() as { point_id: string; last_ts: number }[];
    return new Map(rows.map((r) => [r.point_id, r.last_ts]));
  }

  /** Permanently refused rows: kept with the API's answer, never silently deleted. */
  deadLetter(pointId: string, rows: readonly SpoolRow[], status: number, detail: string, overwrite: boolean, at: number): void {
    // Written in the same commit that deletes the rows: a crash between the two cannot keep both.
    this.letters.push([at, pointId, status, detail, overwrite ? 1 : 0, JSON.stringify(rows.map((r) => [r.ts, r.value, r.quality]))]);
    this.ack(pointId, rows);
  }

  /** Another process (the deadletter command) changed the file since we last looked. */
  changedElsewhere(): boolean {
    const v = this.db.pragma("data_version", { simple: true }) as number;
    const changed = this.dataVersion !== undefined && v !== this.dataVersion;
    this.dataVersion = v;
    return changed;
  }
  private dataVersion: number | undefined;

  /** Register points in one transaction (one fsync), not one autocommit per first value. */
  registerPoints(pointIds: Iterable<string>): void {
    this.db.transaction(() => {
      for (const id of pointIds) this.point(id);
    })();
  }

  private point(pointId: string): PointState {
    let p = this.points.get(pointId);
    if (!p) {
      this.st.insertPoint.run(pointId); // OR IGNORE: `deadletter retry` may have added it meanwhile
      p = { key: this.st.findPoint.get(pointId) as number, unread: 0, cursor: 0 };
      this.points.set(pointId, p);
    }
    return p;
  }

  get database(): Database {
    return this.db;
  }

  close(): void {
    if (this.buffer.length > 0 || this.acks.length > 0 || this.letters.length > 0) this.commit();
    this.db.close();
  }
}
