import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import { systemClock, type Clock } from "../core/clock.js";
import type { DeliveryEngine, SpoolPoint } from "../delivery/engine.js";
import type { PointCounters, Stats } from "../delivery/stats.js";
import type { SourcePoint, SourceState } from "../opcua/source.js";
import { SourceSet } from "../opcua/sources.js";
import { convertTo, newSampleOut } from "../transform/convert.js";
import { GapFiller } from "./gapfill.js";
import { Heartbeat } from "./heartbeat.js";

/** StatusCode info bits: InfoType DataValue (0x400) with Overflow (0x80). */
const OVERFLOW = 0x480;

/**
 * A mapped point at run time: its settings, counters, its queue in the spool and what the
 * heartbeat repeats (the value is the counters' lastValue). The numbers are numbers from the start
 * (NaN for none), so a value overwrites them in place instead of allocating.
 */
export interface LivePoint extends SourcePoint {
  readonly config: PointConfig;
  readonly counters: PointCounters;
  readonly queue: SpoolPoint;
  /** Timestamp of the last value sent on; NaN for none to repeat (none yet, or Bad since). */
  lastTs: number;
  lastQuality: 0 | 1 | 2;
  /** When the last value was appended: the heartbeat counts from here, not from the device's clock. */
  lastAt: number;
  /** Gap fill: the newest timestamp known delivered before a stop or a lost subscription; filled up to the next live value. */
  fillAfter?: number | undefined;
  /** Gap fill found no history for this node (auto mode stops trying). */
  noHistory?: boolean;
  /** Timestamp of the last value when the connection was lost. */
  lastBeforeLoss?: number | undefined;
}

/** Mapping sections that a reload cannot change on a running process. */
const RESTART_SECTIONS = ["sources", "ingest", "batch", "spool", "state", "ops", "backfill", "gapFill"] as const;

/**
 * Live mode: OPC UA notifications → conversion → the delivery engine. Around it: gap fill after a
 * stop or a lost subscription, the heartbeat, and hot reload of the points.
 */
export class LiveFlow {
  /** Connected when every source is. */
  sourceState: SourceState = "connecting";
  readonly source: SourceSet<LivePoint>;
  private readonly stats: Stats;
  private readonly gaps: GapFiller;
  private readonly heartbeat: Heartbeat<LivePoint>;
  /** Sources in a reconnection (each loss counted once). */
  private readonly reconnecting = new Set<string>();

  constructor(
    public mapping: Mapping,
    private readonly engine: DeliveryEngine,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    const stats = (this.stats = engine.stats);
    this.gaps = new GapFiller(() => this.mapping, (...a) => this.source.readHistory(...a), (s) => void engine.append(s), stats, clock, log);
    // A point's heartbeat goes on while its own source is connected, whatever the others do.
    // and its node is monitored (not one a PLC download removed, nor a field that stopped resolving).
    this.heartbeat = new Heartbeat<LivePoint>(clock, () => this.source.currentPoints(), (p) => {
      const source = this.source.source(p.config.source);
      return source?.state === "connected" && source.pointState(p.config.pointId).state === "monitored";
    }, (p, ts) => {
      stats.heartbeats++;
      engine.add(p.queue, ts, p.counters.lastValue!, p.lastQuality, ts);
    });
    const out = newSampleOut();
    this.source = new SourceSet<LivePoint>(mapping.sources, this.toLivePoints(mapping.points), mapping.state, log, {
      value: (point, raw) => {
        const c = point.counters;
        stats.received++;
        c.received++;
        // The server's queue for this item overflowed: values were discarded before they reached us.
        if ((raw.statusCode & OVERFLOW) === OVERFLOW) {
          stats.overflows++;
          c.overflows++;
        }
        const dropped = convertTo(out, raw, point.config, point.enumLabels);
        if (dropped !== undefined) {
          stats.drop(point.config.pointId, dropped);
          // A heartbeat must not go on repeating a Good value the device has since reported Bad.
          if (dropped === "bad_status") point.lastTs = Number.NaN;
          return;
        }
        if (out.fallback) stats.timestampFallback[out.fallback]++;
        c.lastValue = out.value;
        c.lastTs = out.ts;
        c.lastReceivedAt = raw.receivedAt;
        point.lastTs = out.ts;
        point.lastQuality = out.quality;
        point.lastAt = raw.receivedAt;
        if (point.fillAfter !== undefined) {
          this.gaps.fill(point, point.fillAfter, out.ts);
          point.fillAfter = undefined;
        }
        engine.add(point.queue, out.ts, out.value, out.quality, raw.receivedAt);
      },
      state: (set, name, s) => {
        if (s === "reconnecting" && this.reconnecting.has(name) === false) {
          this.reconnecting.add(name);
          stats.reconnects++;
          // Where a fill would start: values that arrive while items are re-created must not move it.
          for (const p of this.source.currentPoints(name)) if (!Number.isNaN(p.lastTs)) p.lastBeforeLoss = p.lastTs;
        } else if (s !== "reconnecting") {
          this.reconnecting.delete(name);
        }
        this.sourceState = set;
      },
      gap: (from, to, _name, points) => {
        stats.gaps.push({ from, to });
        stats.gapCount++;
        if (stats.gaps.length > 100) stats.gaps.shift();
        // Fill each of the source's points from its last value before the loss up to its first value after the recovery.
        for (const p of points) if (p.lastBeforeLoss !== undefined) p.fillAfter ??= p.lastBeforeLoss;
      },
    });
  }

  /**
   * Run-time points for a mapping. Per-point counters are resolved once, not looked up per value.
   * At start, a point delivered before the stop is gap-filled from its last spooled timestamp when
   * its first live value arrives; on reload, a point that stays keeps its state (last value, fill).
   */
  private toLivePoints(points: readonly PointConfig[], previous?: readonly LivePoint[]): LivePoint[] {
    const kept = new Map((previous ?? []).map((p) => [p.config.pointId, p]));
    const last = previous || this.mapping.gapFill.enabled === false ? new Map<string, number>() : this.engine.lastTimestamps();
    return points.map((config) => {
      const old = kept.get(config.pointId);
      if (old) return { ...old, config };
      // Every field from the start: one in-object shape for all points.
      return {
        config,
        counters: this.stats.point(config.pointId),
        queue: this.engine.point(config.pointId),
        lastTs: Number.NaN,
        lastQuality: 0,
        lastAt: Number.NaN,
        fillAfter: last.get(config.pointId),
        noHistory: false,
        lastBeforeLoss: undefined,
        enumLabels: undefined,
      };
    });
  }

  async start(): Promise<void> {
    await this.source.start();
    this.heartbeat.schedule();
  }

  /**
   * Hot reload with an already validated mapping: points are added, removed and retuned without
   * touching the others; what would need a restart (server, API, spool, batching, state) is
   * reported and left as it was. The spool is untouched, so nothing spooled is lost.
   */
  async reload(next: Mapping): Promise<void> {
    const needsRestart = RESTART_SECTIONS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.mapping[k]));
    if (needsRestart.length) this.log.warn({ event: "reload_needs_restart", sections: needsRestart }, "mapping reload: these sections changed and need a restart; kept as they were");
    const r = await this.source.update(this.toLivePoints(next.points, this.source.currentPoints()));
    this.mapping = { ...this.mapping, points: next.points };
    this.heartbeat.schedule();
    this.log.info({ event: "reloaded", added: r.added.length, removed: r.removed.length, recreated: r.recreated.length, retuned: r.retuned.length, points: next.points.length }, "mapping reloaded");
  }

  /** Stop receiving; running gap fills end with the session (bounded wait). */
  async stop(): Promise<void> {
    this.heartbeat.stop();
    const fills = this.gaps.stop(); // drops the queued fills at once, then waits for the running ones
    await this.source.stop();
    await fills;
  }
}
