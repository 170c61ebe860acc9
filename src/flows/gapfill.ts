import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import type { Clock } from "../core/clock.js";
import type { RawDataValue, Sample } from "../core/types.js";
import type { Stats } from "../delivery/stats.js";
import type { HistoryOutcome } from "../opcua/history.js";
import { convert, historySettings } from "../transform/convert.js";

/** What a gap fill needs of a point: its settings, and what it learns about the node's history. */
export interface FillablePoint {
  readonly config: PointConfig;
  readonly enumLabels?: string[] | undefined;
  /** The node has no history (auto mode stops trying). */
  noHistory?: boolean;
}

export type ReadHistory = (config: PointConfig, fromMs: number, toMs: number, perRead: number, onPage: (page: readonly RawDataValue[]) => void) => Promise<HistoryOutcome | undefined>;

/**
 * Gap fill: after a stop or a lost subscription, a point's history over (after, firstLive) — at
 * most gapFill.maxWindow — is read and appended like live values, so the API has no hole. At most
 * backfill.concurrency reads at once; the live values keep flowing meanwhile.
 */
export class GapFiller {
  private readonly running = new Set<Promise<void>>();
  private readonly queue: (() => Promise<void>)[] = [];

  constructor(
    private readonly settings: () => Pick<Mapping, "gapFill" | "backfill">,
    private readonly readHistory: ReadHistory,
    private readonly append: (s: Sample) => void,
    private readonly stats: Stats,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Fill (after, firstLive) of this point, when the gap is worth it. */
  fill(point: FillablePoint, after: number, firstLive: number): void {
    const { gapFill: { enabled, maxWindowMs } } = this.settings();
    if (enabled === false || point.noHistory || firstLive - after <= 1) return;
    const from = Math.max(after + 1, firstLive - maxWindowMs);
    if (from > after + 1) this.log.warn({ event: "gap_truncated", pointId: point.config.pointId, gapStart: new Date(after + 1).toISOString(), filledFrom: new Date(from).toISOString() }, "gap longer than gapFill.maxWindow: only its end is filled");
    this.queue.push(() => this.run(point, from, firstLive, enabled));
    this.next();
  }

  /** Stop: fills not started are dropped (their windows logged as open); running ones end with the session. */
  async stop(boundMs = 5_000): Promise<void> {
    this.queue.length = 0;
    let timer: { cancel(): void } | undefined;
    await Promise.race([Promise.all(this.running), new Promise<void>((r) => (timer = this.clock.setTimeout(r, boundMs)))]);
    timer?.cancel();
  }

  private next(): void {
    while (this.running.size < this.settings().backfill.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const p: Promise<void> = job().finally(() => {
        this.running.delete(p);
        this.next();
      });
      this.running.add(p);
    }
  }

  private async run(point: FillablePoint, from: number, firstLive: number, enabled: boolean | "auto"): Promise<void> {
    const config = point.config;
    const settings = historySettings(config);
    const window = { pointId: config.pointId, from: new Date(from).toISOString(), to: new Date(firstLive).toISOString() };
    let values = 0;
    try {
      const outcome = await this.readHistory(config, from, firstLive, this.settings().backfill.valuesPerRead, (page) => {
        for (const raw of page) {
          const r = convert(config.pointId, raw, settings, point.enumLabels);
          if (!r.ok || r.sample.ts < from || r.sample.ts >= firstLive) continue;
          values++;
          this.append(r.sample);
        }
      });
      if (outcome === undefined) return; // stopping, or no session
      if (outcome.kind !== "done") {
        if (outcome.kind === "failed" && outcome.permanent) point.noHistory = true;
        const reason = outcome.kind === "failed" ? outcome.reason : "stopped";
        const level = enabled === true || (outcome.kind === "failed" && !outcome.permanent) ? "warn" : "debug";
        this.log[level]({ event: "gap_fill_failed", ...window, reason }, "gap fill: cannot read the point's history; this window stays open");
        return;
      }
      this.stats.gapFilled += values;
      this.stats.gapFills++;
      this.log.info({ event: "gap_filled", ...window, values }, "gap filled from the server's history");
    } catch (err) {
      this.log.warn({ event: "gap_fill_failed", ...window, err: (err as Error).message }, "gap fill failed");
    }
  }
}
