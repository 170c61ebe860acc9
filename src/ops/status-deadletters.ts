import type { Database, Statement } from "better-sqlite3";

export interface DeadLetterBrief {
  id: number;
  at: number;
  pointId: string;
  /** The API's HTTP status (0: gave up after ingest.retryMaxElapsed). */
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

interface Queries {
  count: Statement<[], number>;
  latest: Statement<[number], { id: number; at: number; point_id: string; status: number; detail: string; values: number }>;
}

const prepared = new WeakMap<Database, Queries>();

/**
 * The dead letters for the status page, kept cheap: a COUNT and the newest few rows, without
 * parsing their samples (listDeadLetters in src/spool/deadletters.ts reads them all). Read-only
 * statements on the spool's own connection.
 */
export function deadLetterSummary(db: Database, limit = 5): DeadLetterSummary | undefined {
  if (!db.open) return undefined;
  let q = prepared.get(db);
  if (!q) {
    q = {
      count: db.prepare<[], number>("SELECT COUNT(*) FROM dead_letters").pluck(),
      latest: db.prepare(
        "SELECT id, at, point_id, status, substr(detail, 1, 300) AS detail, json_array_length(samples) AS \"values\" FROM dead_letters ORDER BY id DESC LIMIT ?",
      ),
    };
    prepared.set(db, q);
  }
  const count = q.count.get() ?? 0;
  const latest = count === 0 ? [] : q.latest.all(limit).map((r) => ({ id: r.id, at: r.at, pointId: r.point_id, status: r.status, detail: r.detail, values: r.values }));
  return { count, latest };
}
