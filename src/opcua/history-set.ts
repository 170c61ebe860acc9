import type { Logger } from "pino";
import type { PointConfig, SourceConfig } from "../config/types.js";
import type { RawDataValue } from "../core/types.js";
import { HistorySession, type HistoryLimits, type HistoryOutcome, type HistoryPoint, type PreparedPoint, type ReadRawOptions } from "./history.js";

/** A point to read from history, with the source it belongs to. */
export interface SourcedHistoryPoint extends HistoryPoint {
  source: string;
}

/** What a history read needs of a mapped point. */
export function historyPoint(p: PointConfig): SourcedHistoryPoint {
  return { pointId: p.pointId, nodeId: p.nodeId, source: p.source, enumAs: p.enumAs, ...(p.field !== undefined && { field: p.field }), ...(p.indexRange !== undefined && { indexRange: p.indexRange }) };
}

/** The tighter of two limits, where 0 means "none given". */
const tighter = (a: number, b: number) => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

/**
 * History reads over several sources (backfill, reconcile): one HistorySession per source that a
 * selected point belongs to, each opened independently. A source that cannot be opened fails only
 * its own points (with the reason); reads are split by source and their outcomes put back in the
 * caller's order, so the caller sees one session.
 */
export class HistorySet {
  private readonly sourceOf = new Map<string, string>();

  private constructor(
    private readonly sessions: Map<string, HistorySession>,
    private readonly openErrors: Map<string, Error>,
    readonly limits: HistoryLimits,
  ) {}

  /** Throws the first source's error only when no source could be opened. */
  static async open(sources: readonly SourceConfig[], used: Iterable<string>, stateDir: string, log: Logger): Promise<HistorySet> {
    const names = new Set(used);
    const wanted = sources.filter((s) => names.has(s.name));
    const sessions = new Map<string, HistorySession>();
    const errors = new Map<string, Error>();
    await Promise.all(
      wanted.map(async (s) => {
        try {
          sessions.set(s.name, await HistorySession.open(s, stateDir, wanted.length > 1 ? log.child({ source: s.name }) : log));
        } catch (err) {
          errors.set(s.name, err as Error);
        }
      }),
    );
    if (sessions.size === 0 && errors.size > 0) throw [...errors.values()][0]!;
    let limits: HistoryLimits = { maxNodesPerCall: 0, maxContinuationPoints: 0, maxNodesPerRead: 0 };
    for (const h of sessions.values()) {
      limits = {
        maxNodesPerCall: tighter(limits.maxNodesPerCall, h.limits.maxNodesPerCall),
        maxContinuationPoints: tighter(limits.maxContinuationPoints, h.limits.maxContinuationPoints),
        maxNodesPerRead: tighter(limits.maxNodesPerRead, h.limits.maxNodesPerRead),
      };
    }
    for (const [name, err] of errors) log.error({ event: "history_source_failed", source: name, err: err.message }, "history: source could not be opened; its points fail, the others go on");
    return new HistorySet(sessions, errors, limits);
  }

  /** Per pointId: ready to read, or why not (its source is down, node id unresolvable, no HistoryRead access). */
  async prepare(points: readonly SourcedHistoryPoint[]): Promise<Map<string, PreparedPoint>> {
    const out = new Map<string, PreparedPoint>();
    const bySource = new Map<string, SourcedHistoryPoint[]>();
    for (const p of points) {
      this.sourceOf.set(p.pointId, p.source);
      const err = this.openErrors.get(p.source);
      if (err) out.set(p.pointId, { ok: false, reason: `source ${p.source}: ${err.message}` });
      else bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
    }
    const prepared = await Promise.all([...bySource].map(([name, ps]) => this.sessions.get(name)!.prepare(ps)));
    for (const m of prepared) for (const [id, r] of m) out.set(id, r);
    return out;
  }

  /** Outcomes in the order of `pointIds`; the sources' reads run at once. */
  async read(pointIds: readonly string[], fromMs: number, toMs: number, opts: ReadRawOptions, onPage: (pointId: string, values: RawDataValue[]) => void | Promise<void>): Promise<HistoryOutcome[]> {
    const groups = new Map<string, number[]>();
    pointIds.forEach((id, i) => {
      const source = this.sourceOf.get(id);
      if (source === undefined) throw new Error(`point ${id} was not prepared for history reads`);
      groups.set(source, [...(groups.get(source) ?? []), i]);
    });
    const out: HistoryOutcome[] = new Array(pointIds.length);
    // Settled, not Promise.all: a failing source must not leave another one reading in the background.
    const settled = await Promise.allSettled(
      [...groups].map(async ([source, indices]) => {
        const outcomes = await this.sessions.get(source)!.read(indices.map((i) => pointIds[i]!), fromMs, toMs, opts, onPage);
        outcomes.forEach((o, k) => (out[indices[k]!] = o));
      }),
    );
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((h) => h.close()));
  }
}
