import type { Database, Statement } from "better-sqlite3";
import type { PointQueue } from "./queue.js";

/** A backfill job as stored: its resolved range (relative times keep the values of the first run). */
export interface StoredJob {
  job: string;
  fromMs: number;
  toMs: number;
  windowMs: number;
  /** JSON of the parameters, for messages. */
  params: string;
  created: number;
}

/**
 * Backfill progress in the backfill spool's database (tables of schema migration 2): per job and
 * point, the number of leading windows whose values are safe, so a later run need not read them
 * again. Progress is staged in memory and written in a spool commit's transaction (a commit
 * participant of the spool), so a checkpoint never runs ahead of the values it stands for:
 * - values written to the spool (`values: "stored"`): safe once committed, so the checkpoint goes
 *   with the commit that wrote them;
 * - values held in memory only (`values: "memory"`, what the backfill does: history can be read
 *   again): safe once the API settled them (accepted, a conflict, or a dead letter written in the
 *   same commit), so the checkpoint waits for that. A crash loses the values not yet settled and
 *   their windows' checkpoints with them: the next run reads those windows again.
 */
export class Checkpoints {
  /** Ready to write: pointId → windows done. */
  private readonly staged = new Map<string, number>();
  /** Memory-only values: per point, progress waiting for the values added before it to be settled (oldest first). */
  private readonly waiting = new Map<PointQueue, { appended: number; doneBelow: number }[]>();
  /** finish() ran: nothing of this job is written any more. */
  private finished = false;
  private readonly st: { find: Statement; insert: Statement; progress: Statement; upsert: Statement; delJob: Statement; delProgress: Statement };

  constructor(
    private readonly db: Database,
    readonly job: string,
    /** The spool holds values in memory only: a point's queue, whose counters say what the API settled. */
    private readonly queueOf?: (pointId: string) => PointQueue,
  ) {
    this.st = {
      find: db.prepare("SELECT job, from_ms AS fromMs, to_ms AS toMs, window_ms AS windowMs, params, created FROM backfill_jobs WHERE job = ?"),
      insert: db.prepare("INSERT INTO backfill_jobs (job, from_ms, to_ms, window_ms, params, created) VALUES (?, ?, ?, ?, ?, ?)"),
      progress: db.prepare("SELECT point_id AS pointId, done_below AS doneBelow FROM backfill_progress WHERE job = ?"),
      upsert: db.prepare(
        "INSERT INTO backfill_progress (job, point_id, done_below) VALUES (?, ?, ?) ON CONFLICT (job, point_id) DO UPDATE SET done_below = MAX(done_below, excluded.done_below)",
      ),
      delJob: db.prepare("DELETE FROM backfill_jobs WHERE job = ?"),
      delProgress: db.prepare("DELETE FROM backfill_progress WHERE job = ?"),
    };
  }

  /** The stored job, if an earlier run of the same job did not finish. */
  find(): StoredJob | undefined {
    return this.st.find.get(this.job) as StoredJob | undefined;
  }

  /** The stored job, or a new one with these values (and no progress: none of an earlier job of this key may make it skip windows). */
  open(fromMs: number, toMs: number, windowMs: number, params: unknown, now: number): { job: StoredJob; resumed: boolean } {
    const found = this.find();
    if (found) return { job: found, resumed: true };
    const job: StoredJob = { job: this.job, fromMs, toMs, windowMs, params: JSON.stringify(params), created: now };
    this.db.transaction(() => {
      this.st.delProgress.run(this.job);
      this.st.insert.run(job.job, job.fromMs, job.toMs, job.windowMs, job.params, job.created);
    })();
    return { job, resumed: false };
  }

  /** pointId → windows already safe (0.. n-1). */
  progress(): Map<string, number> {
    const rows = this.st.progress.all(this.job) as { pointId: string; doneBelow: number }[];
    return new Map(rows.map((r) => [r.pointId, r.doneBelow]));
  }

  /**
   * Windows 0..doneBelow-1 of this point were read, and every value of them was added to the spool:
   * written at the spool's next commit, or, for memory-only values, at the first commit after the
   * API settled all of them.
   */
  stage(pointId: string, doneBelow: number): void {
    if (this.finished) return;
    if (!this.queueOf) return this.ready(pointId, doneBelow);
    const q = this.queueOf(pointId);
    const entry = { appended: q.appended, doneBelow };
    const list = this.waiting.get(q);
    if (list) list.push(entry);
    else this.waiting.set(q, [entry]);
  }

  private ready(pointId: string, doneBelow: number): void {
    if ((this.staged.get(pointId) ?? -1) < doneBelow) this.staged.set(pointId, doneBelow);
  }

  /** Progress ready to write; first moves what waited for values the API has settled since. */
  get pending(): number {
    for (const [q, list] of this.waiting) {
      let k = 0;
      while (k < list.length && q.settled >= list[k]!.appended) k++;
      if (k === 0) continue;
      this.ready(q.id, list[k - 1]!.doneBelow);
      if (k === list.length) this.waiting.delete(q);
      else list.splice(0, k);
    }
    return this.staged.size;
  }

  private writing: [string, number][] = [];

  /** In the spool's commit transaction: the staged progress goes with the samples it stands for. */
  write(): void {
    this.writing = [...this.staged];
    for (const [pointId, doneBelow] of this.writing) this.st.upsert.run(this.job, pointId, doneBelow);
  }

  /** The commit is durable: what it wrote is no longer staged (a failed commit keeps it for the next). */
  committed(): void {
    for (const [pointId, doneBelow] of this.writing) if (this.staged.get(pointId) === doneBelow) this.staged.delete(pointId);
    this.writing = [];
  }

  /**
   * The job finished: forget it, so the same command later runs it again from the start. Nothing
   * staged is written after this (a later commit would bring back progress of a forgotten job).
   */
  finish(): void {
    this.finished = true;
    this.staged.clear();
    this.waiting.clear();
    this.db.transaction(() => {
      this.st.delProgress.run(this.job);
      this.st.delJob.run(this.job);
    })();
  }
}
