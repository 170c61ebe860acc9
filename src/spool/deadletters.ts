import type { Database } from "better-sqlite3";

export interface DeadLetter {
  id: number;
  at: number;
  pointId: string;
  status: number;
  detail: string;
  overwrite: boolean;
  /** [ms timestamp, value, quality] */
  samples: [number, string, number][];
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

/** Batches the API refused for good, newest last; `ids` empty = all. */
export function listDeadLetters(db: Database, ids: readonly number[] = []): DeadLetter[] {
  const rows = (ids.length
    ? db.prepare(`SELECT * FROM dead_letters WHERE id IN (${ids.map(() => "?").join(",")}) ORDER BY id`).all(...ids)
    : db.prepare("SELECT * FROM dead_letters ORDER BY id").all()) as Row[];
  return rows.map(toDeadLetter);
}

/**
 * Put dead letters back into the spool (after the cause was fixed, e.g. the point created in the
 * API); a running connector notices the change and sends them. Returns the values re-queued.
 */
export function retryDeadLetters(db: Database, ids: readonly number[] = []): number {
  const letters = listDeadLetters(db, ids);
  const findPoint = db.prepare("SELECT key FROM points WHERE point_id = ?").pluck();
  const addPoint = db.prepare("INSERT INTO points (point_id) VALUES (?)");
  const insert = db.prepare("INSERT INTO samples (point, ts, value, quality, arrived) VALUES (?, ?, ?, ?, ?)");
  const remove = db.prepare("DELETE FROM dead_letters WHERE id = ?");
  let n = 0;
  db.transaction(() => {
    const now = Date.now();
    for (const l of letters) {
      const key = (findPoint.get(l.pointId) as number | undefined) ?? Number(addPoint.run(l.pointId).lastInsertRowid);
      for (const [ts, value, quality] of l.samples) insert.run(key, ts, value, quality, now);
      remove.run(l.id);
      n += l.samples.length;
    }
  })();
  return n;
}

/** Delete dead letters for good; returns how many batches. */
export function purgeDeadLetters(db: Database, ids: readonly number[] = []): number {
  if (!ids.length) return db.prepare("DELETE FROM dead_letters").run().changes;
  return db.prepare(`DELETE FROM dead_letters WHERE id IN (${ids.map(() => "?").join(",")})`).run(...ids).changes;
}
