/** One point of the rate chart: when, and values per second read and sent since the sample before. */
export interface RateSample {
  t: number;
  read: number;
  sent: number;
}

/**
 * Values/s read from OPC UA and sent to the API over the last `windowMs`, one sample every
 * `intervalMs`, in a fixed ring buffer (15 min every 2 s = 450 samples, a few KB): the page asks
 * for the samples newer than the last one it has.
 */
export class RateHistory {
  readonly capacity: number;
  private readonly t: Float64Array;
  private readonly read: Float64Array;
  private readonly sent: Float64Array;
  /** Samples stored (up to capacity); the newest is at (next - 1). */
  private count = 0;
  private next = 0;
  private last: { t: number; received: number; sent: number } | undefined;

  constructor(
    readonly windowMs = 15 * 60_000,
    readonly intervalMs = 2_000,
  ) {
    this.capacity = Math.ceil(windowMs / intervalMs);
    this.t = new Float64Array(this.capacity);
    this.read = new Float64Array(this.capacity);
    this.sent = new Float64Array(this.capacity);
  }

  /** Records the counters' growth since the last call as a rate (the first call only sets the base). */
  sample(now: number, received: number, sent: number): void {
    const last = this.last;
    this.last = { t: now, received, sent };
    if (!last || now <= last.t) return;
    const seconds = (now - last.t) / 1000;
    const at = this.next;
    this.t[at] = now;
    this.read[at] = Math.max(0, received - last.received) / seconds;
    this.sent[at] = Math.max(0, sent - last.sent) / seconds;
    this.next = (at + 1) % this.capacity;
    this.count = Math.min(this.capacity, this.count + 1);
  }

  /** The newest sample, or zeros before the second call of sample(). */
  latest(): RateSample {
    if (this.count === 0) return { t: this.last?.t ?? 0, read: 0, sent: 0 };
    const i = (this.next - 1 + this.capacity) % this.capacity;
    return { t: this.t[i]!, read: this.read[i]!, sent: this.sent[i]! };
  }

  /** Samples newer than `since` (ms) and within the window, oldest first; rates rounded to 0.01/s. */
  since(since = 0, now = Date.now()): RateSample[] {
    const out: RateSample[] = [];
    const oldest = Math.max(since, now - this.windowMs);
    for (let k = 0; k < this.count; k++) {
      const i = (this.next - this.count + k + this.capacity) % this.capacity;
      const t = this.t[i]!;
      if (t <= oldest) continue;
      out.push({ t, read: Math.round(this.read[i]! * 100) / 100, sent: Math.round(this.sent[i]! * 100) / 100 });
    }
    return out;
  }
}
