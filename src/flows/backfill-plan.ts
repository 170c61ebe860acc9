// Pure parts of the backfill: the time windows, the job's identity, which points to read next,
// and the per-point millisecond merge. No I/O, no clock.
import { createHash } from "node:crypto";

/** Windows of [fromMs, toMs): [from + k·w, min(from + (k+1)·w, to)), k = 0 … count-1. */
export function windowCount(fromMs: number, toMs: number, windowMs: number): number {
  if (!(toMs > fromMs) || !(windowMs > 0)) return 0;
  return Math.ceil((toMs - fromMs) / windowMs);
}

export function windowBounds(fromMs: number, toMs: number, windowMs: number, k: number): { from: number; to: number } {
  const from = fromMs + k * windowMs;
  return { from, to: Math.min(from + windowMs, toMs) };
}

export interface JobIdentity {
  /** Absolute times as epoch ms; relative ones (now, -7d) as written, so the same command finds its job again. */
  from: number | string;
  to: number | string;
  windowMs: number;
  overwrite: boolean;
  /** [pointId, nodeId] of every selected point. */
  points: readonly (readonly [string, string])[];
}

/**
 * The checkpoint key: a different range, window, overwrite or point selection (or a point moved
 * to another node) is a different job; the order of --point flags or of the mapping is not.
 */
export function jobKey(id: JobIdentity): string {
  const points = [...id.points].map(([p, n]) => [p, n]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  const canonical = JSON.stringify({ v: 1, from: id.from, to: id.to, windowMs: id.windowMs, overwrite: id.overwrite, points });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}

/** A HistoryRead to make: one window for several points. */
export interface Unit {
  window: number;
  pointIds: string[];
}

interface PlanPoint {
  id: string;
  next: number;
  state: "ready" | "reading" | "waiting" | "finished" | "failed";
}

/**
 * Decides which points to read next. Each point goes through its windows in order with at most
 * one read in flight, so its values reach the spool in time order and its progress is a single
 * number (windows done). Points at the same window are read together, in one request; the
 * earliest window goes first, which keeps the points roughly in step. Cost per take: the number
 * of distinct windows among ready points (a handful), not the number of points.
 */
export class WindowPlanner {
  private readonly points = new Map<string, PlanPoint>();
  /** Ready points by window, each in the order they became ready (mapping order at the start). */
  private readonly ready = new Map<number, Set<PlanPoint>>();
  /** Points neither finished nor failed. */
  private open = 0;
  private doneSum = 0;

  constructor(
    readonly windows: number,
    /** Point ids in mapping order, with the windows already done (from the checkpoints). */
    start: readonly { id: string; doneBelow: number }[],
  ) {
    for (const s of start) {
      const next = Math.max(0, Math.min(windows, s.doneBelow));
      const p: PlanPoint = { id: s.id, next, state: "finished" };
      this.points.set(s.id, p);
      this.doneSum += next;
      if (next < windows) {
        this.open++;
        this.makeReady(p);
      }
    }
  }

  private makeReady(p: PlanPoint): void {
    p.state = "ready";
    let bucket = this.ready.get(p.next);
    if (!bucket) this.ready.set(p.next, (bucket = new Set()));
    bucket.add(p);
  }

  /** The next unit of at most `maxPoints` points, or undefined when no point is ready. */
  take(maxPoints: number): Unit | undefined {
    if (maxPoints < 1 || this.ready.size === 0) return undefined;
    let window = Number.POSITIVE_INFINITY;
    for (const w of this.ready.keys()) if (w < window) window = w;
    const bucket = this.ready.get(window)!;
    const pointIds: string[] = [];
    for (const p of bucket) {
      if (pointIds.length >= maxPoints) break;
      bucket.delete(p);
      p.state = "reading";
      pointIds.push(p.id);
    }
    if (bucket.size === 0) this.ready.delete(window);
    return { window, pointIds };
  }

  /** The point's window was read whole (its checkpoint is staged): on to the next one. */
  done(id: string): void {
    const p = this.get(id, "reading");
    p.next++;
    this.doneSum++;
    if (p.next >= this.windows) this.close(p, "finished");
    else this.makeReady(p);
  }

  /** The window will be read again (after a transient failure), once `resume` is called. */
  hold(id: string): void {
    this.get(id, "reading").state = "waiting";
  }

  resume(id: string): void {
    const p = this.get(id);
    if (p.state === "waiting") this.makeReady(p);
  }

  /** Back to ready without progress (the read was stopped). */
  release(id: string): void {
    const p = this.get(id);
    if (p.state === "reading") this.makeReady(p);
  }

  fail(id: string): void {
    const p = this.get(id);
    if (p.state === "finished" || p.state === "failed") return;
    if (p.state === "ready") {
      const bucket = this.ready.get(p.next)!;
      bucket.delete(p);
      if (bucket.size === 0) this.ready.delete(p.next);
    }
    this.close(p, "failed");
  }

  private close(p: PlanPoint, state: "finished" | "failed"): void {
    p.state = state;
    this.open--;
  }

  /** Windows done by a point (its checkpoint). */
  doneBelow(id: string): number {
    return this.get(id).next;
  }

  /** No point is ready, reading or waiting. */
  get complete(): boolean {
    return this.open === 0;
  }

  /** Point-windows done and in total (failed points count their whole range as not done). */
  get progress(): { done: number; total: number } {
    return { done: this.doneSum, total: this.points.size * this.windows };
  }

  private get(id: string, expected?: PlanPoint["state"]): PlanPoint {
    const p = this.points.get(id);
    if (!p) throw new Error(`unknown point ${id}`);
    if (expected && p.state !== expected) throw new Error(`point ${id} is ${p.state}, not ${expected}`);
    return p;
  }
}

/**
 * The API keeps one value per millisecond. A point's history arrives in time order, so repeats of a
 * millisecond are neighbours: keep the first (the last with overwrite, as the API would), drop the
 * rest before they take spool space and come back as conflicts. One sample is held back until
 * the next millisecond starts (or `flush` at the end of a window).
 */
export class SameMsMerger {
  /** The held sample as fields (NaN: none): a point's history is read at 100,000s of values a second, an object each would be GC work. */
  private ts = Number.NaN;
  private value = "";
  private quality: 0 | 1 | 2 = 0;
  merged = 0;

  constructor(
    private readonly overwrite: boolean,
    /** Gets each sample once it is final. */
    private readonly emit: (ts: number, value: string, quality: 0 | 1 | 2) => void,
  ) {}

  push(ts: number, value: string, quality: 0 | 1 | 2): void {
    if (ts === this.ts) {
      this.merged++;
      if (this.overwrite) {
        this.value = value;
        this.quality = quality;
      }
      return;
    }
    const heldTs = this.ts;
    const heldValue = this.value;
    const heldQuality = this.quality;
    this.ts = ts;
    this.value = value;
    this.quality = quality;
    if (!Number.isNaN(heldTs)) this.emit(heldTs, heldValue, heldQuality);
  }

  /** The held sample is final (the end of a window). */
  flush(): void {
    const ts = this.ts;
    if (Number.isNaN(ts)) return;
    this.ts = Number.NaN;
    this.emit(ts, this.value, this.quality);
  }
}
