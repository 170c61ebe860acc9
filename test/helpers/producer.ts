import type { SimServer, SimType } from "../../src/dev/simserver.js";

export interface Produced {
  timestamp: string;
  value: string;
}

/**
 * Drives SimServer variables and records, independently of the connector's code, what the API
 * must end up with: per point, the ms timestamp and the value string, first value of a ms kept.
 */
export class Producer {
  readonly expected = new Map<string, Map<number, string>>();
  count = 0;

  constructor(private readonly server: SimServer) {}

  add(name: string, type: SimType, pointId: string, initial: unknown, historize = false): void {
    this.server.addVariable(name, type, initial, historize);
    this.expected.set(pointId, new Map());
  }

  /** `text` is what the API must store for this value. */
  set(name: string, type: SimType, pointId: string, value: unknown, text: string, ms: number, picoseconds = 0): void {
    this.server.set(name, type, value, new Date(ms), picoseconds);
    const m = this.expected.get(pointId)!;
    if (!m.has(ms)) m.set(ms, text);
    this.count++;
  }

  values(pointId: string): Produced[] {
    return [...this.expected.get(pointId)!].sort((a, b) => a[0] - b[0]).map(([ms, value]) => ({ timestamp: new Date(ms).toISOString(), value }));
  }

  get distinct(): number {
    let n = 0;
    for (const m of this.expected.values()) n += m.size;
    return n;
  }
}

/**
 * Steady production on several Double variables: every `periodMs` each point gets a new value
 * stamped with the wall clock, recorded in the Producer. Bounded by `stop()` (and by maxTicks).
 */
export class Stream {
  private timer: NodeJS.Timeout | undefined;
  private i = 0;
  lastAt = 0;

  constructor(
    private readonly p: Producer,
    private readonly points: { name: string; pointId: string }[],
    private readonly periodMs: number,
    private readonly maxTicks = 100_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.periodMs);
  }

  tick(): void {
    if (++this.i > this.maxTicks) return this.stop();
    const now = Date.now();
    this.lastAt = now;
    for (const x of this.points) {
      const v = this.i + 0.5;
      this.p.set(x.name, "Double", x.pointId, v, String(v), now);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
