import type { Clock, Timer } from "../core/clock.js";

/** What the heartbeat needs of a point. */
export interface BeatingPoint {
  readonly config: { readonly heartbeatMs: number };
  /** Timestamp of the last value sent on; NaN when there is none to repeat (none yet, or the device reported Bad since). */
  lastTs: number;
  /** When it was appended: the heartbeat counts from here, not from the device's clock. */
  lastAt: number;
}

/**
 * Heartbeat: a point with heartbeatMs that has not changed for that long gets its last value
 * again, stamped with the current time (as OPC Publisher's HeartbeatInterval). One coarse timer
 * for all points; off when no point asks for it; silent for a point whose source is not connected.
 */
export class Heartbeat<P extends BeatingPoint> {
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly points: () => readonly P[],
    private readonly connected: (p: P) => boolean,
    /** Send the point's last value again, stamped `ts`. */
    private readonly beat: (p: P, ts: number) => void,
  ) {}

  /** (Re)arm for the current points' periods. */
  schedule(): void {
    this.stop();
    const periods = this.points().map((p) => p.config.heartbeatMs).filter((ms) => ms > 0);
    if (periods.length === 0) return;
    const tick = Math.max(100, Math.min(1_000, periods.reduce((a, b) => Math.min(a, b)) / 4));
    const run = () => {
      const now = this.clock.now();
      for (const p of this.points()) {
        const every = p.config.heartbeatMs;
        if (every <= 0 || Number.isNaN(p.lastTs) || now - p.lastAt < every || !this.connected(p)) continue;
        p.lastTs = now;
        p.lastAt = now;
        this.beat(p, now);
      }
      this.timer = this.clock.setTimeout(run, tick);
    };
    this.timer = this.clock.setTimeout(run, tick);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
