import type { Database, Statement } from "better-sqlite3";

/**
 * The spool stores one row per group commit (a chunk), not one per sample: a commit of 5,000
 * samples is one INSERT, not 5,000, and an acknowledged chunk is one DELETE.
 *
 * Stored as a BLOB of columns: a version byte, the count (u32), the timestamps (f64), the point
 * keys (f64: any rowid), the qualities (u8), then the values as a JSON array of strings. Numbers are
 * written as bytes instead of being formatted and parsed as decimal text: encoding is about 4× and
 * decoding 3× cheaper than the JSON text of a flat array `[pointKey, ts, value, quality, …]`, which
 * spools of schema 4 hold (still read).
 */
const FIELDS = 4;

/** First byte of a binary chunk (a JSON chunk starts with "["). */
const BINARY_V1 = 1;

/** Approximate stored size of a sample: its value plus its share of the encoding and the row. */
export const SAMPLE_OVERHEAD = 48;
export const sampleBytes = (value: string): number => value.length + SAMPLE_OVERHEAD;

export interface ChunkStatements {
  insert: Statement;
  after: Statement;
}

export function chunkStatements(db: Database): ChunkStatements {
  return {
    insert: db.prepare("INSERT INTO chunks (arrived, count, bytes, body) VALUES (?, ?, ?, ?)"),
    after: db.prepare("SELECT id, arrived, count, bytes, body FROM chunks WHERE id > ? ORDER BY id LIMIT ?"),
  };
}

export interface StoredChunk {
  id: number;
  arrived: number;
  count: number;
  bytes: number;
  body: Buffer | string;
}

/** A chunk's samples as columns (one entry per sample in each). */
export interface ChunkColumns {
  keys: number[];
  ts: number[];
  values: string[];
  quality: (0 | 1 | 2)[];
}

/** Writes samples of any points as one chunk; returns its id. Runs inside the caller's transaction. */
export function writeChunk(st: ChunkStatements, arrived: number, c: ChunkColumns, bytes: number): number {
  return Number(st.insert.run(arrived, c.values.length, bytes, encodeChunk(c)).lastInsertRowid);
}

/** Empty columns, for a writer to push samples into. */
export function newColumns(): ChunkColumns {
  return { keys: [], ts: [], values: [], quality: [] };
}

function encodeChunk(c: ChunkColumns): Buffer {
  const n = c.values.length;
  const text = JSON.stringify(c.values);
  const o = 5 + n * 17;
  const buf = Buffer.allocUnsafe(o + Buffer.byteLength(text, "utf8"));
  buf[0] = BINARY_V1;
  buf.writeUInt32LE(n, 1);
  for (let i = 0, at = 5; i < n; i++, at += 8) buf.writeDoubleLE(c.ts[i]!, at);
  for (let i = 0, at = 5 + n * 8; i < n; i++, at += 8) buf.writeDoubleLE(c.keys[i]!, at);
  for (let i = 0, at = 5 + n * 16; i < n; i++) buf[at++] = c.quality[i]!;
  buf.write(text, o, "utf8");
  return buf;
}

export function decodeChunk(body: Buffer | string): ChunkColumns {
  if (typeof body === "string") return fromFlat(JSON.parse(body) as (number | string)[]);
  if (body[0] !== BINARY_V1) throw new Error(`spool chunk of an unknown format (first byte ${body[0]})`);
  const n = body.readUInt32LE(1);
  const out: ChunkColumns = { keys: new Array(n), ts: new Array(n), values: [], quality: new Array(n) };
  for (let i = 0, at = 5; i < n; i++, at += 8) out.ts[i] = body.readDoubleLE(at);
  for (let i = 0, at = 5 + n * 8; i < n; i++, at += 8) out.keys[i] = body.readDoubleLE(at);
  for (let i = 0, at = 5 + n * 16; i < n; i++) out.quality[i] = body[at++] as 0 | 1 | 2;
  out.values = JSON.parse(body.toString("utf8", 5 + n * 17)) as string[];
  if (out.values.length !== n) throw new Error(`spool chunk holds ${out.values.length} values for ${n} samples`);
  return out;
}

function fromFlat(flat: readonly (number | string)[]): ChunkColumns {
  const n = flat.length / FIELDS;
  const out: ChunkColumns = { keys: new Array(n), ts: new Array(n), values: new Array(n), quality: new Array(n) };
  for (let i = 0, j = 0; i < n; i++, j += FIELDS) {
    out.keys[i] = flat[j] as number;
    out.ts[i] = flat[j + 1] as number;
    out.values[i] = flat[j + 2] as string;
    out.quality[i] = flat[j + 3] as 0 | 1 | 2;
  }
  return out;
}
