// In-process micro benchmarks of the hot paths (scenario `micro`: pipeline, spool; scenario `http`: the
// ingest client alone against the emulator). Both sides of `http` run in this process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator } from "../src/dev/emulator.js";
import { IngestClient, valuesBody } from "../src/ingest/client.js";
import { dedupeMs } from "../src/transform/dedup.js";
import { Spool } from "../src/spool/spool.js";
import { convertTo, newSampleOut } from "../src/transform/convert.js";
import type { IngestConfig, PointSettings } from "../src/config/types.js";
import type { Sample } from "../src/core/types.js";
import type { Row } from "./lib/report.js";

const settings: PointSettings = { samplingIntervalMs: 0, queueSize: 10, deadband: { kind: "none" }, timestamp: "source", bad: "drop", nonFinite: "drop", structured: "json", scale: 1, offset: 0, booleanAs: "text", enumAs: "number", heartbeatMs: 0, trigger: "statusValue" };

async function measure(scenario: string, values: number, fn: () => void | Promise<void>, note?: (seconds: number) => string): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss / 1048576;
  return {
    scenario,
    deliveredPerS: values / seconds,
    cpuUsPerValue: (cpu.user + cpu.system) / values,
    rssSteadyMb: rss,
    note: note?.(seconds) ?? `${values.toLocaleString("en-US")} values in ${seconds.toFixed(1)} s, in process`,
    details: { values, seconds },
  };
}

/**
 * The per-value work of live mode without sockets: conversion, spool append and group commit,
 * take per point, ms-dedup and the request body, then the acknowledgement's delete.
 */
export async function pipeline(n: number): Promise<Row> {
  const points = 1000;
  const dir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-"));
  const spool = new Spool({ file: join(dir, "spool.db"), maxBytes: 1 << 30, whenFull: "dropOldest" });
  const ids = Array.from({ length: points }, (_, i) => `point-${i}`);
  // As live mode: each point's spool queue looked up once, one reused conversion output.
  const queues = ids.map((id) => spool.point(id));
  const out = newSampleOut();
  const t = Date.now();
  let bodyBytes = 0;
  let commits = 0;
  const row = await measure("micro: pipeline", n, () => {
    for (let i = 0; i < n; i++) {
      const dropped = convertTo(out, { dataType: i % 2 ? 10 : 11, arrayType: 0, value: Math.fround(i / 7), statusCode: 0, sourceTimestamp: t + i, serverTimestamp: null, receivedAt: t }, settings);
      if (dropped === undefined) spool.add(queues[i % points]!, out.ts, out.value, out.quality, t);
      if (spool.buffered >= 4_000) {
        // As the delivery engine: a commit per 100 ms, the maintenance (deletes, progress) every 10th.
        const { added } = spool.commit(++commits % 10 === 0);
        for (const pointId of added.keys()) {
          for (let rows = spool.take(pointId, 100); rows.length > 0; rows = spool.take(pointId, 100)) {
            bodyBytes += valuesBody(dedupeMs(rows, false).kept, false).length;
            spool.ack(pointId, rows);
          }
        }
      }
    }
    spool.commit();
  }, (s) => `convert+spool+dedup+body+ack, ${(n / 1e6).toFixed(0)}M values in ${s.toFixed(1)} s, no sockets`);
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  if (bodyBytes === 0) throw new Error("bench built no request body");
  return row;
}

/** Spool append throughput alone: samples/s through group commits of 4,000 rows (100 ms at 40k/s). */
export async function spoolAppend(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-"));
  const spool = new Spool({ file: join(dir, "spool.db"), maxBytes: 1 << 30, whenFull: "dropOldest" });
  const t = Date.now();
  const ids = Array.from({ length: 1000 }, (_, i) => `point-${i}`);
  let commits = 0;
  const row = await measure("micro: spool append", n, () => {
    for (let i = 0; i < n; i++) {
      spool.append({ pointId: ids[i % 1000]!, ts: t + i, value: String(i / 7), quality: 0 }, t);
      if (spool.buffered >= 4_000) spool.commit(++commits % 10 === 0);
    }
    spool.commit();
  }, (s) => `group commits of 4,000 rows (maintenance every 10th), ${(n / 1e6).toFixed(0)}M values, never sent in ${s.toFixed(1)} s`);
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

/** The ingest client alone against an in-process emulator, 8 requests in flight. */
export async function http(perRequest: number, requests: number): Promise<Row> {
  const emulator = await startEmulator();
  const cfg: IngestConfig = {
    baseUrl: emulator.baseUrl, tokenUrl: emulator.tokenUrl, partitionId: "bench", audience: "https://horizon.siemens.com",
    clientId: "demo-client", clientSecret: "demo-secret", overwrite: false, qualityOfValue: false, concurrency: 8,
    maxRequestsPerSecond: 0, requestTimeoutMs: 30_000, retryMaxDelayMs: 60_000, retryMaxElapsedMs: 0, tlsInsecure: false,
  };
  const client = new IngestClient(cfg);
  const t = Date.now();
  let next = 0;
  const row = await measure(`http ${perRequest} value(s)/request`, perRequest * requests, async () => {
    const worker = async (w: number) => {
      for (let r = next++; r < requests; r = next++) {
        const samples: Sample[] = Array.from({ length: perRequest }, (_, k) => ({ pointId: `p${w}`, ts: t + r * perRequest + k, value: String(k), quality: 0 }));
        const res = await client.send(`p${w}`, samples, false);
        if (res.kind !== "accepted") throw new Error(`bench request failed: ${JSON.stringify(res)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  }, (s) => `${Math.round(requests / s).toLocaleString("en-US")} requests/s; client and emulator in one process (CPU of both)`);
  await client.close();
  await emulator.close();
  return { ...row, details: { ...row.details, requestsPerS: requests / ((row.details?.seconds as number) || 1) } };
}
