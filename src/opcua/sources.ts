// Several OPC UA sources in one process (mapping.sources): one OpcuaSource — session, subscription,
// reconnection, redundancy, node retries — per source, each with its own points, behind the
// interface the live flow used of a single OpcuaSource. A source that is down does not delay the
// others: they are started independently, and each delivers as soon as its own session is up.
import type { Logger } from "pino";
import type { PointConfig, SourceConfig } from "../config/types.js";
import type { RawDataValue } from "../core/types.js";
import type { HistoryOutcome } from "./history.js";
import { OpcuaSource, type PointState, type SourceOptions, type SourcePoint, type SourceState, type SourceStatus } from "./source.js";

export interface SourceSetHandlers<P extends SourcePoint> {
  /** A value of a point (of whichever source). Runs for every notification: keep it cheap. */
  value(point: P, raw: RawDataValue): void;
  /** `state` is the set's state (connected only when every source is); `source` the one that changed, with its own state. */
  state(state: SourceState, source: string, sourceState: SourceState): void;
  /** A gap of one source: only that source's points (`points`) missed changes in [from, to). */
  gap?(from: number, to: number, source: string, points: readonly P[]): void;
}

export class SourceSet<P extends SourcePoint> {
  private readonly sources = new Map<string, OpcuaSource<P>>();
  private readonly configs: readonly SourceConfig[];
  private points: readonly P[];
  /** Errors of a source's start (refused certificate, refused session): by source name. */
  readonly startErrors = new Map<string, Error>();

  constructor(
    configs: readonly SourceConfig[],
    points: readonly P[],
    stateDir: string,
    private readonly log: Logger,
    private readonly on: SourceSetHandlers<P>,
    opts: SourceOptions = {},
  ) {
    this.configs = configs;
    this.points = points;
    const known = new Set(configs.map((c) => c.name));
    for (const p of points) {
      if (!known.has(p.config.source)) throw new Error(`point ${p.config.pointId} names source ${p.config.source}, which is not in the mapping`);
    }
    for (const cfg of configs) {
      const source: OpcuaSource<P> = new OpcuaSource<P>(cfg, this.pointsOf(cfg.name, points), stateDir, log, {
        value: on.value,
        state: (s) => on.state(this.state, cfg.name, s),
        gap: (from, to) => on.gap?.(from, to, cfg.name, source.currentPoints()),
      }, opts);
      this.sources.set(cfg.name, source);
    }
  }

  private pointsOf(name: string, points: readonly P[]): P[] {
    return points.filter((p) => p.config.source === name);
  }

  /**
   * Starts every source at once. Resolves when each has either connected and created its items or
   * failed to start; a source whose server is not reachable yet keeps retrying in the background
   * and is not waited for (its state stays "connecting"), so the others deliver meanwhile.
   * Rejects only when every source failed with an error a user must fix (OpcuaError).
   */
  async start(opts: { waitForUnreachableMs?: number } = {}): Promise<void> {
    const wait = opts.waitForUnreachableMs ?? 5_000;
    const results = await Promise.all(
      [...this.sources].map(async ([name, source]) => {
        const started = source.start().then(
          () => "started" as const,
          (err: Error) => {
            this.startErrors.set(name, err);
            this.log.error({ source: name, err: err.message, code: (err as { code?: string }).code }, "OPC UA source could not start; the other sources keep running");
            return "failed" as const;
          },
        );
        // Not waited for beyond this: the source goes on retrying its first connect by itself.
        const timeout = new Promise<"pending">((r) => setTimeout(() => r("pending"), wait).unref());
        return Promise.race([started, timeout]);
      }),
    );
    if (results.every((r) => r === "failed")) throw [...this.startErrors.values()][0]!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
  }

  /** Hot reload: each source gets its points of the new list (a point that moves to another source is removed from one, added to the other). */
  async update(points: readonly P[]): Promise<{ added: string[]; removed: string[]; recreated: string[]; retuned: string[] }> {
    this.points = points;
    const results = await Promise.all([...this.sources].map(([name, s]) => s.update(this.pointsOf(name, points))));
    const all = { added: [] as string[], removed: [] as string[], recreated: [] as string[], retuned: [] as string[] };
    for (const r of results) for (const k of ["added", "removed", "recreated", "retuned"] as const) all[k].push(...r[k]);
    // Moved between sources: removed from one and added to the other is a re-creation.
    const added = new Set(all.added);
    const moved = all.removed.filter((id) => added.has(id));
    return {
      added: all.added.filter((id) => !moved.includes(id)),
      removed: all.removed.filter((id) => !moved.includes(id)),
      recreated: [...all.recreated, ...moved],
      retuned: all.retuned,
    };
  }

  /** Every point, or one source's. */
  currentPoints(source?: string): readonly P[] {
    if (source !== undefined) return this.sources.get(source)?.currentPoints() ?? [];
    return this.points;
  }

  /** pointId → reason, over every source (waiting for a node, refused by the server, field / range problems). */
  get failed(): ReadonlyMap<string, string> {
    const all = new Map<string, string>();
    for (const s of this.sources.values()) for (const [id, reason] of s.failed) all.set(id, reason);
    return all;
  }

  /** Gap fill: the history of a point, read from its own source's active server. */
  readHistory(config: PointConfig, fromMs: number, toMs: number, valuesPerRead: number, onPage: (values: RawDataValue[]) => void): Promise<HistoryOutcome | undefined> {
    const source = this.sources.get(config.source);
    return source ? source.readHistory(config, fromMs, toMs, valuesPerRead, onPage) : Promise.resolve(undefined);
  }

  /** connected when every source is; else the worst of them (stopped only when all are). */
  get state(): SourceState {
    const states = [...this.sources.values()].map((s) => s.state);
    if (states.every((s) => s === "stopped")) return "stopped";
    if (states.every((s) => s === "connected")) return "connected";
    if (states.includes("reconnecting")) return "reconnecting";
    return "connecting";
  }

  /** Per source: state, active endpoint, ServiceLevel, failovers, points monitored / waiting / failed. */
  status(): SourceStatus[] {
    return [...this.sources.values()].map((s) => s.status());
  }

  /** For /readyz: ready when every source is connected; else the ones that are not, with their state. */
  readiness(): { ready: boolean; notConnected: { name: string; state: SourceState; endpoint: string }[] } {
    const notConnected = this.status().filter((s) => s.state !== "connected").map((s) => ({ name: s.name, state: s.state, endpoint: s.endpoint }));
    return { ready: notConnected.length === 0, notConnected };
  }

  pointState(pointId: string): PointState | undefined {
    const p = this.points.find((x) => x.config.pointId === pointId);
    return p ? this.sources.get(p.config.source)?.pointState(pointId) : undefined;
  }

  /** Points waiting for their node, over every source (a gauge). */
  get waitingForNode(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.waitingForNode;
    return n;
  }

  /** Switches to a redundant server, over every source (a counter). */
  get failovers(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.failovers;
    return n;
  }

  source(name: string): OpcuaSource<P> | undefined {
    return this.sources.get(name);
  }

  get names(): string[] {
    return this.configs.map((c) => c.name);
  }
}
