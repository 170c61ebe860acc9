// When to try again a point whose node does not exist (yet): first after 10 s, doubling up to the
// source's retryUnknownNodes. Pure apart from the injected clock, so the schedule is tested without waiting.
import type { Clock, Timer } from "../core/clock.js";

export const FIRST_RETRY_MS = 10_000;

export class RetrySchedule {
  private readonly entries = new Map<string, { attempt: number; at: number }>();
  private timer: Timer | undefined;
  private timerAt = Infinity;

  /** `onDue` gets the ids whose time has come; each stays scheduled until `schedule` or `remove` is called for it again. */
  constructor(
    private readonly clock: Clock,
    private readonly maxMs: number,
    private readonly onDue: (ids: string[]) => void,
    private readonly firstMs = FIRST_RETRY_MS,
  ) {}

  /** (Re)schedules `id`: the first time after firstMs, then twice as long each time, at most maxMs. */
  schedule(id: string): number {
    const previous = this.entries.get(id);
    const attempt = previous === undefined ? 0 : previous.attempt + 1;
    const delay = Math.min(this.maxMs, this.firstMs * 2 ** Math.min(attempt, 30));
    const at = this.clock.now() + delay;
    this.entries.set(id, { attempt, at });
    this.arm();
    return at;
  }

  remove(id: string): void {
    this.entries.delete(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Epoch ms of the next try of `id`, or undefined when it is not waiting. */
  nextAt(id: string): number | undefined {
    return this.entries.get(id)?.at;
  }

  get size(): number {
    return this.entries.size;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Every waiting id, now (after a reconnection); their backoff is kept. */
  dueNow(): string[] {
    return this.ids();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
    this.entries.clear();
  }

  private arm(): void {
    let earliest = Infinity;
    for (const e of this.entries.values()) earliest = Math.min(earliest, e.at);
    if (earliest === Infinity || earliest >= this.timerAt) return;
    this.timer?.cancel();
    this.timerAt = earliest;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, earliest - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    const due: string[] = [];
    for (const [id, e] of this.entries) if (e.at <= now) due.push(id);
    // Due entries wait for their next schedule() (the try failed) or remove() (it worked): not re-fired meanwhile.
    for (const id of due) this.entries.set(id, { ...this.entries.get(id)!, at: Infinity });
    if (due.length) this.onDue(due);
    this.arm();
  }
}
