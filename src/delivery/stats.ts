import type { DropReason } from "../transform/convert.js";

export interface PointCounters {
  received: number;
  /** Notifications carrying the Overflow bit: the server's queue dropped values before them. */
  overflows: number;
  sent: number;
  conflicts: number;
  dropped: number;
  lastValue: string | undefined;
  /**
   * Source timestamp (ms) of the last value, and when it arrived; NaN before the first (see known()).
   * Numbers from the start, so each value overwrites them in place: a field that once held
   * undefined gets a new heap number per value, which lives as long as the point's next value and
   * is promoted to the old space (the GC's work, and the heap's size, at 10,000 points).
   */
  lastTs: number;
  lastReceivedAt: number;
}

/** A timestamp of the counters, or undefined for none yet. */
export const known = (ms: number): number | undefined => (Number.isNaN(ms) ? undefined : ms);

/** Counters of the whole pipeline; the demo summary, logs and (later) metrics read them. */
export class Stats {
  received = 0;
  sent = 0;
  /** Values the API dropped because their millisecond was already stored (202). */
  conflicts = 0;
  /** Values merged away inside one batch because their millisecond repeated. */
  duplicates = 0;
  dropped: Partial<Record<DropReason | "dead_letter" | "spool_full" | "spool_error", number>> = {};
  /** Group commits that failed (the samples stayed buffered). */
  commitErrors = 0;
  /** Times the OPC UA session or subscription was lost (every one; `gaps` keeps the last 100). */
  gapCount = 0;
  timestampFallback = { server: 0, received: 0 };
  requests = 0;
  overflows = 0;
  /** Values re-sent by the heartbeat. */
  heartbeats = 0;
  /** Gap fill: holes read back from history, and the values they brought. */
  gapFills = 0;
  gapFilled = 0;
  reconnects = 0;
  /** Set by the metrics: called once per request with its duration and outcome. */
  onRequest: ((seconds: number, outcome: string) => void) | undefined;
  /** Windows the OPC UA side could not see (lost session or subscription), newest last, at most 100. */
  readonly gaps: { from: number; to: number }[] = [];
  /** False from the first transient failure until the next accepted or refused request. */
  apiUp = true;
  lastApiSuccess: number | undefined;
  /** The last failed request: HTTP status and the API's detail, or the network or token error. */
  lastApiError: { at: number; reason: string } | undefined;
  retries = 0;
  byStatus: Record<string, number> = {};
  readonly points = new Map<string, PointCounters>();

  point(pointId: string): PointCounters {
    let p = this.points.get(pointId);
    if (!p) {
      // Every field from the start: one shape, in-object, for 100,000 points (not a second
      // property store per point when the first value sets the last* fields).
      p = { received: 0, overflows: 0, sent: 0, conflicts: 0, dropped: 0, lastValue: undefined, lastTs: Number.NaN, lastReceivedAt: Number.NaN };
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
