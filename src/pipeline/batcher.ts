import type { Clock, Timer } from "./clock.js";
import type { Sample } from "./types.js";

export interface Batch {
  pointId: string;
  samples: Sample[];
}

export interface BatcherOptions {
  maxValues: number;
  maxDelayMs: number;
  /** With overwrite the API keeps the last value of a millisecond, without it the first. */
  overwrite: boolean;
}

interface Open {
  samples: Sample[];
  /** ms timestamp → index in samples, to keep the API's own conflicts out of our requests. */
  byMs: Map<number, number>;
  generation: number;
}

/**
 * Per-point batches that close at maxValues or maxDelay after they opened. Every point shares
 * maxDelay, so deadlines come in the order batches opened: one FIFO and one timer serve all
 * points, instead of a timer per point.
 */
export class Batcher {
  private readonly open = new Map<string, Open>();
  private readonly deadlines: { pointId: string; generation: number; at: number }[] = [];
  private head = 0;
  private timer: Timer | undefined;
  private generation = 0;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly clock: Clock,
    private readonly emit: (batch: Batch) => void,
    /** A value dropped (or replaced, with overwrite) because its millisecond repeats within the batch. */
    private readonly onDuplicate: (pointId: string) => void = () => {},
  ) {}

  add(sample: Sample): void {
    let batch = this.open.get(sample.pointId);
    if (!batch) {
      batch = { samples: [], byMs: new Map(), generation: ++this.generation };
      this.open.set(sample.pointId, batch);
      this.deadlines.push({ pointId: sample.pointId, generation: batch.generation, at: this.clock.now() + this.opts.maxDelayMs });
      if (!this.timer) this.schedule();
    }
    const seen = batch.byMs.get(sample.ts);
    if (seen !== undefined) {
      if (this.opts.overwrite) batch.samples[seen] = sample;
      this.onDuplicate(sample.pointId);
      return;
    }
    batch.byMs.set(sample.ts, batch.samples.length);
    batch.samples.push(sample);
    if (batch.samples.length >= this.opts.maxValues) this.close(sample.pointId, batch);
  }

  /** Close every open batch now (shutdown). */
  flushAll(): void {
    for (const [pointId, batch] of this.open) this.close(pointId, batch);
    this.timer?.cancel();
    this.timer = undefined;
    this.deadlines.length = 0;
    this.head = 0;
  }

  /** Values held in open batches. */
  get pending(): number {
    let n = 0;
    for (const b of this.open.values()) n += b.samples.length;
    return n;
  }

  private close(pointId: string, batch: Open): void {
    this.open.delete(pointId);
    this.emit({ pointId, samples: batch.samples });
  }

  private schedule(): void {
    const next = this.deadlines[this.head];
    if (!next) {
      this.deadlines.length = 0;
      this.head = 0;
      this.timer = undefined;
      return;
    }
    this.timer = this.clock.setTimeout(() => this.expire(), next.at - this.clock.now());
  }

  private expire(): void {
    const now = this.clock.now();
    for (let d = this.deadlines[this.head]; d && d.at <= now; d = this.deadlines[this.head]) {
      this.head++;
      const batch = this.open.get(d.pointId);
      // A batch already closed by count leaves a stale deadline behind: the generation tells.
      if (batch && batch.generation === d.generation) this.close(d.pointId, batch);
    }
    if (this.head > 1024 && this.head * 2 > this.deadlines.length) {
      this.deadlines.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
  }
}
