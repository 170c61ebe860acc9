import type { DropReason } from "./convert.js";

export interface PointCounters {
  received: number;
  sent: number;
  conflicts: number;
  dropped: number;
  lastValue?: string;
  lastTs?: number;
}

/** Counters of the whole pipeline; the demo summary, logs and (later) metrics read them. */
export class Stats {
  received = 0;
  sent = 0;
  /** Values the API dropped because their millisecond was already stored (202). */
  conflicts = 0;
  /** Values merged away inside one batch because their millisecond repeated. */
  duplicates = 0;
  dropped: Partial<Record<DropReason | "dead_letter" | "shutdown", number>> = {};
  timestampFallback = { server: 0, received: 0 };
  requests = 0;
  retries = 0;
  byStatus: Record<string, number> = {};
  readonly points = new Map<string, PointCounters>();

  point(pointId: string): PointCounters {
    let p = this.points.get(pointId);
    if (!p) {
      p = { received: 0, sent: 0, conflicts: 0, dropped: 0 };
      this.points.set(pointId, p);
    }
    return p;
  }

  drop(pointId: string, reason: keyof Stats["dropped"], n = 1): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + n;
    this.point(pointId).dropped += n;
  }

  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + (b ?? 0), 0);
  }
}
