// Which server of a redundant set a source reads from (OPC UA non-transparent redundancy): the
// decision alone, pure apart from the injected clock. Levels are ServiceLevel (0..255, 255 = best);
// null = the server cannot be reached; undefined = not known yet.
//
//  - the active server is lost, or its level is below the threshold: switch at once to the best
//    other server with a higher level (ties: the first in mapping order);
//  - the active server is fine: switch only to a server whose level has been higher than the
//    active one's for `holdMs` without interruption (no flapping between two servers).
import type { Clock } from "../core/clock.js";

export type Level = number | null | undefined;

export interface Switch {
  to: number;
  reason: "connection lost" | "service level below threshold" | "higher service level";
}

export class FailoverPolicy {
  private active = 0;
  private readonly levels: Level[];
  /** Since when endpoint i has been higher than the active one; undefined = it is not. */
  private readonly higherSince: (number | undefined)[];

  constructor(
    readonly endpoints: number,
    private readonly threshold: number,
    private readonly holdMs: number,
    private readonly clock: Clock,
  ) {
    this.levels = new Array<Level>(endpoints).fill(undefined);
    this.higherSince = new Array<number | undefined>(endpoints).fill(undefined);
  }

  get activeIndex(): number {
    return this.active;
  }

  level(i: number): Level {
    return this.levels[i];
  }

  /** The active server's level is below the threshold, or it is lost: the other servers should be looked at now. */
  get unhealthy(): boolean {
    const a = this.levels[this.active];
    return a === null || (typeof a === "number" && a < this.threshold);
  }

  /** Whether a server could offer more than the active one: worth probing the others now and then. */
  get canImprove(): boolean {
    const a = this.levels[this.active];
    return this.endpoints > 1 && (typeof a !== "number" || a < 255);
  }

  setActive(i: number): void {
    this.active = i;
    this.recompute();
  }

  observe(i: number, level: Level): void {
    this.levels[i] = level;
    this.recompute();
  }

  lost(): void {
    this.observe(this.active, null);
  }

  decide(): Switch | undefined {
    const a = this.levels[this.active];
    const now = this.clock.now();
    if (this.unhealthy) {
      // Lost: any server that answers with a level above 0 (0 = no data / maintenance) is better.
      const floor = a === null ? 0 : (a as number);
      const to = this.best((i, l) => l > floor);
      if (to === undefined) return undefined;
      return { to, reason: a === null ? "connection lost" : "service level below threshold" };
    }
    if (typeof a !== "number") return undefined;
    const to = this.best((i, l) => l > a && this.higherSince[i] !== undefined && now - this.higherSince[i]! >= this.holdMs);
    return to === undefined ? undefined : { to, reason: "higher service level" };
  }

  /** Highest level among the other servers passing `ok`; the first in order on a tie. */
  private best(ok: (i: number, level: number) => boolean): number | undefined {
    let best: number | undefined;
    for (let i = 0; i < this.endpoints; i++) {
      const l = this.levels[i];
      if (i === this.active || typeof l !== "number" || !ok(i, l)) continue;
      if (best === undefined || l > (this.levels[best] as number)) best = i;
    }
    return best;
  }

  private recompute(): void {
    const a = this.levels[this.active];
    const now = this.clock.now();
    for (let i = 0; i < this.endpoints; i++) {
      const l = this.levels[i];
      const higher = i !== this.active && typeof l === "number" && (typeof a !== "number" || l > a);
      if (!higher) this.higherSince[i] = undefined;
      else this.higherSince[i] ??= now;
    }
  }
}
