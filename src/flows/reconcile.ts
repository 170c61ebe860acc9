import type { Logger } from "pino";
import type { Mapping, PointConfig } from "../config/types.js";
import type { IngestClient } from "../ingest/client.js";
import { readApiValues } from "../ingest/reader.js";
import { historyPoint, HistorySet } from "../opcua/history-set.js";
import { Comparer, type Comparison, type Timed } from "../transform/compare.js";
import { convert, historySettings } from "../transform/convert.js";
import { dedupeMs } from "../transform/dedup.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import type { Sample } from "../core/types.js";

/** How long a repair waits between windows for the API to take what it queued, at most. */
const REPAIR_ROOM_WAIT_MS = 60_000;
/** How long a finished repair sends what it queued, at most; after a stop signal, as long as `run`'s default drain. */
const REPAIR_FINISH_MS = 60_000;
const STOPPED_FINISH_MS = 10_000;

export interface ReconcileOptions {
  mapping: Mapping;
  points: readonly PointConfig[];
  fromMs: number;
  toMs: number;
  /** Send what is missing (and, with overwrite, what differs) through the spool and sender. */
  repair: boolean;
  overwrite: boolean;
  /** Reads the API's values (and, with repair, is the engine's client). */
  client: IngestClient;
  /** With repair: where the missing values go (state/reconcile.db). */
  engine?: DeliveryEngine | undefined;
  log: Logger;
  onProgress?: (pointId: string, doneMs: number) => void;
  /** Stop (SIGINT/SIGTERM): no new window is read; the report covers what was compared, the repair sends what it queued. */
  signal?: AbortSignal;
}

export interface PointReconcile extends Comparison {
  pointId: string;
  /** Values in the historian in range (after conversion and the one-per-ms rule). */
  historian: number;
  api: number;
  badSkipped: number;
  /** Values handed to the repair. */
  repaired: number;
  error?: string;
}

export interface ReconcileResult {
  points: PointReconcile[];
  /** Values compared, both sides. */
  compared: number;
  elapsedMs: number;
  /** Repair values still in the spool (sent by the next repair). */
  left: number;
  /**
   * Set when the signal stopped the comparison before the end: where it stopped, the first point and
   * time not compared. That point was compared up to `ms` (when it is in `points`), the points after
   * it not at all.
   */
  stoppedAt?: { pointId: string; ms: number };
}

/**
 * delivery.room(), but for at most REPAIR_ROOM_WAIT_MS and not past a stop. (AbortSignal.any of the
 * stop and a timeout per window would do, but on Node 20 each one stays attached to the stop signal
 * for good: nodejs/node#55351.)
 */
async function waitForRoom(delivery: DeliveryEngine, stop: AbortSignal | undefined): Promise<void> {
  if (stop?.aborted) return;
  const wait = new AbortController();
  const timer = setTimeout(() => wait.abort(), REPAIR_ROOM_WAIT_MS);
  const onStop = () => wait.abort();
  stop?.addEventListener("abort", onStop, { once: true });
  try {
    await delivery.room(wait.signal);
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener("abort", onStop);
  }
}

/**
 * Does the API hold what the historian holds? Per point and time window (mapping.backfill.window),
 * the raw history goes through live mode's conversion and one-value-per-ms rule and is compared,
 * millisecond by millisecond, with the values read back from the API. Both sides are streamed a
 * window at a time, so memory is bounded for any range.
 */
export async function runReconcile(o: ReconcileOptions): Promise<ReconcileResult> {
  const started = Date.now();
  const { mapping, log } = o;
  const history = await HistorySet.open(mapping.sources, o.points.map((p) => p.source), mapping.state, log);
  const delivery = o.repair ? o.engine : undefined;
  const reader = o.client;
  delivery?.start();
  const results: PointReconcile[] = [];
  let compared = 0;
  let stoppedAt: ReconcileResult["stoppedAt"];
  const stopped = () => o.signal?.aborted === true;
  try {
    const prepared = await history.prepare(o.points.map(historyPoint));
    for (const point of o.points) {
      if (stopped()) {
        stoppedAt = { pointId: point.pointId, ms: o.fromMs };
        break;
      }
      const r: PointReconcile = { pointId: point.pointId, historian: 0, api: 0, badSkipped: 0, repaired: 0, matched: 0, missing: 0, different: 0, extra: 0 };
      results.push(r);
      const prep = prepared.get(point.pointId);
      if (!prep?.ok) {
        r.error = prep?.reason ?? "not prepared";
        continue;
      }
      // History has no "received" time: such points are compared by source time, as backfill sends them.
      const settings = historySettings(point);
      const comparer = new Comparer((kind, h) => {
        if (!delivery || !h) return;
        if (kind === "missing" || (kind === "different" && o.overwrite)) {
          const s: Sample = { pointId: point.pointId, ts: h.ts, value: h.value, quality: (h as Timed & { quality: 0 | 1 | 2 }).quality };
          if (delivery.append(s)) r.repaired++;
        }
      });
      try {
        for (let w = o.fromMs; w < o.toMs; w += mapping.backfill.windowMs) {
          // A long repair waits for the API between windows, as a backfill does between pages, but
          // at most a minute: the comparison and its report must not hang on writes the API refuses
          // for now (what is not sent stays in the spool, and finish() says how much).
          if (delivery) await waitForRoom(delivery, o.signal);
          if (stopped()) {
            stoppedAt = { pointId: point.pointId, ms: w };
            if (w === o.fromMs) results.pop(); // nothing of it compared
            break;
          }
          const end = Math.min(o.toMs, w + mapping.backfill.windowMs);
          const fromHistorian: (Timed & { quality: 0 | 1 | 2 })[] = [];
          const [outcome] = await history.read([point.pointId], w, end, { valuesPerRead: mapping.backfill.valuesPerRead }, (_id, values) => {
            for (const raw of values) {
              const c = convert(point.pointId, raw, settings, prep.enumLabels);
              if (!c.ok) {
                if (c.reason === "bad_status") r.badSkipped++;
                continue;
              }
              if (c.sample.ts >= w && c.sample.ts < end) fromHistorian.push({ ts: c.sample.ts, value: c.sample.value, quality: c.sample.quality });
            }
          });
          if (outcome && outcome.kind === "failed") throw new Error(outcome.reason);
          fromHistorian.sort((a, b) => a.ts - b.ts);
          const h = dedupeMs(fromHistorian, mapping.ingest.overwrite).kept;
          const a: Timed[] = [];
          for await (const page of readApiValues(mapping.ingest, reader.tokens, reader.agent, point.pointId, w, end)) {
            // Clamped, whatever the API makes of the filter's bounds: a value is compared in one window only.
            for (const v of page) if (v.ts >= w && v.ts < end) a.push(v);
          }
          r.historian += h.length;
          r.api += a.length;
          compared += h.length + a.length;
          comparer.window(h, a);
          log.debug({ event: "reconcile_window", pointId: point.pointId, from: w, to: end, historian: h.length, api: a.length }, "window compared");
          o.onProgress?.(point.pointId, end);
        }
      } catch (err) {
        r.error = (err as Error).message;
      }
      Object.assign(r, comparer.result);
      if (stoppedAt) break;
    }
  } finally {
    await history.close();
    if (!o.engine) await reader.close();
  }
  let left = 0;
  if (o.engine) {
    const queued = o.engine.backlog;
    if (queued > 0) log.info({ event: "repair_sending", queued }, `repair: sending ${queued} queued value(s)`);
    // A stop before or during this drain shortens it to STOPPED_FINISH_MS; a second signal ends the process.
    left = await o.engine.finish(REPAIR_FINISH_MS, o.signal && { signal: o.signal, ms: STOPPED_FINISH_MS });
  }
  if (left > 0) log.warn({ event: "repair_left", left }, "repair: values left in state/reconcile.db; the next --repair sends them");
  return { points: results, compared, elapsedMs: Date.now() - started, left, ...(stoppedAt && { stoppedAt }) };
}
