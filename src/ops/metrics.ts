import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Stats } from "../delivery/stats.js";

/** One OPC UA source as the ops endpoints show it. */
export interface SourceBrief {
  readonly name: string;
  /** "connecting" | "connected" | "reconnecting" | "stopped" */
  readonly state: string;
  /** The endpoint its session is on (the active one of a redundant set). */
  readonly endpoint: string;
  readonly serviceLevel?: number | undefined;
  readonly failovers: number;
  readonly monitored: number;
  /** Points whose node the server does not know (yet): retried on a schedule. */
  readonly waiting: number;
  readonly failed: number;
}

/** What the ops endpoints read from a running connector. */
export interface OpsView {
  readonly stats: Stats;
  /** Over all sources: connected when every one is. */
  readonly sourceState: string;
  sources(): readonly SourceBrief[];
  spoolStatus(): { rows: number; bytes: number; maxBytes: number; oldestArrival: number | undefined };
  tokenRefreshes(): number;
  /** Points in the mapping, and those the server refused. */
  pointCounts(): { mapped: number; failed: number };
  /** The last failed API request: when, and why (HTTP status and the API's detail, or the network or token error). */
  lastApiError(): { at: number; reason: string } | undefined;
}

const P = "opcua_ingest_";

/**
 * A counter that mirrors a monotonic number kept elsewhere (the pipeline's Stats): at each scrape
 * it adds what grew since the last one, so the hot path only increments plain fields.
 */
function mirror(registry: Registry, name: string, help: string, labelNames: string[], read: () => Record<string, number>): void {
  const last = new Map<string, number>();
  new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      for (const [key, value] of Object.entries(read())) {
        const delta = value - (last.get(key) ?? 0);
        if (delta <= 0) continue;
        last.set(key, value);
        if (labelNames.length === 0) this.inc(delta);
        else this.inc({ [labelNames[0]!]: key }, delta);
      }
    },
  });
}

export function createMetrics(view: OpsView, perPoint: boolean): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: P });
  const s = view.stats;
  mirror(r, `${P}values_received_total`, "OPC UA notifications received", [], () => ({ all: s.received }));
  mirror(r, `${P}values_sent_total`, "Values the API stored (acknowledged, minus conflicts)", [], () => ({ all: s.sent }));
  mirror(r, `${P}values_dropped_total`, "Values not sent, by reason (bad_status, non_finite, spool_full, dead_letter, ...)", ["reason"], () => s.dropped as Record<string, number>);
  mirror(r, `${P}conflicts_total`, "Values the API dropped because their millisecond was already stored (202)", [], () => ({ all: s.conflicts }));
  mirror(r, `${P}duplicates_merged_total`, "Values merged away inside one request because their millisecond repeated", [], () => ({ all: s.duplicates }));
  mirror(r, `${P}batches_total`, "Requests by HTTP status (retry = network error or timeout)", ["status"], () => s.byStatus);
  mirror(r, `${P}retries_total`, "Requests that will be retried", [], () => ({ all: s.retries }));
  mirror(r, `${P}queue_overflows_total`, "Notifications with the Overflow bit: the server's queue dropped values", [], () => ({ all: s.overflows }));
  mirror(r, `${P}opcua_reconnects_total`, "OPC UA connection losses", [], () => ({ all: s.reconnects }));
  mirror(r, `${P}opcua_gaps_total`, "Times the OPC UA session or subscription was lost (a window not seen)", [], () => ({ all: s.gapCount }));
  mirror(r, `${P}gap_fills_total`, "Gaps read back from the server's history", [], () => ({ all: s.gapFills }));
  mirror(r, `${P}gap_fill_values_total`, "Values recovered by gap fill", [], () => ({ all: s.gapFilled }));
  mirror(r, `${P}heartbeats_total`, "Values re-sent by the heartbeat", [], () => ({ all: s.heartbeats }));
  mirror(r, `${P}spool_commit_errors_total`, "Group commits that failed (values kept in memory and retried)", [], () => ({ all: s.commitErrors }));
  mirror(r, `${P}token_refreshes_total`, "Access tokens obtained", [], () => ({ all: view.tokenRefreshes() }));
  mirror(r, `${P}timestamp_fallbacks_total`, "Values stamped with another timestamp than configured, by the one used", ["used"], () => s.timestampFallback);

  const latency = new Histogram({
    name: `${P}request_duration_seconds`, help: "Duration of values POSTs", labelNames: ["outcome"], registers: [r],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  // One child per outcome, found once: labels() hashes its labels on every call, and this runs per request.
  const byOutcome = new Map<string, { observe(seconds: number): void }>();
  s.onRequest = (seconds, outcome) => {
    let child = byOutcome.get(outcome);
    if (!child) byOutcome.set(outcome, (child = latency.labels({ outcome })));
    child.observe(seconds);
  };

  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name: `${P}${name}`, help, registers: [r], collect() { this.set(read()); } });
  gauge("spool_rows", "Samples in the spool, not yet acknowledged by the API", () => view.spoolStatus().rows);
  gauge("spool_bytes", "Approximate bytes of the samples in the spool", () => view.spoolStatus().bytes);
  gauge("spool_max_bytes", "spool.maxBytes", () => view.spoolStatus().maxBytes);
  gauge("spool_oldest_age_seconds", "Age of the oldest unsent sample (0 when the spool is empty)", () => {
    const oldest = view.spoolStatus().oldestArrival;
    return oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
  });
  new Gauge({
    name: `${P}opcua_connected`, help: "1 while the source's OPC UA session is up", labelNames: ["source"], registers: [r],
    collect() {
      for (const src of view.sources()) this.set({ source: src.name }, src.state === "connected" ? 1 : 0);
    },
  });
  mirror(r, `${P}opcua_failovers_total`, "Switches to another server of a redundant source", ["source"], () => Object.fromEntries(view.sources().map((src) => [src.name, src.failovers])));
  gauge("points_waiting_for_node", "Points whose node the server does not know (yet), retried on a schedule", () => view.sources().reduce((n, src) => n + src.waiting, 0));
  gauge("api_up", "0 from a transient API failure until the next answer", () => (s.apiUp ? 1 : 0));
  gauge("points_mapped", "Points in the mapping", () => view.pointCounts().mapped);
  gauge("points_failed", "Points the OPC UA server refused to monitor", () => view.pointCounts().failed);
  if (perPoint) {
    new Gauge({
      name: `${P}point_last_value_age_seconds`, help: "Age of the last value received per point (ops.perPointMetrics)",
      labelNames: ["point"], registers: [r],
      collect() {
        const now = Date.now();
        for (const [point, c] of s.points) if (!Number.isNaN(c.lastReceivedAt)) this.set({ point }, (now - c.lastReceivedAt) / 1000);
      },
    });
  }
  return r;
}
