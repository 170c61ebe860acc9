import type { Database, Statement } from "better-sqlite3";

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
 * point, the number of leading windows whose values are durable in the spool. Progress is staged
 * in memory and written in the same transaction as the spool commit that made those values
 * durable (a commit participant of the spool), so a checkpoint never runs ahead of the data it stands for.
 */
export class Checkpoints {
  private readonly staged = new Map<string, number>();
  private readonly st: { find: Statement; insert: Statement; progress: Statement; upsert: Statement; delJob: Statement; delProgress: Statement };

  constructor(
    private readonly db: Database,
    readonly job: string,
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

  /** The stored job, or a new one with these values. */
  open(fromMs: number, toMs: number, windowMs: number, params: unknown, now: number): { job: StoredJob; resumed: boolean } {
    const found = this.find();
    if (found) return { job: found, resumed: true };
    const job: StoredJob = { job: this.job, fromMs, toMs, windowMs, params: JSON.stringify(params), created: now };
    this.st.insert.run(job.job, job.fromMs, job.toMs, job.windowMs, job.params, job.created);
    return { job, resumed: false };
  }

  /** pointId → windows already durable (0.. n-1). */
  progress(): Map<string, number> {
    const rows = this.st.progress.all(this.job) as { pointId: string; doneBelow: number }[];
    return new Map(rows.map((r) => [r.pointId, r.doneBelow]));
  }

  /** Windows 0..doneBelow-1 of this point are complete once the spool's next commit ran. */
  stage(pointId: string, doneBelow: number): void {
    if ((this.staged.get(pointId) ?? -1) < doneBelow) this.staged.set(pointId, doneBelow);
  }

  get pending(): number {
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

  /** The job finished: forget it, so the same command later runs it again from the start. */
  finish(): void {
    this.db.transaction(() => {
      this.st.delProgress.run(this.job);
      this.st.delJob.run(this.job);
    })();
  }
}
