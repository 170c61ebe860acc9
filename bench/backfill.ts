// Backfill throughput: the bare HistoryRead rate of a historizing node-opcua server against the rate
// at which `opcua-ingest backfill` delivers the same history into the API emulator.
//
//   server   bench/backfill-server.ts, a process of its own: `points` variables × `values` past values
//   bare     a plain node-opcua client in this process: the same windows, numValuesPerNode and points
//            at once, HistoryRead with continuation points, counting values and nothing else
//   backfill the built CLI (dist/cli/main.js) as a child process, the emulator in this process
//   send     bench/procs/send.ts (the live scenarios' send floor): a bare undici client process replaying
//            the backfill's requests (count, values, duration, concurrency; prebuilt bodies) to the same
//            emulator. bare + send is the floor: what any node-opcua reader posting these requests pays
//   pipeline bench/procs/backfill-floor.ts, right after the backfill: that floor run end to end, a bare
//            reader posting prebuilt bodies as their values arrive (no code of ours), in the
//            connector's place, with the connector's V8 flags: the most any connector reaches here, the
//            historian and the emulator sharing the cores with it
//
// `backfillBench()` is called by bench/run.ts. Alone, after `npm run build && npx tsc -p bench/tsconfig.json`:
//   node dist-bench/bench/backfill.js [points] [values]      prints the result as JSON
//   BACKFILL_PROFILE=1 ...                                   also the CLI's hot functions (node --cpu-prof) and
//                                                            the emulator's (this process, during the backfill)
//   BACKFILL_INGEST_CONCURRENCY=N ...                        ingest.concurrency N instead of the default 8
//   BACKFILL_READ_CONCURRENCY=N ...                          the CLI's backfill.concurrency N (the bare reader keeps 4)
//   BACKFILL_FLOOR_FORMAT=1 ...                              the floor pipeline builds each body from the values it
//                                                            reads (String(), timestamp text) instead of prebuilding it
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadMapping } from "../src/config/index.js";
import { readerHighWater } from "../src/delivery/engine.js";
import { startEmulator } from "../src/dev/emulator.js";
import { formatProfile, summarizeProfile } from "./lib/cpuprofile.js";
import { openReader, readHistory, type ReadPlan } from "./lib/history-read.js";
import { replaySend } from "./lib/send-floor.js";
import { shippedNodeOptions } from "./live.js";
import { BENCH_DIR, cpuMicros, RssSampler, spawnNode } from "./lib/proc.js";

export interface BackfillBenchOptions {
  /**
   * Historizing variables (default 300). 300 × 10,000 = 3,000,000 values, 15–30 s of backfill: a backfill is
   * a long job, and 300,000 values (3 s) measured mostly the JIT warming up (2026-12-07: the connector
   * 11.9 µs a value in the short run, 4.9–6.8 in the longer one). More values a variable would slow the test
   * historian itself (node-opcua's in-memory history: 3 µs a value served at 10,000, 10 at 100,000).
   */
  points?: number;
  /** Values per variable (default 10,000, one per second). */
  valuesPerPoint?: number;
  /** backfill.window (default 1 h), backfill.valuesPerRead (1,000), backfill.concurrency (4): the mapping defaults. */
  windowMs?: number;
  valuesPerRead?: number;
  concurrency?: number;
  /** ingest.concurrency: requests in flight to the API (default: the mapping's default, 8). */
  ingestConcurrency?: number;
  /** backfill.concurrency of the CLI's mapping only (default: `concurrency`); the bare reader keeps `concurrency`. */
  readConcurrency?: number;
  /** node --cpu-prof on the CLI; prints its hot functions (the CPU figures are then inflated). */
  profile?: boolean;
}

export interface BackfillBenchResult {
  /** Values stored by the emulator / seconds from the CLI's "backfill started" (session open) to its exit. */
  endToEndValuesPerS: number;
  /**
   * Values / seconds of the bare client reading everything, once before and once after the backfill
   * (all values / all seconds of the two): one read moved 176,000-261,000 values/s between runs.
   */
  bareHistoryReadValuesPerS: number;
  /** The two bare reads' rates, before and after the backfill. */
  bareRunsValuesPerS: [number, number];
  /** endToEnd / bare; the target is ≥ 0.8. */
  ratio: number;
  values: number;
  points: number;
  /** Including the CLI's start-up (node-opcua load, RSA self-test, connect). */
  endToEndWithStartValuesPerS: number;
  /** CPU per value of the CLI process (user + sys, from "backfill started" to exit) and of the bare client. */
  backfillCpuUsPerValue: number;
  /** CPU the CLI spent before reading (node-opcua load, RSA self-test, connect). */
  backfillStartCpuMs: number;
  bareCpuUsPerValue: number;
  /** CPU per value of the send floor (procs/send replaying the backfill's requests), and per request. */
  sendCpuUsPerValue: number;
  sendCpuUsPerRequest: number;
  /** Values POSTs the backfill made. */
  requests: number;
  /** CPU of the server process per value, during each phase. */
  serverCpuUsPerValueBare: number;
  serverCpuUsPerValueBackfill: number;
  /** CPU of this process (the emulator) per value during the backfill. */
  emulatorCpuUsPerValue: number;
  backfillSeconds: number;
  backfillRssPeakMb: number;
  /** Mean RSS of the CLI in each quarter of the backfill: flat when memory does not grow with the range. */
  backfillRssMbAtQuarters: number[];
  /** Values the API already had (should be 0) and values missing after the run (must be 0). */
  conflicts: number;
  missing: number;
  /**
   * The floor pipeline (bench/procs/backfill-floor.ts): a bare reader posting prebuilt bodies as their
   * values arrive, no code of ours, in place of the connector, right after it: its values/s, that
   * against the bare read (the most any connector reaches here), its CPU a value and the historian's
   * and the emulator's during it.
   */
  floorPipelineValuesPerS: number;
  floorPipelineRatio: number;
  floorPipelineCpuUsPerValue: number;
  serverCpuUsPerValueFloorPipeline: number;
  emulatorCpuUsPerValueFloorPipeline: number;
  floorPipelineSeconds: number;
}

const ROOT = join(BENCH_DIR, "..", "..");
/** The built CLI: package.json's `bin`. */
const CLI = join(ROOT, "dist", "cli", "main.js");
const PARTITION = "bench";

async function bareRead(endpoint: string, nodeTexts: readonly string[], plan: ReadPlan, pki: string) {
  const reader = await openReader(endpoint, nodeTexts, pki);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let values = 0;
    await readHistory(reader.session, reader.nodes, plan, (_node, dvs, end) => {
      for (const dv of dvs) if ((dv.sourceTimestamp?.getTime() ?? 0) < end) values++;
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { values, seconds, cpuUs: cpu.user + cpu.system };
  } finally {
    await reader.close();
  }
}

/**
 * The floor pipeline's run against the same historian and emulator: prepared (one unmeasured read, the
 * bodies built), then timed from its first read to its last answer. Its values must all be stored.
 */
async function floorPipeline(
  mappingFile: string, info: { endpoint: string; nodeIds: string[] }, plan: ReadPlan, pki: string,
  emulator: Awaited<ReturnType<typeof startEmulator>>, serverPid: number, flags: string[],
) {
  const { ingest, batch } = loadMapping(mappingFile);
  // The connector's V8 flags: a setting any program may use, not code of ours (its 64 MB young generation
  // took 13 % off the connector's CPU: 5.72 → 4.98 µs a value).
  const child = spawnNode("floor-pipeline", join(BENCH_DIR, "procs", "backfill-floor.js"), [], { ipc: true, nodeArgs: flags });
  try {
    await child.ready(30_000);
    const prepared = await child.rpc<{ values: number; requests: number }>({
      cmd: "prepare", endpoint: info.endpoint, nodeIds: info.nodeIds, plan, pki, baseUrl: ingest.baseUrl, tokenUrl: ingest.tokenUrl,
      clientId: ingest.clientId, clientSecret: ingest.clientSecret, audience: ingest.audience, partitionId: ingest.partitionId,
      concurrency: ingest.concurrency, perRequest: batch.maxValues,
      // The reader waits where the connector's does (16,000 values with the defaults).
      highWater: readerHighWater(batch.maxValues, ingest.concurrency), format: process.env.BACKFILL_FLOOR_FORMAT === "1",
    }, 300_000);
    const stored0 = emulator.stats().valuesStored;
    const s0 = cpuMicros(serverPid);
    const e0 = process.cpuUsage();
    const r = await child.rpc<{ seconds: number; cpuUs: number; requests: number }>({ cmd: "run" }, 330_000);
    const e = process.cpuUsage(e0);
    const serverUs = cpuMicros(serverPid) - s0;
    const stored = emulator.stats().valuesStored - stored0;
    if (stored !== prepared.values || r.requests !== prepared.requests) {
      throw new Error(`floor pipeline: the emulator stored ${stored} of ${prepared.values} values, ${r.requests} of ${prepared.requests} requests answered`);
    }
    return {
      valuesPerS: stored / r.seconds,
      seconds: r.seconds,
      cpuUsPerValue: r.cpuUs / stored,
      serverCpuUsPerValue: serverUs / stored,
      emulatorCpuUsPerValue: (e.user + e.system) / stored,
    };
  } finally {
    await child.rpc({ cmd: "stop" }, 10_000).catch(() => {});
    await child.stop(5_000);
  }
}

/** Mean RSS in each quarter of [from, to] (epoch ms); 0 for a quarter without samples. */
function quarters(samples: readonly { t: number; rss: number }[], from: number, to: number): number[] {
  return [0, 1, 2, 3].map((q) => {
    const a = from + ((to - from) * q) / 4;
    const b = from + ((to - from) * (q + 1)) / 4;
    const inside = samples.filter((x) => x.t >= a && x.t <= b && Number.isFinite(x.rss));
    return inside.length ? Math.round(inside.reduce((n, x) => n + x.rss, 0) / inside.length) : 0;
  });
}

export async function backfillBench(opts: BackfillBenchOptions = {}): Promise<BackfillBenchResult> {
  const points = opts.points ?? 300;
  const valuesPerPoint = opts.valuesPerPoint ?? 10_000;
  const o = { windowMs: opts.windowMs ?? 3_600_000, valuesPerRead: opts.valuesPerRead ?? 1_000, concurrency: opts.concurrency ?? 4 };
  const stepMs = 1_000;
  const startMs = Date.UTC(2024, 0, 1);
  const fromMs = startMs;
  const toMs = startMs + valuesPerPoint * stepMs + points; // every value of every point
  const plan: ReadPlan = { fromMs, toMs, ...o };
  const dir = mkdtempSync(join(tmpdir(), "opcua-ingest-bench-backfill-"));
  const server = spawnNode("historian", join(BENCH_DIR, "backfill-server.js"), [String(points), String(valuesPerPoint), String(startMs), String(stepMs)], { ipc: true });
  try {
    const info = await server.ready<{ endpoint: string; nodeIds: string[]; stored: number; fillMs: number }>(300_000);

    // --- bare: before the backfill here, and again after it ---
    let serverBareUs = 0;
    const bareOnce = async (n: number) => {
      const s0 = cpuMicros(server.pid);
      const r = await bareRead(info.endpoint, info.nodeIds, plan, join(dir, `bare-pki-${n}`));
      serverBareUs += cpuMicros(server.pid) - s0;
      if (r.values !== info.stored) throw new Error(`bare client read ${r.values} values, the server stores ${info.stored}`);
      return r;
    };
    const bareBefore = await bareOnce(1);

    // --- backfill into the emulator ---
    const emulator = await startEmulator();
    const file = join(dir, "mapping.yaml");
    writeFileSync(
      file,
      `opcua:
  endpoint: ${info.endpoint}
ingest:
  baseUrl: ${emulator.baseUrl}
  tokenUrl: ${emulator.tokenUrl}
  partitionId: ${PARTITION}
  clientId: demo-client
  clientSecret: demo-secret
${opts.ingestConcurrency ? `  concurrency: ${opts.ingestConcurrency}\n` : ""}backfill:
  concurrency: ${opts.readConcurrency ?? o.concurrency}
  window: ${o.windowMs / 1000}s
  valuesPerRead: ${o.valuesPerRead}
state: ${join(dir, "state")}
ops:
  listen: off
defaults:
  bad: send
points:
${info.nodeIds.map((n, i) => `  - nodeId: "${n}"\n    pointId: p${i}`).join("\n")}
`,
    );
    const spawned = performance.now();
    const profDir = join(dir, "prof");
    // The image's V8 flags for a backfill (BENCH_NODE_ARGS replaces them).
    const flags = (process.env.BENCH_NODE_ARGS ?? shippedNodeOptions("backfill")).split(" ").filter(Boolean);
    const cli = spawnNode("backfill", CLI, ["backfill", "--config", file, "--from", new Date(fromMs).toISOString(), "--to", new Date(toMs).toISOString()], {
      nodeArgs: [...flags, ...(opts.profile ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [])],
    });
    const rss = new RssSampler(cli.pid, 200);
    let cliCpuUs = 0;
    const cpuTimer = setInterval(() => {
      try {
        cliCpuUs = cpuMicros(cli.pid);
      } catch {
        // exited
      }
    }, 100);
    await cli.waitForLine(/"event":"backfill_started"/, 60_000, "event backfill_started");
    const started = performance.now();
    const cliCpuAtStart = cpuMicros(cli.pid);
    const s1 = cpuMicros(server.pid);
    const e0 = process.cpuUsage();
    const emulatorProfile = opts.profile ? await startSelfProfile() : undefined;
    const code = await cli.exited;
    const ended = performance.now();
    const emulatorCpu = process.cpuUsage(e0);
    if (emulatorProfile) {
      const f = join(dir, "emulator.cpuprofile");
      writeFileSync(f, JSON.stringify(await emulatorProfile()));
      console.error(`emulator (this process) during the backfill:\n${formatProfile(summarizeProfile(f, ROOT, 30))}`);
    }
    clearInterval(cpuTimer);
    rss.stop();
    const serverBackfillUs = cpuMicros(server.pid) - s1;
    if (code !== 0) throw new Error(`backfill exited ${code}\n${cli.lastLines(40)}`);
    if (opts.profile) {
      // The backfill itself (from "backfill started" to the exit), not the start-up before it.
      const window: [number, number] = [(ended - started) * 1000, 0];
      for (const f of readdirSync(profDir)) console.error(formatProfile(summarizeProfile(join(profDir, f), ROOT, 30, window)));
    }
    const stats = emulator.stats();
    let missing = 0;
    for (let i = 0; i < points; i++) missing += Math.max(0, valuesPerPoint - emulator.values(PARTITION, `p${i}`).length);
    // The send floor: the backfill's requests replayed over the same time; no publishing interval paces a
    // backfill, so what is due goes out every 10 ms and whenever a slot frees.
    const send = await replaySend(file, { requests: stats.requests, values: stats.valuesReceived, seconds: (ended - started) / 1000, points, tickMs: 10 });
    const pipe = await floorPipeline(file, info, plan, join(dir, "pipe-pki"), emulator, server.pid, flags);
    await emulator.close();
    const bareAfter = await bareOnce(2);
    const bare = { values: bareBefore.values + bareAfter.values, seconds: bareBefore.seconds + bareAfter.seconds, cpuUs: bareBefore.cpuUs + bareAfter.cpuUs };
    const values = stats.valuesStored;
    const e2e = values / ((ended - started) / 1000);
    const bareRate = bare.values / bare.seconds;
    return {
      endToEndValuesPerS: e2e,
      bareHistoryReadValuesPerS: bareRate,
      bareRunsValuesPerS: [bareBefore.values / bareBefore.seconds, bareAfter.values / bareAfter.seconds],
      ratio: e2e / bareRate,
      values,
      points,
      endToEndWithStartValuesPerS: values / ((ended - spawned) / 1000),
      backfillCpuUsPerValue: (cliCpuUs - cliCpuAtStart) / values,
      backfillStartCpuMs: cliCpuAtStart / 1000,
      bareCpuUsPerValue: bare.cpuUs / bare.values,
      sendCpuUsPerValue: send.cpuUs / send.values,
      sendCpuUsPerRequest: send.cpuUs / send.requests,
      requests: stats.requests,
      serverCpuUsPerValueBare: serverBareUs / bare.values,
      serverCpuUsPerValueBackfill: serverBackfillUs / values,
      emulatorCpuUsPerValue: (emulatorCpu.user + emulatorCpu.system) / values,
      backfillSeconds: (ended - started) / 1000,
      backfillRssPeakMb: Math.max(...[rss.peak, ...rss.samples.map((x) => x.rss)].filter(Number.isFinite)),
      backfillRssMbAtQuarters: quarters(rss.samples, Date.now() - (performance.now() - started), Date.now() - (performance.now() - ended)),
      conflicts: stats.conflicts,
      missing,
      floorPipelineValuesPerS: pipe.valuesPerS,
      floorPipelineRatio: pipe.valuesPerS / bareRate,
      floorPipelineCpuUsPerValue: pipe.cpuUsPerValue,
      serverCpuUsPerValueFloorPipeline: pipe.serverCpuUsPerValue,
      emulatorCpuUsPerValueFloorPipeline: pipe.emulatorCpuUsPerValue,
      floorPipelineSeconds: pipe.seconds,
    };
  } finally {
    await server.stop(5_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Profiles this process (the emulator's) from now until the returned function is called. */
async function startSelfProfile(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    return profile;
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const points = process.argv[2] ? Number(process.argv[2]) : undefined;
  const valuesPerPoint = process.argv[3] ? Number(process.argv[3]) : undefined;
  const ingestConcurrency = process.env.BACKFILL_INGEST_CONCURRENCY ? Number(process.env.BACKFILL_INGEST_CONCURRENCY) : undefined;
  const readConcurrency = process.env.BACKFILL_READ_CONCURRENCY ? Number(process.env.BACKFILL_READ_CONCURRENCY) : undefined;
  const r = await backfillBench({
    ...(points && { points }), ...(valuesPerPoint && { valuesPerPoint }), ...(ingestConcurrency && { ingestConcurrency }), ...(readConcurrency && { readConcurrency }),
    profile: process.env.BACKFILL_PROFILE === "1",
  });
  console.log(JSON.stringify(r, null, 2));
  process.exit(0);
}
