import type { Value } from "../core/types.js";

/**
 * One group commit (or a stored chunk read back) held in memory: its samples as columns, in the
 * order they were appended, and for each sample the link to its point's next sample. A point's
 * queue is a chain through the chunks, not arrays of its own: 100,000 points with a sample or two
 * waiting each cost a few fields per point instead of five growable arrays (73 MB measured at
 * 100,000 points). A chunk is deleted from the file once every sample in it is acknowledged.
 */
export class MemChunk {
  /** Samples not yet acknowledged. */
  pending: number;
  /** Removed by dropOldest: its samples are skipped, and not counted when acknowledged. */
  dropped = false;
  /** Index (in nextChunk[i]) of the same point's next sample; valid while nextChunk[i] is set. */
  readonly next: Int32Array;
  readonly nextChunk: (MemChunk | undefined)[];

  constructor(
    /** The chunks table's id; negative for a chunk held in memory only, never written (a spool of `values: "memory"`). */
    readonly id: number,
    readonly arrived: number,
    count: number,
    readonly bytes: number,
    readonly ts: readonly number[],
    /** Cleared as samples are acknowledged: a chunk kept by one slow point holds no sent values. */
    readonly values: (string | undefined)[],
    readonly quality: readonly (0 | 1 | 2)[],
    /** Arrival of each sample (a commit's own samples); a chunk read back has only its `arrived`. */
    readonly at: readonly number[] | undefined,
  ) {
    this.pending = count;
    this.next = new Int32Array(count);
    this.nextChunk = new Array<MemChunk | undefined>(count);
  }
}

/**
 * A point's sendable samples, oldest first: `count` of them from `head`, the first `inflight` with
 * the sender, the rest from the `cursor`. Each position is a (chunk, index) pair; a chunk of
 * undefined is "none".
 */
export class PointQueue {
  private headChunk: MemChunk | undefined;
  private headIdx = 0;
  private tailChunk: MemChunk | undefined;
  private tailIdx = 0;
  /** The first sample not with the sender; undefined when every sample is. */
  private cursorChunk: MemChunk | undefined;
  private cursorIdx = 0;
  /** Samples in the queue, with the sender's. */
  count = 0;
  inflight = 0;
  /** Newest timestamp appended, for point_progress (-Infinity: none since start; a double from the start, updated in place). */
  newest = Number.NEGATIVE_INFINITY;
  /** In the spool's list of points whose progress the next maintenance commit writes. */
  progressDirty = false;
  /** The commit that last reported this point as added: one Map entry per point, not a lookup per sample. */
  mark = 0;
  /** Samples added to this point since the spool opened (Spool.add). */
  appended = 0;
  /**
   * Of the samples held in memory only (a spool of `values: "memory"`), how many the sender settled.
   * They are settled in the order they were added, so `settled >= appended` at some moment means
   * every sample added before that moment was: what a backfill checkpoint waits for.
   */
  settled = 0;

  constructor(
    public key: number,
    readonly id: string,
  ) {}

  get unread(): number {
    return this.count - this.inflight;
  }

  /** Arrival of the first sample not with the sender. */
  get firstUnreadArrival(): number | undefined {
    const c = this.cursorChunk;
    return c === undefined ? undefined : (c.at?.[this.cursorIdx] ?? c.arrived);
  }

  push(c: MemChunk, i: number): void {
    c.nextChunk[i] = undefined;
    if (this.count === 0 || this.tailChunk === undefined) {
      this.headChunk = c;
      this.headIdx = i;
    } else {
      this.tailChunk.nextChunk[this.tailIdx] = c;
      this.tailChunk.next[this.tailIdx] = i;
    }
    this.tailChunk = c;
    this.tailIdx = i;
    if (this.cursorChunk === undefined) {
      this.cursorChunk = c;
      this.cursorIdx = i;
    }
    this.count++;
  }

  /** Up to `limit` samples from the cursor for the sender (none while a batch is in flight). */
  take(limit: number): Value[] {
    if (this.inflight > 0 || this.cursorChunk === undefined) return [];
    const n = Math.min(limit, this.count);
    const out: Value[] = new Array(n);
    let c: MemChunk | undefined = this.cursorChunk;
    let i = this.cursorIdx;
    for (let k = 0; k < n; k++) {
      out[k] = { ts: c!.ts[i]!, value: c!.values[i]!, quality: c!.quality[i]! };
      const nc: MemChunk | undefined = c!.nextChunk[i];
      i = c!.next[i]!;
      c = nc;
    }
    this.cursorChunk = c;
    this.cursorIdx = i;
    this.inflight = n;
    return out;
  }

  /** The batch in flight goes back: it is taken again, first. */
  release(): void {
    this.inflight = 0;
    this.cursorChunk = this.count > 0 ? this.headChunk : undefined;
    this.cursorIdx = this.headIdx;
  }

  /**
   * The batch in flight was settled: its samples leave the queue and their chunks' pending counts.
   * `emptied` gets each chunk whose last pending sample this was. Returns the samples settled (those
   * of dropped chunks excluded: dropOldest counted them already).
   */
  ack(emptied: (c: MemChunk) => void): number {
    let settled = 0;
    let c = this.headChunk;
    let i = this.headIdx;
    for (let k = 0; k < this.inflight; k++) {
      const chunk = c!;
      if (!chunk.dropped) {
        settled++;
        if (chunk.id < 0) this.settled++;
        if (--chunk.pending === 0) emptied(chunk);
      }
      c = chunk.nextChunk[i];
      const ni = chunk.next[i]!;
      chunk.values[i] = undefined;
      chunk.nextChunk[i] = undefined;
      i = ni;
    }
    this.count -= this.inflight;
    this.inflight = 0;
    this.headChunk = c;
    this.headIdx = i;
    if (this.count === 0) this.headChunk = this.tailChunk = this.cursorChunk = undefined;
    return settled;
  }

  /**
   * Unlink the samples of dropped chunks that follow the sender's batch (they are the oldest of the
   * rest, chunks being dropped oldest first). Returns how many left the queue.
   */
  forgetDropped(): number {
    let c = this.cursorChunk;
    let i = this.cursorIdx;
    let n = 0;
    while (c !== undefined && c.dropped) {
      const nc: MemChunk | undefined = c.nextChunk[i];
      const ni = c.next[i]!;
      c.values[i] = undefined;
      c.nextChunk[i] = undefined;
      c = nc;
      i = ni;
      n++;
    }
    if (n === 0) return 0;
    this.count -= n;
    this.cursorChunk = c;
    this.cursorIdx = i;
    if (this.inflight === 0) {
      this.headChunk = c;
      this.headIdx = i;
    } else {
      // Link the last sample in flight to what follows the dropped ones.
      let lc = this.headChunk!;
      let li = this.headIdx;
      for (let k = 1; k < this.inflight; k++) {
        const nc = lc.nextChunk[li]!;
        li = lc.next[li]!;
        lc = nc;
      }
      lc.nextChunk[li] = c;
      lc.next[li] = i;
      if (c === undefined) {
        this.tailChunk = lc;
        this.tailIdx = li;
      }
    }
    if (this.count === 0) this.headChunk = this.tailChunk = this.cursorChunk = undefined;
    return n;
  }
}
