import type { Database, Statement } from "better-sqlite3";

/**
 * The spool stores one row per group commit (a chunk), not one per sample: a commit of 5,000
 * samples is one INSERT of one text, not 5,000, and an acknowledged chunk is one DELETE. The
 * body is a flat JSON array `[pointKey, ts, value, quality, pointKey, ts, …]` (V8's JSON is the
 * fastest codec at hand, and a flat array parses into one array, not one per sample).
 */
export const FIELDS = 4;

/** Approximate stored size of a sample: its value plus its share of the JSON and the row. */
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
  body: string;
}

/** Writes samples of any points as one chunk; returns its id. Runs inside the caller's transaction. */
export function writeChunk(st: ChunkStatements, arrived: number, flat: readonly unknown[], bytes: number): number {
  return Number(st.insert.run(arrived, flat.length / FIELDS, bytes, JSON.stringify(flat)).lastInsertRowid);
}
