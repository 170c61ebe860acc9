// `npm run bench`: prints throughput and CPU per value of the hot paths. Numbers, not assertions.
import { parseArgs } from "node:util";
import { startEmulator } from "../src/ingest/emulator.js";
import { IngestClient, valuesBody } from "../src/ingest/client.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dedupeMs } from "../src/pipeline/dedup.js";
import { Spool } from "../src/spool/spool.js";
import { convert } from "../src/pipeline/convert.js";
import type { PointSettings } from "../src/config/types.js";
import type { IngestConfig } from "../src/config/types.js";
import type { Sample } from "../src/pipeline/types.js";

interface Row { scenario: string; values: number; seconds: number; valuesPerS: number; cpuUsPerValue: number; requestsPerS?: number; rssMb: number }

const settings: PointSettings = { samplingIntervalMs: 0, queueSize: 10, deadband: { kind: "none" }, timestamp: "source", bad: "drop", nonFinite: "drop", structured: "json", scale: 1, offset: 0, booleanAs: "text", enumAs: "number", heartbeatMs: 0, trigger: "statusValue" };

function measure(scenario: string, values: number, fn: () => void | Promise<void>): Promise<Row> {
  return (async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { scenario, values, seconds, valuesPerS: values / seconds, cpuUsPerValue: (cpu.user + cpu.system) / values, rssMb: process.memoryUsage().rss / 1048576 };
  })();
}

/**
 * The per-value work of live mode without sockets: conversion, spool append and group commit,
 * take per point, ms-dedup and the request body, then the acknowledgement's delete.
 */
async function pipeline(n: number): Promise<Row> {
  const points = 1000;
  const dir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-"));
  const spool = new Spool({ file: join(dir, "spool.db"), maxBytes: 1 << 30, whenFull: "dropOldest" });
  const ids = Array.from({ length: points }, (_, i) => `point-${i}`);
  const t = Date.now();
  let bodyBytes = 0;
  const row = await measure("pipeline (convert+spool+dedup+body+ack)", n, () => {
    for (let i = 0; i < n; i++) {
      const r = convert(ids[i % points]!, { dataType: i % 2 ? 10 : 11, arrayType: 0, value: Math.fround(i / 7), statusCode: 0, sourceTimestamp: t + i, serverTimestamp: null, receivedAt: t }, settings);
      if (r.ok) spool.append(r.sample, t);
      if (spool.buffered >= 4_000) {
        const { added } = spool.commit();
        for (const pointId of added.keys()) {
          for (let rows = spool.take(pointId, 100); rows.length > 0; rows = spool.take(pointId, 100)) {
            bodyBytes += valuesBody(dedupeMs(rows, false).kept, false).length;
            spool.ack(pointId, rows);
          }
        }
      }
    }
    spool.commit();
  });
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  if (bodyBytes === 0) throw new Error("bench built no request body");
  return row;
}

/** Spool append throughput alone: samples/s through group commits of 4,000 rows (100 ms at 40k/s). */
async function spoolAppend(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-"));
  const spool = new Spool({ file: join(dir, "spool.db"), maxBytes: 1 << 30, whenFull: "dropOldest" });
  const t = Date.now();
  const row = await measure("spool append (group commit 4,000)", n, () => {
    for (let i = 0; i < n; i++) {
      spool.append({ pointId: `point-${i % 1000}`, ts: t + i, value: String(i / 7), quality: 0 }, t);
      if (spool.buffered >= 4_000) spool.commit();
    }
    spool.commit();
  });
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

async function http(perRequest: number, requests: number): Promise<Row> {
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
  });
  await client.close();
  await emulator.close();
  return { ...row, requestsPerS: requests / row.seconds };
}

const { values } = parseArgs({ options: { scenario: { type: "string" } } });
const rows: Row[] = [];
const want = (name: string) => !values.scenario || values.scenario === name;
if (want("pipeline")) rows.push(await pipeline(1_000_000));
if (want("spool")) rows.push(await spoolAppend(1_000_000));
if (want("http")) for (const per of [1, 10, 100]) rows.push(await http(per, per === 100 ? 2_000 : 5_000));
console.log("(the emulator runs in the same process: http CPU includes both sides)");
console.table(rows.map((r) => ({
  scenario: r.scenario, values: r.values, "values/s": Math.round(r.valuesPerS), "requests/s": r.requestsPerS ? Math.round(r.requestsPerS) : "",
  "CPU µs/value": r.cpuUsPerValue.toFixed(2), "RSS MB": Math.round(r.rssMb),
})));
