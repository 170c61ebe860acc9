import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import { chunkStatements, newColumns, sampleBytes, writeChunk } from "./chunks.js";
import { migrate } from "./schema.js";

export interface DeadLetter {
  id: number;
  at: number;
  pointId: string;
  /** The API's HTTP status (0: gave up after ingest.retryMaxElapsed). */
  status: number;
  detail: string;
  overwrite: boolean;
  /** [ms timestamp, value, quality] */
  samples: [number, string, number][];
}

export interface DeadLetterBrief {
  id: number;
  at: number;
  pointId: string;
  status: number;
  /** The API's error detail, cut to 300 characters. */
  detail: string;
  /** Values in the refused batch. */
  values: number;
}

export interface DeadLetterSummary {
  count: number;
  latest: DeadLetterBrief[];
}

interface Row {
  id: number;
  at: number;
  point_id: string;
  status: number;
  detail: string;
  overwrite: number;
  samples: string;
}

const toDeadLetter = (r: Row): DeadLetter => ({
  id: r.id, at: r.at, pointId: r.point_id, status: r.status, detail: r.detail, overwrite: r.overwrite === 1,
  samples: JSON.parse(r.samples) as [number, string, number][],
});

/** The spool's insert of a refused batch: [at, pointId, status, detail, overwrite 0|1, samples JSON]. */
export function deadLetterStatement(db: Database): Statement {
  return db.prepare("INSERT INTO dead_letters (at, point_id, status, detail, overwrite, samples) VALUES (?, ?, ?, ?, ?, ?)");
}

const placeholders = (ids: readonly number[]) => ids.map(() => "?").join(",");

/**
 * Batches the API refused for good, in a spool file: list, put back (`retry`, after the cause was
 * fixed), delete (`purge`), and the cheap summary of the status page. On the running connector's
 * own connection (status page), or on a second one (`opcua-ingest deadletter`): WAL allows it, and
 * the connector notices rows put back.
 */
export class DeadLetterStore {
  private summaryQ: { count: Statement<[], number>; latest: Statement<[number], { id: number; at: number; point_id: string; status: number; detail: string; values: number }> } | undefined;

  constructor(private readonly db: Database, private readonly owned = false) {}

  /** A connection of its own to a spool file (another process may be writing it). */
  static open(file: string): DeadLetterStore {
    const db = new BetterSqlite3(file);
    try {
      db.pragma("busy_timeout = 5000");
      migrate(db, file);
    } catch (err) {
      db.close();
      throw err;
    }
    return new DeadLetterStore(db, true);
  }

  /** Newest last; `ids` empty = all. */
  list(ids: readonly number[] = []): DeadLetter[] {
    const rows = (ids.length
      ? this.db.prepare(`SELECT * FROM dead_letters WHERE id IN (${placeholders(ids)}) ORDER BY id`).all(...ids)
      : this.db.prepare("SELECT * FROM dead_letters ORDER BY id").all()) as Row[];
    return rows.map(toDeadLetter);
  }

  /** Put dead letters back into the spool as new chunks, one transaction; returns the values re-queued. */
  retry(ids: readonly number[] = []): number {
    const letters = this.list(ids);
    const findPoint = this.db.prepare("SELECT key FROM points WHERE point_id = ?").pluck();
    const addPoint = this.db.prepare("INSERT INTO points (point_id) VALUES (?)");
    const remove = this.db.prepare("DELETE FROM dead_letters WHERE id = ?");
    const chunks = chunkStatements(this.db);
    let n = 0;
    this.db.transaction(() => {
      const now = Date.now();
      for (const l of letters) {
        const key = (findPoint.get(l.pointId) as number | undefined) ?? Number(addPoint.run(l.pointId).lastInsertRowid);
        const c = newColumns();
        let bytes = 0;
        for (const [ts, value, quality] of l.samples) {
          c.keys.push(key);
          c.ts.push(ts);
          c.values.push(value);
          c.quality.push(quality as 0 | 1 | 2);
          bytes += sampleBytes(value);
        }
        if (c.values.length) writeChunk(chunks, now, c, bytes);
        remove.run(l.id);
        n += l.samples.length;
      }
    })();
    return n;
  }

  /** Delete dead letters for good; returns how many batches. */
  purge(ids: readonly number[] = []): number {
    if (!ids.length) return this.db.prepare("DELETE FROM dead_letters").run().changes;
    return this.db.prepare(`DELETE FROM dead_letters WHERE id IN (${placeholders(ids)})`).run(...ids).changes;
  }

  /** For the status page, kept cheap: a COUNT and the newest few, without parsing their samples. */
  summary(limit = 5): DeadLetterSummary {
    if (!this.db.open) return { count: 0, latest: [] };
    this.summaryQ ??= {
      count: this.db.prepare<[], number>("SELECT COUNT(*) FROM dead_letters").pluck(),
      latest: this.db.prepare(
        "SELECT id, at, point_id, status, substr(detail, 1, 300) AS detail, json_array_length(samples) AS \"values\" FROM dead_letters ORDER BY id DESC LIMIT ?",
      ),
    };
    const count = this.summaryQ.count.get() ?? 0;
    const latest = count === 0 ? [] : this.summaryQ.latest.all(limit).map((r) => ({ id: r.id, at: r.at, pointId: r.point_id, status: r.status, detail: r.detail, values: r.values }));
    return { count, latest };
  }

  close(): void {
    if (this.owned) this.db.close();
  }
}
