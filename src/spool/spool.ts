import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Sample, Value } from "../core/types.js";
import { Checkpoints } from "./checkpoints.js";
import { chunkStatements, decodeChunk, sampleBytes, writeChunk, type ChunkColumns, type ChunkStatements, type StoredChunk } from "./chunks.js";
import { DeadLetterStore, deadLetterStatement } from "./deadletters.js";
import { MemChunk, PointQueue } from "./queue.js";
import { migrate } from "./schema.js";

export interface SpoolOptions {
  file: string;
  maxBytes: number;
  whenFull: "dropOldest" | "dropNewest";
  /**
   * full (default): fsync at every commit, a committed sample survives power loss (live mode: its
   * source is gone once read). normal: no fsync per commit; a power loss can take back the last
   * commits (with their checkpoints), which is right for history that can be read again.
   */
  durability?: "full" | "normal";
  /**
   * stored (default): every committed sample is written to the file and sent from there after a
   * crash or a stop. memory: samples are held in memory only, never written, and lost in a crash or
   * at close; for a source that can read them again (the backfill), whose checkpoints wait for the
   * API instead (Checkpoints). The file then holds checkpoints, dead letters and the points, and
   * what a stored spool left in it is still sent. Needs whenFull dropNewest (nothing to drop on disk).
   */
  values?: "stored" | "memory";
  /**
   * Samples held in memory for sending, at most (default 100,000), unless the owner raises the
   * limit with setMemoryLimit; beyond it, new chunks wait on disk (values: "memory": only what a
   * stored spool left waits; its owner bounds what it adds).
   */
  memoryRows?: number;
}

/** What the sender gets of a sample. */
export type SpoolRow = Value;

/** Writes its own rows inside the spool's commit transaction (backfill checkpoints). */
export interface CommitParticipant {
  /** Something staged to write. */
  readonly pending: number;
  /** Inside the transaction; throwing rolls the whole commit back. */
  write(): void;
  /** After the transaction committed. */
  committed(): void;
}

export interface CommitResult {
  /** Points that gained sendable rows, with the arrival time of their first new row. */
  added: Map<string, number>;
  /** Samples deleted by dropOldest in this commit. */
  droppedOldest: number;
}

const DEFAULT_MEMORY_ROWS = 100_000;
/** A chunk holds at most this many samples and about this many bytes (see commit). */
const CHUNK_SAMPLES = 1_000;
const CHUNK_BYTES = 64 * 1024;
/**
 * Page size of a new spool file (SQLite's default is 4 KiB). A chunk is a BLOB of up to 64 KiB on
 * overflow pages, and each page is a WAL frame of two pwrite calls, written again to the file at the
 * checkpoint (87,000 pwrites in most of a backfill of 3,000,000 values with 4 KiB): 16 KiB pages are a
 * quarter of the calls. 3 alternating backfill pairs: the connector 4.30 → 3.82 µs a value on
 * average, 178,600 → 198,200 values/s.
 */
const PAGE_SIZE = 16 * 1024;

/**
 * The durable queue between the OPC UA side and the API, in SQLite (WAL). Appended samples are
 * buffered and written as one chunk per group commit; the sender is served from memory (the
 * committed tail), and SQLite is read back only for what memory does not hold: what an earlier
 * run left, or the backlog of an outage longer than `memoryRows` samples. A chunk is deleted once
 * the API acknowledged all its samples; after a crash, a partly acknowledged chunk is sent again
 * whole, which the API's one-value-per-millisecond rule makes harmless (a repeat is a conflict).
 */
export class Spool {
  private readonly db: Database;
  private readonly memoryRows: number;
  /** The current limit: memoryRows, or more while a backlog drains (setMemoryLimit). */
  private memoryLimit: number;
  private readonly points = new Map<string, PointQueue>();
  /** By key: the points table's rowids, 1, 2, 3… as points were first seen, so an array (a Map of 100,000 entries is 3.5 MB more). */
  private readonly byKey: (PointQueue | undefined)[] = [];
  /**
   * Chunks held in memory with samples not yet acknowledged, by id: stored ones in ascending id
   * order (dropOldest relies on it), memory-only ones (negative ids) only in a spool of
   * values: "memory", which never drops oldest.
   */
  private readonly live = new Map<number, MemChunk>();
  /** Appended samples waiting for the next commit, as columns: no object per sample. */
  private bufPoints: PointQueue[] = [];
  private bufTs: number[] = [];
  private bufValues: string[] = [];
  private bufQuality: (0 | 1 | 2)[] = [];
  private bufArrived: number[] = [];
  private bufferBytes = 0;
  /** Fully acknowledged chunks, deleted at the next maintenance commit. */
  private deletable: number[] = [];
  private deletableBytes = 0;
  /** Refused batches, written in the next commit. */
  private letters: unknown[][] = [];
  /** Points whose newest timestamp the next maintenance commit writes (each marked `progressDirty`). */
  private dirty: PointQueue[] = [];
  private readonly participants = new Set<CommitParticipant>();
  /** Points first seen since the last commit: written to the points table inside it (key -1 until then). */
  private unregistered: PointQueue[] = [];
  /** Our chunks written while memory was full (already counted in rows/bytes; fill() reads them later). */
  private readonly ownOnDisk = new Set<number>();
  /** The newest chunk when the file was opened: those are counted by the constructor. */
  private readonly openedUpTo: number;
  /** Memory holds every stored chunk with id <= loadedUpTo that has unacknowledged samples. */
  private loadedUpTo = 0;
  /** No chunk beyond loadedUpTo exists: a new commit goes straight to memory. */
  private caughtUp = false;
  private lastChunkId: number;
  private memRows = 0;
  /** Commits so far (marks which points a commit added). */
  private commits = 0;
  /** values: "memory": commits hold their samples in memory only, as chunks of negative ids (-1, -2, …). */
  private readonly inMemory: boolean;
  private memoryChunkId = 0;
  /** Samples stored and not yet acknowledged (what a stop would leave). */
  rows = 0;
  /** Approximate bytes of the stored chunks (and of the memory-only ones). */
  bytes = 0;
  droppedNewest = 0;
  droppedOldest = 0;
  private readonly chunks: ChunkStatements;
  private readonly st: { insertPoint: Statement; findPoint: Statement; pointById: Statement; letter: Statement; progress: Statement; meta: Statement; setMeta: Statement; firstOnDisk: Statement };

  constructor(private readonly opts: SpoolOptions) {
    mkdirSync(dirname(opts.file), { recursive: true });
    this.memoryRows = opts.memoryRows ?? DEFAULT_MEMORY_ROWS;
    this.memoryLimit = this.memoryRows;
    this.inMemory = opts.values === "memory";
    if (this.inMemory && opts.whenFull !== "dropNewest") throw new Error('a spool of values: "memory" needs whenFull: "dropNewest"');
    this.db = new BetterSqlite3(opts.file);
    // Before anything is written: a new file gets it, an existing one keeps its own.
    this.db.pragma(`page_size = ${PAGE_SIZE}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${opts.durability === "normal" ? "NORMAL" : "FULL"}`);
    migrate(this.db, opts.file);
    this.chunks = chunkStatements(this.db);
    this.st = {
      insertPoint: this.db.prepare("INSERT OR IGNORE INTO points (point_id) VALUES (?)"),
      findPoint: this.db.prepare("SELECT key FROM points WHERE point_id = ?").pluck(),
      pointById: this.db.prepare("SELECT point_id FROM points WHERE key = ?").pluck(),
      letter: deadLetterStatement(this.db),
      progress: this.db.prepare(
        "INSERT INTO point_progress (point_id, last_ts) VALUES (?, ?) ON CONFLICT (point_id) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)",
      ),
      meta: this.db.prepare("SELECT value FROM meta WHERE key = ?").pluck(),
      setMeta: this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      firstOnDisk: this.db.prepare("SELECT arrived FROM chunks WHERE id > ? ORDER BY id LIMIT 1").pluck(),
    };
    for (const { key, point_id } of this.db.prepare("SELECT key, point_id FROM points").all() as { key: number; point_id: string }[]) this.addPoint(key, point_id);
    const t = this.db.prepare("SELECT COALESCE(SUM(count), 0) AS n, COALESCE(SUM(bytes), 0) AS b FROM chunks").get() as { n: number; b: number };
    this.rows = t.n;
    this.bytes = t.b;
    this.lastChunkId = (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").pluck().get() as number | undefined) ?? 0;
    this.openedUpTo = this.lastChunkId;
    // Newest timestamps in chunks written after the last progress write (a crash): written by the
    // next maintenance commit, so a later gap fill starts right even if these points stay silent.
    for (const [id, ts] of this.unwrittenProgress()) {
      const p = this.point(id);
      p.newest = ts;
      this.markDirty(p);
    }
    this.fill();
  }

  /** Points with sendable rows and the arrival of their oldest one, oldest first: the backlog to send. */
  backlog(): { pointId: string; firstArrived: number }[] {
    const out: { pointId: string; firstArrived: number }[] = [];
    for (const p of this.points.values()) {
      const first = p.firstUnreadArrival;
      if (first !== undefined) out.push({ pointId: p.id, firstArrived: first });
    }
    return out.sort((a, b) => a.firstArrived - b.firstArrived);
  }

  /** Buffer a sample for the next commit. False when the spool is full and whenFull is dropNewest. */
  append(s: Sample, arrived: number): boolean {
    return this.add(this.point(s.pointId), s.ts, s.value, s.quality, arrived);
  }

  /** append() for a point's queue at hand (point()): the per-notification path, no lookup and no object. */
  add(p: PointQueue, ts: number, value: string, quality: 0 | 1 | 2, arrived: number): boolean {
    const size = sampleBytes(value);
    if (this.opts.whenFull === "dropNewest" && this.bytes - this.deletableBytes + this.bufferBytes + size > this.opts.maxBytes) {
      this.droppedNewest++;
      return false;
    }
    this.bufPoints.push(p);
    this.bufTs.push(ts);
    this.bufValues.push(value);
    this.bufQuality.push(quality);
    this.bufArrived.push(arrived);
    this.bufferBytes += size;
    p.appended++;
    // The newest timestamp a point had is where a live gap fill starts: nothing to keep of values held in memory.
    if (ts > p.newest && !this.inMemory) {
      p.newest = ts;
      this.markDirty(p);
    }
    return true;
  }

  private markDirty(p: PointQueue): void {
    if (p.progressDirty) return;
    p.progressDirty = true;
    this.dirty.push(p);
  }

  /**
   * Let memory hold up to `rows` samples (never fewer than memoryRows); fill() reads up to it at the
   * next commit, and a lower limit only stops reading (nothing held is dropped).
   */
  setMemoryLimit(rows: number): void {
    this.memoryLimit = Math.max(this.memoryRows, rows);
  }

  /** Points this spool knows (mapped, or found in the file). */
  get pointCount(): number {
    return this.points.size;
  }

  get buffered(): number {
    return this.bufTs.length;
  }

  /** Register a participant whose rows are written in every commit's transaction. */
  join(p: CommitParticipant): () => void {
    this.participants.add(p);
    return () => this.participants.delete(p);
  }

  /** Backfill checkpoints of a job, committed with the samples they stand for (or, held in memory only, once those are settled). */
  checkpoints(job: string): Checkpoints {
    const c = new Checkpoints(this.db, job, this.inMemory ? (pointId) => this.point(pointId) : undefined);
    this.join(c);
    return c;
  }

  /**
   * One transaction: the buffered samples as one chunk, dead letters, participants' rows; with
   * `maintain` also the progress per point, the deletion of acknowledged chunks and the size cap
   * (the engine maintains about once a second: fewer statements, the same safety). When SQLite
   * fails (disk full, locked), nothing is lost from memory: everything stays for the next commit,
   * and the error goes to the caller. With `values: "memory"` the samples are not written: they
   * become sendable with the commit (and the transaction runs only if there is something else to write).
   */
  commit(maintain = true): CommitResult {
    const added = new Map<string, number>();
    const seq = ++this.commits;
    const n = this.bufTs.length;
    const overCap = this.opts.whenFull === "dropOldest" && this.bytes - this.deletableBytes + this.bufferBytes > this.opts.maxBytes;
    if (overCap) maintain = true;
    const deleting = maintain ? this.deletable : [];
    let staged = false;
    for (const p of this.participants) staged ||= p.pending > 0;
    const writes = this.letters.length > 0 || staged || this.unregistered.length > 0 || (maintain && (this.dirty.length > 0 || deleting.length > 0 || overCap));
    if (n === 0 && !writes) {
      this.fill(added, seq);
      return { added, droppedOldest: 0 };
    }
    const slices: { id: number; start: number; end: number; bytes: number; columns: ChunkColumns }[] = [];
    let dropped: { upTo: number; samples: number } | undefined;
    const registering = this.unregistered;
    const tx = this.db.transaction(() => {
      for (const p of registering) {
        this.st.insertPoint.run(p.id); // OR IGNORE: another process may have added it meanwhile
        p.key = this.st.findPoint.get(p.id) as number;
      }
      // Slices of a bounded size: a chunk's encoding stays a small young object that dies at once, not a
      // large one that only a full GC reclaims (which made the heap grow several times the live set).
      const toWrite = this.inMemory ? 0 : n; // values: "memory": none is written
      for (let start = 0; start < toWrite; ) {
        let end = start;
        let bytes = 0;
        while (end < n && end - start < CHUNK_SAMPLES && bytes < CHUNK_BYTES) bytes += sampleBytes(this.bufValues[end++]!);
        const keys = new Array<number>(end - start);
        for (let i = start; i < end; i++) keys[i - start] = this.bufPoints[i]!.key;
        const c: ChunkColumns = { keys, ts: this.bufTs.slice(start, end), values: this.bufValues.slice(start, end), quality: this.bufQuality.slice(start, end) };
        slices.push({ id: writeChunk(this.chunks, this.bufArrived[start]!, c, bytes), start, end, bytes, columns: c });
        start = end;
      }
      for (const l of this.letters) this.st.letter.run(...l);
      for (const p of this.participants) p.write();
      if (maintain) {
        for (const p of this.dirty) this.st.progress.run(p.id, p.newest);
        this.st.setMeta.run("progress_chunk", Math.max(slices.at(-1)?.id ?? 0, this.lastChunkId));
        deleteIds(this.db, deleting);
        if (overCap) dropped = this.dropOldest();
      }
    });
    try {
      if (!this.inMemory || writes) tx();
    } catch (err) {
      for (const p of registering) p.key = -1; // rolled back with the rest: registered by the next commit
      throw err;
    }
    for (const p of registering) this.byKey[p.key] = p;
    this.unregistered = [];
    for (const p of this.participants) p.committed();
    this.letters = [];
    if (maintain) {
      for (const p of this.dirty) p.progressDirty = false;
      this.dirty = [];
      this.deletable = [];
      this.bytes -= this.deletableBytes;
      this.deletableBytes = 0;
    }
    if (n > 0) {
      this.rows += n;
      this.bytes += this.bufferBytes;
      const direct = !this.inMemory && this.caughtUp && slices[0]!.id === this.loadedUpTo + 1 && this.memRows < this.memoryLimit;
      if (this.inMemory) {
        // The buffered columns become one chunk in memory as they are: no copy, no encoding.
        const chunk = new MemChunk(--this.memoryChunkId, this.bufArrived[0]!, n, this.bufferBytes, this.bufTs, this.bufValues, this.bufQuality, this.bufArrived);
        this.live.set(chunk.id, chunk);
        this.enqueue(chunk, 0, n, added, seq);
      }
      for (const slice of slices) {
        const { id, start, end, columns } = slice;
        this.lastChunkId = Math.max(this.lastChunkId, id);
        if (!direct) {
          this.caughtUp = false; // on disk only: fill() brings it, in order
          this.ownOnDisk.add(id);
          continue;
        }
        // The columns just encoded are the chunk's memory too: no copy per sample.
        const at = this.bufArrived.slice(start, end);
        const chunk = new MemChunk(id, at[0]!, end - start, slice.bytes, columns.ts, columns.values, columns.quality, at);
        this.live.set(id, chunk);
        this.enqueue(chunk, start, end, added, seq);
        this.loadedUpTo = id;
      }
      this.bufPoints = [];
      this.bufTs = [];
      this.bufValues = [];
      this.bufQuality = [];
      this.bufArrived = [];
      this.bufferBytes = 0;
    }
    let droppedOldest = 0;
    try {
      if (dropped) droppedOldest = this.forgetDropped(dropped.upTo, dropped.samples);
      this.fill(added, seq);
    } catch {
      // A read after the commit failed: what was committed stays committed; fill() tries again next time.
      this.caughtUp = false;
    }
    return { added, droppedOldest };
  }

  /** Buffered samples start..end-1, now `chunk`'s 0.., join their points' queues; a point gaining its first is reported in `added`. */
  private enqueue(chunk: MemChunk, start: number, end: number, added: Map<string, number>, seq: number): void {
    for (let i = start; i < end; i++) {
      const p = this.bufPoints[i]!;
      p.push(chunk, i - start);
      if (p.mark !== seq) {
        p.mark = seq;
        added.set(p.id, this.bufArrived[i]!);
      }
    }
    this.memRows += end - start;
  }

  /** Inside the commit: delete the oldest chunks until 10 % under the cap (hysteresis: not every commit). */
  private dropOldest(): { upTo: number; samples: number } {
    const target = this.opts.maxBytes * 0.9;
    let excess = this.bytes - this.deletableBytes + this.bufferBytes - target;
    let upTo = 0;
    let samples = 0;
    const page = this.db.prepare("SELECT id, count, bytes FROM chunks WHERE id > ? ORDER BY id LIMIT 256");
    while (excess > 0) {
      const rows = page.all(upTo) as { id: number; count: number; bytes: number }[];
      if (rows.length === 0) break;
      for (const r of rows) {
        upTo = r.id;
        excess -= r.bytes;
        const inMemory = this.live.get(r.id);
        samples += inMemory ? inMemory.pending : r.id > this.loadedUpTo ? r.count : 0;
        if (excess <= 0) break;
      }
    }
    if (upTo > 0) this.db.prepare("DELETE FROM chunks WHERE id <= ?").run(upTo);
    return { upTo, samples };
  }

  /** After dropOldest committed: the chunks up to `upTo` are gone; take their samples out of memory. */
  private forgetDropped(upTo: number, samples: number): number {
    for (const c of this.live.values()) {
      if (c.id > upTo) break;
      c.dropped = true;
      this.live.delete(c.id);
    }
    // A maintenance commit ran (nothing is left to delete): the size is what the table holds.
    this.bytes = (this.db.prepare("SELECT COALESCE(SUM(bytes), 0) FROM chunks").pluck().get() as number) ?? 0;
    // Dropped samples are the oldest: right after the in-flight ones (which the sender settles).
    for (const p of this.points.values()) this.memRows -= p.forgetDropped();
    if (this.loadedUpTo < upTo) this.loadedUpTo = upTo;
    this.rows -= samples;
    this.droppedOldest += samples;
    return samples;
  }

  /** Read chunks beyond what memory holds, oldest first, while there is room. */
  private fill(added?: Map<string, number>, seq = 0): void {
    while (!this.caughtUp && this.memRows < this.memoryLimit) {
      const stored = this.chunks.after.all(this.loadedUpTo, 8) as StoredChunk[];
      if (stored.length === 0) {
        this.caughtUp = true;
        this.lastChunkId = Math.max(this.lastChunkId, this.loadedUpTo);
        break;
      }
      for (const c of stored) {
        const d = decodeChunk(c.body);
        const chunk = new MemChunk(c.id, c.arrived, c.count, c.bytes, d.ts, d.values, d.quality, undefined);
        if (!this.ownOnDisk.delete(c.id) && c.id > this.openedUpTo) {
          // Written by another process since we opened the file (`deadletter retry`): not counted yet.
          this.rows += c.count;
          this.bytes += c.bytes;
        }
        this.lastChunkId = Math.max(this.lastChunkId, c.id);
        this.live.set(c.id, chunk);
        for (let i = 0; i < d.values.length; i++) {
          const p = this.pointByKey(d.keys[i]!);
          p.push(chunk, i);
          if (added && p.mark !== seq) {
            p.mark = seq;
            added.set(p.id, c.arrived);
          }
        }
        this.memRows += c.count;
        this.loadedUpTo = c.id;
        if (this.memRows >= this.memoryLimit) break;
      }
    }
  }

  /** Hand the next rows of a point to the sender (oldest first); one batch in flight per point. */
  take(pointId: string, limit: number): SpoolRow[] {
    const p = this.points.get(pointId);
    return p ? p.take(limit) : [];
  }

  /** The batch was not delivered (transient failure): it is taken again, first. */
  release(pointId: string, _rows?: readonly SpoolRow[]): void {
    this.points.get(pointId)?.release();
  }

  /** The API took the point's batch in flight (204/202): its chunks go once all their samples did. */
  ack(pointId: string, _rows?: readonly SpoolRow[]): void {
    const p = this.points.get(pointId);
    if (!p || p.inflight === 0) return;
    this.memRows -= p.inflight;
    this.rows -= p.ack(this.emptied);
  }

  /** A chunk's last sample was acknowledged: it is deleted from the file by the next maintenance commit (one held in memory only is just forgotten). */
  private readonly emptied = (c: MemChunk): void => {
    this.live.delete(c.id);
    if (c.id < 0) {
      this.bytes -= c.bytes;
      return;
    }
    this.deletable.push(c.id);
    this.deletableBytes += c.bytes;
  };

  /** Permanently refused: kept with the API's answer (written in the next commit), then acknowledged. */
  deadLetter(pointId: string, rows: readonly SpoolRow[], status: number, detail: string, overwrite: boolean, at: number): void {
    if (rows.length > 0) this.letters.push([at, pointId, status, detail, overwrite ? 1 : 0, JSON.stringify(rows.map((r) => [r.ts, r.value, r.quality]))]);
    this.ack(pointId);
  }

  unread(pointId: string): number {
    return this.points.get(pointId)?.unread ?? 0;
  }

  /** Arrival time of the oldest sendable row of a point. */
  firstUnreadArrival(pointId: string): number | undefined {
    return this.points.get(pointId)?.firstUnreadArrival;
  }

  /** Arrival time of the oldest unacknowledged stored sample, for the "oldest unsent sample" metric. */
  oldestArrival(): number | undefined {
    for (const c of this.live.values()) return c.arrived;
    return this.caughtUp ? undefined : ((this.st.firstOnDisk.get(this.loadedUpTo) as number | undefined) ?? undefined);
  }

  /** Newest timestamp ever spooled per point (kept after the rows are sent): where a gap starts. */
  lastTimestamps(): Map<string, number> {
    const rows = this.db.prepare("SELECT point_id, last_ts FROM point_progress").all() as { point_id: string; last_ts: number }[];
    const out = new Map(rows.map((r) => [r.point_id, r.last_ts]));
    for (const p of this.points.values()) if (p.newest > Number.NEGATIVE_INFINITY && (out.get(p.id) ?? -Infinity) < p.newest) out.set(p.id, p.newest);
    return out;
  }

  /** Per point, the newest timestamp in the chunks after the last progress write. */
  private unwrittenProgress(): Map<string, number> {
    const out = new Map<string, number>();
    const from = (this.st.meta.get("progress_chunk") as number | undefined) ?? 0;
    for (let after = from; ; ) {
      const stored = this.chunks.after.all(after, 64) as StoredChunk[];
      if (stored.length === 0) break;
      for (const c of stored) {
        const d = decodeChunk(c.body);
        for (let i = 0; i < d.values.length; i++) {
          const id = this.pointByKey(d.keys[i]!).id;
          const ts = d.ts[i]!;
          if ((out.get(id) ?? -Infinity) < ts) out.set(id, ts);
        }
        after = c.id;
      }
    }
    return out;
  }

  /** Another process (`deadletter retry`) changed the file since we last looked: read what it added. */
  changedElsewhere(): boolean {
    const v = this.db.pragma("data_version", { simple: true }) as number;
    const changed = this.dataVersion !== undefined && v !== this.dataVersion;
    this.dataVersion = v;
    if (changed) this.caughtUp = false; // fill() reads what it added, its new points by key as they come
    return changed;
  }
  private dataVersion: number | undefined;

  /** The queue of a point (registered by the next commit when new): a handle for add(). */
  point(pointId: string): PointQueue {
    let p = this.points.get(pointId);
    if (!p) {
      p = new PointQueue(-1, pointId);
      this.points.set(pointId, p);
      this.unregistered.push(p);
    }
    return p;
  }

  private pointByKey(key: number): PointQueue {
    const p = this.byKey[key];
    if (p) return p;
    // Added by another process since start (`deadletter retry` for a point not mapped here).
    return this.addPoint(key, this.st.pointById.get(key) as string);
  }

  private addPoint(key: number, id: string): PointQueue {
    // A point of ours not registered yet keeps its queue (its buffered samples point at it): it only learns its key.
    const p = this.points.get(id) ?? new PointQueue(key, id);
    p.key = key;
    this.points.set(id, p);
    this.byKey[key] = p;
    return p;
  }

  /** Anything appended, acknowledged, refused or staged (checkpoints) that a commit has not written yet. */
  get uncommitted(): boolean {
    if (this.bufTs.length > 0 || this.deletable.length > 0 || this.letters.length > 0 || this.dirty.length > 0 || this.unregistered.length > 0) return true;
    for (const p of this.participants) if (p.pending > 0) return true;
    return false;
  }

  /** The dead letters of this spool, on its connection (the status page's summary). */
  get deadLetters(): DeadLetterStore {
    return (this.letterStore ??= new DeadLetterStore(this.db));
  }
  private letterStore: DeadLetterStore | undefined;

  /** For tests and the spool's own stores (dead letters, checkpoints): SQL stays in this folder. */
  get database(): Database {
    return this.db;
  }

  close(): void {
    try {
      if (this.uncommitted) this.commit(true);
    } finally {
      this.db.close();
    }
  }
}

/** One statement per batch of ids (SQLite allows 32,766 parameters). */
function deleteIds(db: Database, ids: readonly number[]): void {
  for (let i = 0; i < ids.length; i += 10_000) {
    const part = ids.slice(i, i + 10_000);
    db.prepare(`DELETE FROM chunks WHERE id IN (${part.map(() => "?").join(",")})`).run(...part);
  }
}
