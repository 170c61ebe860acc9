import type { Database } from "better-sqlite3";
import { chunkStatements, newColumns, sampleBytes, writeChunk } from "./chunks.js";
import { ConnectorError } from "../core/errors.js";

type Migration = string | ((db: Database) => void);

/**
 * Schema migrations, in order; PRAGMA user_version records how many ran. A newer connector opens
 * an older state file by running the missing steps; an older connector refuses a newer file.
 */
const MIGRATIONS: Migration[] = [
  `CREATE TABLE points (key INTEGER PRIMARY KEY, point_id TEXT NOT NULL UNIQUE);
   -- AUTOINCREMENT: ids are never reused, so a per-point read cursor stays valid after the table empties.
   CREATE TABLE samples (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     point INTEGER NOT NULL REFERENCES points(key),
     ts INTEGER NOT NULL,
     value TEXT NOT NULL,
     quality INTEGER NOT NULL,
     arrived INTEGER NOT NULL);
   CREATE INDEX samples_point_id ON samples (point, id);
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     point_id TEXT NOT NULL,
     status INTEGER NOT NULL,
     detail TEXT NOT NULL,
     overwrite INTEGER NOT NULL,
     samples TEXT NOT NULL);`,
  // Backfill checkpoints (used in state/backfill.db; empty elsewhere). A job is one set of
  // parameters (range, window, points…); per point, windows 0..done_below-1 are safe: committed to the
  // spool, or (values held in memory only, the backfill's) acknowledged by the API.
  `CREATE TABLE backfill_jobs (
     job TEXT PRIMARY KEY,
     from_ms INTEGER NOT NULL,
     to_ms INTEGER NOT NULL,
     window_ms INTEGER NOT NULL,
     params TEXT NOT NULL,
     created INTEGER NOT NULL);
   CREATE TABLE backfill_progress (
     job TEXT NOT NULL,
     point_id TEXT NOT NULL,
     done_below INTEGER NOT NULL,
     PRIMARY KEY (job, point_id)) WITHOUT ROWID;`,
  // Gap fill: the newest timestamp spooled per point, so a restart knows where the hole starts.
  `CREATE TABLE point_progress (point_id TEXT PRIMARY KEY, last_ts INTEGER NOT NULL) WITHOUT ROWID;`,
  // One row per group commit instead of one per sample (see chunks.ts); rows of an older file move over
  // in id order, so every point keeps its order. meta.progress_chunk: point_progress covers chunks up to it.
  (db) => {
    db.exec(`CREATE TABLE chunks (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       arrived INTEGER NOT NULL,
       count INTEGER NOT NULL,
       bytes INTEGER NOT NULL,
       body TEXT NOT NULL);
     CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`);
    // Paged (better-sqlite3 runs no other statement while an iterator is open), one chunk a page.
    const st = chunkStatements(db);
    const page = db.prepare("SELECT id, point, ts, value, quality, arrived FROM samples WHERE id > ? ORDER BY id LIMIT 5000");
    for (let after = 0; ; ) {
      const rows = page.all(after) as { id: number; point: number; ts: number; value: string; quality: number; arrived: number }[];
      if (rows.length === 0) break;
      const c = newColumns();
      let bytes = 0;
      for (const r of rows) {
        c.keys.push(r.point);
        c.ts.push(r.ts);
        c.values.push(r.value);
        c.quality.push(r.quality as 0 | 1 | 2);
        bytes += sampleBytes(r.value);
      }
      writeChunk(st, rows[0]!.arrived, c, bytes);
      after = rows[rows.length - 1]!.id;
    }
    db.exec("DROP TABLE samples");
  },
  // Chunk bodies may now be binary (chunks.ts; a JSON body is still read): an older connector must
  // refuse the file rather than misread it.
  `SELECT 1;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export class SpoolVersionError extends ConnectorError {
  constructor(message: string) {
    super("SPOOL_TOO_NEW", message);
  }
}

export function migrate(db: Database, file: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new SpoolVersionError(`${file} was written by a newer opcua-ingest (schema ${version}, this one knows ${SCHEMA_VERSION}): upgrade, or move the file away to start empty`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      const step = MIGRATIONS[v]!;
      if (typeof step === "string") db.exec(step);
      else step(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
