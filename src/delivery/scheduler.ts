import type { Clock, Timer } from "../core/clock.js";

/**
 * Decides when a point's batch is due: at maxValues unread values, or maxDelay after its oldest
 * unread value arrived. Every point shares maxDelay, so deadlines mostly come in arrival order:
 * one sorted-on-insert FIFO and one timer serve all points instead of a timer per point.
 * A point in flight is not scheduled; the sender reschedules it when its request ends.
 */
export class Scheduler {
  private readonly ready: string[] = [];
  private readyHead = 0;
  private readonly queued = new Set<string>();
  private readonly deadlineOf = new Map<string, number>();
  private readonly deadlines: { pointId: string; at: number }[] = [];
  private deadlineHead = 0;
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private flushing = false;

  constructor(
    private readonly maxValues: number,
    private readonly maxDelayMs: number,
    private readonly clock: Clock,
    /** Called when a point became ready. */
    private readonly onReady: () => void,
  ) {}

  /** A point has `unread` values, the oldest of which arrived at `firstArrived`. */
  update(pointId: string, unread: number, firstArrived: number | undefined): void {
    if (unread <= 0 || this.queued.has(pointId)) return;
    const due = firstArrived === undefined ? this.clock.now() : firstArrived + this.maxDelayMs;
    if (this.flushing || unread >= this.maxValues || due <= this.clock.now()) {
      this.markReady(pointId);
      return;
    }
    const known = this.deadlineOf.get(pointId);
    if (known !== undefined && known <= due) return;
    this.deadlineOf.set(pointId, due);
    this.insertDeadline({ pointId, at: due });
  }

  /** The next ready point, oldest first; undefined when none. */
  next(): string | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const pointId = this.ready[this.readyHead++]!;
    if (this.readyHead > 4096 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
    this.queued.delete(pointId);
    return pointId;
  }

  /** Shutdown: from now on every point with unread values is due at once. */
  flushAll(pending: Iterable<string>): void {
    this.flushing = true;
    for (const pointId of pending) this.markReady(pointId);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private markReady(pointId: string): void {
    this.deadlineOf.delete(pointId);
    if (this.queued.has(pointId)) return;
    this.queued.add(pointId);
    this.ready.push(pointId);
    this.onReady();
  }

  private insertDeadline(d: { pointId: string; at: number }): void {
    // Nearly always appended at the end (same maxDelay for all); walk back for the rare exception.
    let i = this.deadlines.length;
    while (i > this.deadlineHead && this.deadlines[i - 1]!.at > d.at) i--;
    this.deadlines.splice(i, 0, d);
    if (d.at < this.timerAt) this.arm(d.at);
  }

  private arm(at: number): void {
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.expire(), Math.max(0, at - this.clock.now()));
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    for (let d = this.deadlines[this.deadlineHead]; d && d.at <= now; d = this.deadlines[this.deadlineHead]) {
      this.deadlineHead++;
      // Superseded deadlines (the point went out by count, or got an earlier one) are skipped.
      if (this.deadlineOf.get(d.pointId) === d.at) this.markReady(d.pointId);
    }
    if (this.deadlineHead > 4096 && this.deadlineHead * 2 > this.deadlines.length) {
      this.deadlines.splice(0, this.deadlineHead);
      this.deadlineHead = 0;
    }
    const next = this.deadlines[this.deadlineHead];
    if (next) this.arm(next.at);
  }
}
