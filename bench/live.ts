// End-to-end scenarios over loopback, every part a process of its own: the OPC UA server (procs/server),
// the API emulator (`opcua-ingest emulator`), the connector (`opcua-ingest run` on a generated mapping)
// and, for the floor, a bare node-opcua client (procs/bare: the receive floor) and a bare undici client
// replaying the connector's request mix (procs/send: the send floor). CPU and memory come from /proc;
// values produced from the server, values delivered, requests and latency from the emulator.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { bucketsBetween, percentileMs, type LatencyBuckets } from "../src/dev/emulator-latency.js";
import type { EmulatorStats } from "../src/dev/emulator.js";
import { formatProfile, summarizeProfile, type ProfileSummary } from "./lib/cpuprofile.js";
import { InspectorSession } from "./lib/inspector.js";
import { replaySend } from "./lib/send-floor.js";
import { BENCH_DIR, benchTmp, Child, cpuMicros, RssSampler, sleep, spawnNode } from "./lib/proc.js";
import type { Row, Target } from "./lib/report.js";

/** The project folder (dist-bench/bench/.. /..). */
export const ROOT = join(BENCH_DIR, "..", "..");
/** The built CLI: package.json's `bin`. */
export const CLI = join(ROOT, "dist", "cli", "main.js");
const SERVER = join(BENCH_DIR, "procs", "server.js");
const BARE = join(BENCH_DIR, "procs", "bare.js");

/** Subscription settings shared by the connector's mapping and the bare client. */
const PUBLISHING_INTERVAL_MS = 100;
const QUEUE_SIZE = 100;
/** Server-side batches: all changes due are made once per tick. */
const TICK_MS = 20;

const log = (msg: string) => console.error(`bench: ${msg}`);
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

// --- the processes ------------------------------------------------------------------------------

class ServerProc {
  private constructor(
    readonly child: Child,
    readonly endpoint: string,
    readonly namespaceUri: string,
  ) {}

  static async start(): Promise<ServerProc> {
    const child = spawnNode("server", SERVER, [], { ipc: true });
    const ready = await child.ready<{ endpoint: string; namespaceUri: string }>(60_000);
    return new ServerProc(child, ready.endpoint, ready.namespaceUri);
  }

  setup(items: number): Promise<{ created: number; ms: number }> {
    return this.child.rpc({ cmd: "setup", items }, 300_000);
  }

  produce(periodMs: number): Promise<unknown> {
    return this.child.rpc({ cmd: "produce", periodMs, tickMs: TICK_MS });
  }

  pause(): Promise<{ produced: number }> {
    return this.child.rpc({ cmd: "pause" });
  }

  stats(): Promise<{ produced: number; skipped: number; maxTickMs: number; now: number }> {
    return this.child.rpc({ cmd: "stats" });
  }

  async stop(): Promise<void> {
    if (!this.child.running) return;
    await this.child.rpc({ cmd: "stop" }, 15_000).catch(() => {});
    await this.child.stop(5_000);
  }
}

class EmulatorProc {
  private constructor(
    readonly child: Child,
    readonly baseUrl: string,
  ) {}

  static async start(port = 0): Promise<EmulatorProc> {
    const child = spawnNode("emulator", CLI, ["emulator", "--host", "127.0.0.1", "--port", String(port)]);
    const line = await child.waitForLine(/baseUrl:\s+http:\/\/\S+\/ingest/, 30_000, "the emulator's baseUrl");
    return new EmulatorProc(child, /baseUrl:\s+(\S+)/.exec(line)![1]!);
  }

  get url(): string {
    return this.baseUrl.replace(/\/ingest$/, "");
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stats(): Promise<EmulatorStats> {
    const res = await fetch(`${this.url}/_emulator/stats`);
    if (!res.ok) throw new Error(`emulator stats: HTTP ${res.status}`);
    return (await res.json()) as EmulatorStats;
  }
}

class ConnectorProc {
  sessionOpenAt: number | undefined;
  createdAt: number | undefined;
  opsUrl: string | undefined;
  inspectorUrl: string | undefined;
  monitored: number | undefined;

  private constructor(
    readonly child: Child,
    readonly spawnedAt: number,
  ) {
    child.onLine((line) => {
      const inspector = /^Debugger listening on (ws:\/\/\S+)/.exec(line);
      if (inspector) this.inspectorUrl = inspector[1];
      if (!line.startsWith("{")) return;
      let rec: { msg?: string; event?: string; time?: string | number; url?: string; monitored?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        return;
      }
      const at = typeof rec.time === "number" ? rec.time : rec.time ? Date.parse(rec.time) : Date.now();
      if (rec.event === "session_open") this.sessionOpenAt ??= at;
      if (rec.event === "items_created") {
        this.createdAt ??= at;
        this.monitored = rec.monitored;
      }
      if (rec.event === "ops_listening" && rec.url) this.opsUrl = rec.url;
    });
  }

  static start(mappingFile: string, profileDir?: string): ConnectorProc {
    // The inspector only to force a full GC when the live heap is measured (idle otherwise).
    // The connector runs with the V8 flags the image gives `run` (shippedNodeOptions), so the bench
    // measures the product as deployed; BENCH_NODE_ARGS replaces them (e.g. to compare heap settings,
    // BENCH_NODE_ARGS=" " for none).
    const extra = (process.env.BENCH_NODE_ARGS ?? shippedNodeOptions("run")).split(" ").filter(Boolean);
    const nodeArgs = ["--inspect=127.0.0.1:0", ...extra, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
    const spawnedAt = Date.now();
    const child = spawnNode("connector", CLI, ["run", "--config", mappingFile, "--log-level", "info"], { nodeArgs, cwd: ROOT });
    return new ConnectorProc(child, spawnedAt);
  }

  async created(timeoutMs: number): Promise<void> {
    await this.child.waitForLine(/"event":"items_created"/, timeoutMs, "event items_created");
    await sleep(50); // the line listener above ran; the ops line came before it
  }

  /** JS heap in use after a full garbage collection, MB; NaN when the inspector is not reachable. */
  async liveHeapMb(): Promise<number> {
    if (!this.inspectorUrl) return Number.NaN;
    const session = await InspectorSession.connect(this.inspectorUrl).catch(() => undefined);
    if (!session) return Number.NaN;
    try {
      return await session.liveHeapMb();
    } catch {
      return Number.NaN;
    } finally {
      session.close();
    }
  }

  /** Prometheus text of the ops endpoint, as name → value (label-less series, or the first one). */
  async metrics(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (!this.opsUrl) return out;
    const res = await fetch(`${this.opsUrl}/metrics`);
    for (const line of (await res.text()).split("\n")) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
      if (m && !out.has(m[1]!)) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }
}

/**
 * NODE_OPTIONS the container image gives `command`: its entry point script itself, run from a scratch
 * folder with the Dockerfile's NODE_OPTIONS and a main.js that prints what node got ("" for none).
 */
export function shippedNodeOptions(command: "run" | "backfill"): string {
  const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const image = /^ENV NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1]?.replace(/^"|"$/g, "").trim();
  const dir = mkdtempSync(join(benchTmp(), "entrypoint-"));
  try {
    mkdirSync(join(dir, "dist", "cli"), { recursive: true });
    copyFileSync(join(ROOT, "deploy", "docker", "entrypoint.sh"), join(dir, "entrypoint.sh"));
    writeFileSync(join(dir, "dist", "cli", "main.js"), "process.stdout.write(process.env.NODE_OPTIONS ?? '');\n");
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}` };
    if (image === undefined) delete env.NODE_OPTIONS;
    else env.NODE_OPTIONS = image;
    const r = spawnSync("/bin/sh", [join(dir, "entrypoint.sh"), command], { env, encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`the image's entry point failed for ${command}: ${r.stderr || r.error?.message}`);
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mappingYaml(o: {
  server: ServerProc; emulator: EmulatorProc; stateDir: string; items: number; maxDelay: string; retryMaxDelay: string; concurrency?: number;
}): string {
  const points: string[] = [];
  for (let i = 0; i < o.items; i++) points.push(`  - { nodeId: "nsu=${o.server.namespaceUri};s=v${i}", pointId: p${i} }`);
  return `# Generated by npm run bench
opcua:
  endpoint: ${o.server.endpoint}
  publishingInterval: ${PUBLISHING_INTERVAL_MS}ms
ingest:
  baseUrl: ${o.emulator.baseUrl}
  tokenUrl: ${o.emulator.url}/oauth/token
  partitionId: bench
  clientId: demo-client
  clientSecret: demo-secret
  retryMaxDelay: ${o.retryMaxDelay}${o.concurrency ? `\n  concurrency: ${o.concurrency}` : ""}
batch:
  maxValues: 100
  maxDelay: ${o.maxDelay}
state: ${o.stateDir}
ops:
  listen: 127.0.0.1:0
defaults:
  samplingInterval: 0
  queueSize: ${QUEUE_SIZE}
points:
${points.join("\n")}
`;
}

// --- measuring ----------------------------------------------------------------------------------

/** A reading and when it was taken: each quantity has its own time, so a slow answer does not skew a rate. */
interface Reading {
  v: number;
  t: number;
}

interface Snapshot {
  /** When the snapshot was complete. */
  t: number;
  connectorCpuUs: Reading;
  serverCpuUs: Reading;
  emulatorCpuUs: Reading;
  produced: Reading;
  /** Values the API received (stored + conflicts), over every emulator instance of the scenario. */
  delivered: Reading;
  requests: number;
  conflicts: number;
  buckets: LatencyBuckets;
  /** The connector's own count of notifications (its metrics), when it answered. */
  received: Reading | undefined;
  /** The connector's metrics (its event-loop delay figures cover the time since the previous scrape). */
  metrics: Map<string, number> | undefined;
}

/** Runs fn and stamps its result with the midpoint of the call. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; t: number }> {
  const t0 = Date.now();
  const value = await fn();
  return { value, t: (t0 + Date.now()) / 2 };
}

/** One scenario's processes, and the bookkeeping that outlives an emulator restart. */
class Stack {
  readonly dir = mkdtempSync(join(benchTmp(), "stack-"));
  server!: ServerProc;
  emulator: EmulatorProc | undefined;
  connector: ConnectorProc | undefined;
  /** Values received by emulator instances already stopped. */
  deliveredBefore = 0;
  conflictsBefore = 0;
  bucketsBefore: LatencyBuckets = [];

  requestsBefore = 0;

  async delivered(): Promise<{ delivered: number; conflicts: number; requests: number; buckets: LatencyBuckets }> {
    const s = await this.emulator!.stats();
    return {
      delivered: this.deliveredBefore + s.valuesStored + s.conflicts,
      requests: this.requestsBefore + s.requests,
      conflicts: this.conflictsBefore + s.conflicts,
      buckets: mergeBuckets(this.bucketsBefore, s.valueLatency.buckets),
    };
  }

  async snapshot(): Promise<Snapshot> {
    const cpu = (c: Child | undefined): Reading => ({ v: c?.running ? cpuMicros(c.pid) : Number.NaN, t: Date.now() });
    const connectorCpuUs = cpu(this.connector?.child);
    const serverCpuUs = cpu(this.server.child);
    const emulatorCpuUs = cpu(this.emulator?.child);
    const [d, produced, metrics] = await Promise.all([
      timed(() => this.delivered()),
      this.server.stats(),
      timed(async () => this.connector?.metrics().catch(() => undefined)),
    ]);
    const received = metrics.value?.get("opcua_ingest_values_received_total");
    return {
      t: Date.now(),
      connectorCpuUs, serverCpuUs, emulatorCpuUs,
      produced: { v: produced.produced, t: produced.now },
      delivered: { v: d.value.delivered, t: d.t },
      requests: d.value.requests,
      conflicts: d.value.conflicts,
      buckets: d.value.buckets,
      received: received === undefined ? undefined : { v: received, t: metrics.t },
      metrics: metrics.value,
    };
  }

  /** The API goes down: first every values POST is refused (nothing stored after the count below), then the process stops. */
  async stopEmulator(): Promise<void> {
    const res = await fetch(`${this.emulator!.url}/_emulator/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ status: 503, count: 1e12 }) });
    if (res.status !== 204) throw new Error(`emulator refused the fault: HTTP ${res.status}`);
    const d = await this.delivered();
    this.deliveredBefore = d.delivered;
    this.requestsBefore = d.requests;
    this.conflictsBefore = d.conflicts;
    this.bucketsBefore = d.buckets;
    await this.emulator!.child.stop(10_000);
  }

  async close(): Promise<void> {
    await this.connector?.child.stop(20_000);
    await this.emulator?.child.stop(10_000);
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function mergeBuckets(a: LatencyBuckets, b: LatencyBuckets): LatencyBuckets {
  if (a.length === 0) return b;
  const m = new Map(a);
  for (const [k, n] of b) m.set(k, (m.get(k) ?? 0) + n);
  return [...m].sort((x, y) => x[0] - y[0]);
}

interface Window {
  seconds: number;
  /** The emulator's counts over the window: values POSTs, values in them, and the span they were counted over. */
  requests: number;
  values: number;
  deliveredSeconds: number;
  /** The values CPU per value is divided by: received by the connector (its counter), else produced, per second. */
  cpuValuesPerS: number;
  producedPerS: number;
  deliveredPerS: number;
  receivedPerS: number | undefined;
  requestsPerS: number;
  valuesPerRequest: number;
  cpuUsPerValue: number;
  connectorCorePct: number;
  serverCorePct: number;
  emulatorCorePct: number;
  p50: number | null;
  p99: number | null;
  conflicts: number;
  /** The connector's event-loop delay over the window (monitorEventLoopDelay via its /metrics), ms. */
  loopDelayP99Ms: number | undefined;
  loopDelayMaxMs: number | undefined;
  heapUsedMb: number | undefined;
}

const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);
const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 1048576);

/** Per second between two readings. */
const rate = (a: Reading, b: Reading) => ((b.v - a.v) * 1000) / (b.t - a.t);

function windowOf(a: Snapshot, b: Snapshot): Window {
  const buckets = bucketsBetween(a.buckets, b.buckets);
  const producedPerS = rate(a.produced, b.produced);
  const receivedPerS = a.received && b.received ? rate(a.received, b.received) : undefined;
  const requests = b.requests - a.requests;
  // CPU per value the connector handled: notifications it received (its own counter), else values produced.
  const perValue = receivedPerS && receivedPerS > 0 ? receivedPerS : producedPerS;
  const corePct = (x: Reading, y: Reading) => rate(x, y) / 1e4;
  return {
    seconds: (b.produced.t - a.produced.t) / 1000,
    requests,
    values: b.delivered.v - a.delivered.v,
    deliveredSeconds: (b.delivered.t - a.delivered.t) / 1000,
    cpuValuesPerS: perValue,
    producedPerS,
    deliveredPerS: rate(a.delivered, b.delivered),
    receivedPerS,
    requestsPerS: (requests * 1000) / (b.delivered.t - a.delivered.t),
    valuesPerRequest: requests ? (b.delivered.v - a.delivered.v) / requests : Number.NaN,
    cpuUsPerValue: rate(a.connectorCpuUs, b.connectorCpuUs) / perValue,
    connectorCorePct: corePct(a.connectorCpuUs, b.connectorCpuUs),
    serverCorePct: corePct(a.serverCpuUs, b.serverCpuUs),
    emulatorCorePct: corePct(a.emulatorCpuUs, b.emulatorCpuUs),
    p50: percentileMs(buckets, 0.5),
    p99: percentileMs(buckets, 0.99),
    conflicts: b.conflicts - a.conflicts,
    loopDelayP99Ms: ms(b.metrics?.get("opcua_ingest_nodejs_eventloop_lag_p99_seconds")),
    loopDelayMaxMs: ms(b.metrics?.get("opcua_ingest_nodejs_eventloop_lag_max_seconds")),
    heapUsedMb: mb(b.metrics?.get("opcua_ingest_nodejs_heap_size_used_bytes")),
  };
}

/** Polls until the API received `expected` values or timeoutMs passed; the values still missing. */
async function waitDelivered(stack: Stack, expected: number, timeoutMs: number): Promise<{ missing: number; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const { delivered } = await stack.delivered();
    if (delivered >= expected || Date.now() - t0 > timeoutMs) return { missing: Math.max(0, expected - delivered), ms: Date.now() - t0 };
    await sleep(250);
  }
}

/** Starts server (with `items` variables), emulator and connector; resolves once every item is monitored. */
async function startStack(stack: Stack, o: { name: string; items: number; maxDelay: string; retryMaxDelay: string; concurrency?: number; profileDir?: string; createdTimeoutMs: number }) {
  stack.server = await ServerProc.start();
  const setup = await stack.server.setup(o.items);
  log(`${o.name}: server has ${setup.created.toLocaleString("en-US")} variables (${(setup.ms / 1000).toFixed(1)} s)`);
  stack.emulator = await EmulatorProc.start();
  const file = join(stack.dir, "mapping.yaml");
  const stateDir = join(stack.dir, "state");
  mkdirSync(stateDir);
  writeFileSync(file, mappingYaml({ server: stack.server, emulator: stack.emulator, stateDir, items: o.items, maxDelay: o.maxDelay, retryMaxDelay: o.retryMaxDelay, concurrency: o.concurrency }));
  const connector = ConnectorProc.start(file, o.profileDir);
  stack.connector = connector;
  const rss = new RssSampler(connector.child.pid);
  await connector.created(o.createdTimeoutMs);
  const createdS = (connector.createdAt! - connector.spawnedAt) / 1000;
  const sessionToCreatedS = connector.sessionOpenAt ? (connector.createdAt! - connector.sessionOpenAt) / 1000 : Number.NaN;
  log(`${o.name}: connector monitors ${connector.monitored?.toLocaleString("en-US")} items, ${createdS.toFixed(1)} s after it was started (${sessionToCreatedS.toFixed(1)} s after the session opened)`);
  if (connector.monitored !== o.items) throw new Error(`${o.name}: connector monitors ${connector.monitored} of ${o.items} items\n${connector.child.lastLines()}`);
  // Every item's initial value reaches the API before production starts.
  const initial = await waitDelivered(stack, o.items, Math.max(60_000, o.items));
  const initialS = (Date.now() - connector.spawnedAt) / 1000;
  log(`${o.name}: initial values delivered ${initialS.toFixed(1)} s after start${initial.missing ? ` (${initial.missing} missing)` : ""}`);
  return { rss, mappingFile: file, createdS, sessionToCreatedS, initialS, initialMissing: initial.missing, serverSetupS: setup.ms / 1000 };
}

/** Stops the connector and, when profiling, returns the summaries of its start-up and its steady window. */
async function stopConnector(stack: Stack, windowStart: number, windowEnd: number, profileDir: string | undefined, name: string): Promise<{ startup: ProfileSummary; steady: ProfileSummary } | undefined> {
  const code = await stack.connector!.child.stop(30_000);
  const exitAt = Date.now();
  if (code !== 0) log(`${name}: the connector exited with ${code}\n${stack.connector!.child.lastLines()}`);
  if (!profileDir) return undefined;
  const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) {
    log(`${name}: no .cpuprofile written`);
    return undefined;
  }
  const results = join(ROOT, "bench", "results");
  mkdirSync(results, { recursive: true });
  const kept = join(results, `connector-${name}.cpuprofile`);
  copyFileSync(join(profileDir, file), kept); // /tmp may be another file system
  const c = stack.connector!;
  const startup = summarizeProfile(kept, ROOT, 25, [(exitAt - c.spawnedAt) * 1000, (exitAt - (c.createdAt ?? c.spawnedAt)) * 1000]);
  console.log(`\nCPU profile of the connector, ${name}, start-up: from the process start to "monitored items created" (${kept}):\n${formatProfile(startup)}\n`);
  const steady = summarizeProfile(kept, ROOT, 25, [(exitAt - windowStart) * 1000, (exitAt - windowEnd) * 1000]);
  console.log(`\nCPU profile of the connector, ${name}, steady window only:\n${formatProfile(steady)}\n`);
  return { startup, steady };
}

/** A bare node-opcua client on the same items while the server produces: CPU per notification and RSS. */
async function measureBare(stack: Stack, items: number, periodMs: number, windowS: number): Promise<{ usPerNotification: number; rssMb: number; rssPeakMb: number; setupS: number; notificationsPerS: number }> {
  const bare = spawnNode("bare", BARE, [], { ipc: true });
  try {
    await bare.ready(60_000);
    const started = await bare.rpc<{ created: number; failed: number; setupMs: number }>({
      cmd: "start", endpoint: stack.server.endpoint, namespaceUri: stack.server.namespaceUri, items,
      publishingIntervalMs: PUBLISHING_INTERVAL_MS, samplingIntervalMs: 0, queueSize: QUEUE_SIZE,
    }, 300_000);
    if (started.failed) throw new Error(`bare client: ${started.failed} items failed`);
    const rss = new RssSampler(bare.pid);
    await stack.server.produce(periodMs);
    await sleep(3_000);
    const c0 = cpuMicros(bare.pid);
    const n0 = (await bare.rpc<{ notifications: number }>({ cmd: "count" })).notifications;
    const t0 = Date.now();
    await sleep(windowS * 1000);
    const c1 = cpuMicros(bare.pid);
    const n1 = (await bare.rpc<{ notifications: number }>({ cmd: "count" })).notifications;
    const t1 = Date.now();
    rss.stop();
    await stack.server.pause();
    await bare.rpc({ cmd: "stop" }, 15_000).catch(() => {});
    return { usPerNotification: (c1 - c0) / (n1 - n0), rssMb: rss.mean(t0, t1), rssPeakMb: rss.peak, setupS: started.setupMs / 1000, notificationsPerS: (n1 - n0) / ((t1 - t0) / 1000) };
  } finally {
    await bare.stop(5_000);
  }
}

export interface SendFloor {
  /**
   * CPU (user+sys) of the bare undici client for the window's requests, per value the connector received
   * in the window: the send part of the floor, on the same basis as the connector's CPU per value. Equal
   * to the CPU per value sent when the connector keeps up; when it falls behind (sends fewer values than
   * it receives), the connector's figure is diluted the same way and the two stay comparable.
   */
  usPerValue: number;
  /** CPU per value sent and per request. */
  usPerValueSent: number;
  usPerRequest: number;
  cpuUs: number;
  requests: number;
  values: number;
  valuesPerRequest: number;
  /** The connector's window it replayed: requests per second asked for and achieved. */
  targetRequestsPerS: number;
  requestsPerS: number;
  seconds: number;
  /** How late the most delayed request was released (ms) and how far the replay ran past its schedule (s). */
  lateMaxMs: number;
  behindAtEndS: number;
  concurrency: number;
  corePct: number;
  emulatorCorePct: number;
  rssPeakMb: number;
  bodyBytes: number;
}

/**
 * The send floor: procs/send replays the connector's window (the same number of values POSTs carrying the
 * same number of values, over the same time, as the emulator counted them) with prebuilt bodies, against
 * the same emulator, with the connector's ingest settings (concurrency, token, partition) from its mapping.
 */
async function measureSend(stack: Stack, mappingFile: string, w: Window, points: number): Promise<SendFloor> {
  const seconds = w.deliveredSeconds;
  const r = await replaySend(mappingFile, { requests: w.requests, values: w.values, seconds, points, tickMs: PUBLISHING_INTERVAL_MS }, {
    log, alsoCpu: () => cpuMicros(stack.emulator!.child.pid),
  });
  return {
    usPerValue: r.cpuUs / (seconds * w.cpuValuesPerS),
    usPerValueSent: r.cpuUs / r.values,
    usPerRequest: r.cpuUs / r.requests,
    cpuUs: r.cpuUs,
    requests: r.requests,
    values: r.values,
    valuesPerRequest: r.values / r.requests,
    targetRequestsPerS: w.requests / seconds,
    requestsPerS: r.requests / r.seconds,
    seconds: r.seconds,
    lateMaxMs: r.lateMaxMs,
    behindAtEndS: r.behindAtEnd,
    concurrency: r.concurrency,
    corePct: r.cpuUs / r.wallMs / 10,
    emulatorCorePct: r.alsoCpuUs / r.wallMs / 10,
    rssPeakMb: r.rssPeakMb,
    bodyBytes: r.bodyBytes,
  };
}

// --- scenarios ------------------------------------------------------------------------------------

export interface LiveSpec {
  name: string;
  items: number;
  /** Every item changes once per periodMs. */
  periodMs: number;
  maxDelayMs: number;
  windowS: number;
  warmupS: number;
  /** Measure the floor too: the bare node-opcua client (receive) and the bare undici client (send). */
  bare: boolean;
  /** node --cpu-prof on the connector (its CPU figures are then not comparable). */
  profile: boolean;
  /** ingest.concurrency of the mapping; the mapping's default (8) when absent. */
  concurrency?: number;
}

export interface ScenarioResult {
  rows: Row[];
  targets: Target[];
  details: Record<string, unknown>;
}

/**
 * live-10k, live-batch, live-100k: a steady window of the connector, then the floor: the bare node-opcua
 * client on the same items (receive), then the bare undici client replaying the window's requests (send).
 */
export async function live(spec: LiveSpec): Promise<ScenarioResult> {
  const stack = new Stack();
  const profileDir = spec.profile ? join(stack.dir, "profile") : undefined;
  if (profileDir) mkdirSync(profileDir);
  try {
    const start = await startStack(stack, { name: spec.name, items: spec.items, maxDelay: `${spec.maxDelayMs}ms`, retryMaxDelay: "5s", concurrency: spec.concurrency, profileDir, createdTimeoutMs: 180_000 });
    await stack.server.produce(spec.periodMs);
    await sleep(spec.warmupS * 1000);
    log(`${spec.name}: steady window of ${spec.windowS} s`);
    const a = await stack.snapshot();
    await sleep(spec.windowS * 1000);
    const b = await stack.snapshot();
    start.rss.stop();
    const w = windowOf(a, b);
    const serverStats = await stack.server.stats();
    const liveHeapMb = await stack.connector!.liveHeapMb();
    // Completeness: stop producing; everything produced must reach the API.
    const { produced } = await stack.server.pause();
    const done = await waitDelivered(stack, spec.items + produced, spec.maxDelayMs + 20_000);
    const profile = await stopConnector(stack, a.connectorCpuUs.t, b.connectorCpuUs.t, profileDir, spec.name);
    const bare = spec.bare ? await measureBare(stack, spec.items, spec.periodMs, spec.windowS) : undefined;
    const send = spec.bare ? await measureSend(stack, start.mappingFile, w, spec.items) : undefined;
    const rssPeak = start.rss.peak;
    const rssSteady = start.rss.mean(a.t, b.t);
    const row: Row = {
      scenario: spec.name + (spec.profile ? " (profiled)" : ""),
      items: spec.items,
      producedPerS: w.producedPerS,
      deliveredPerS: w.deliveredPerS,
      cpuUsPerValue: w.cpuUsPerValue,
      ...(bare && { bareUsPerValue: bare.usPerNotification, bareRssMb: bare.rssMb, bareRssPeakMb: bare.rssPeakMb }),
      ...(send && { sendUsPerValue: send.usPerValue }),
      rssPeakMb: rssPeak,
      rssSteadyMb: rssSteady,
      ...(w.p50 !== null && { latencyP50Ms: w.p50, latencyP99Ms: w.p99! }),
      note: [
        `items created ${start.createdS.toFixed(1)} s`,
        done.missing ? `${done.missing.toLocaleString("en-US")} not delivered` : "all delivered",
        `${Math.round(w.requestsPerS).toLocaleString("en-US")} requests/s of ${w.valuesPerRequest.toFixed(1)} values`,
        ...(w.values < 0.95 * w.cpuValuesPerS * w.deliveredSeconds ? [`NOT STEADY: sent ${Math.round((100 * w.values) / (w.cpuValuesPerS * w.deliveredSeconds))}% of the values received in the window`] : []),
        ...(send ? [`send floor ${send.usPerRequest.toFixed(1)} µs/request, ${send.usPerValueSent.toFixed(2)} µs/value sent, replayed at ${Math.round(send.requestsPerS).toLocaleString("en-US")}/s${send.behindAtEndS > 1 ? ` (${send.behindAtEndS.toFixed(1)} s behind schedule)` : ""}`] : []),
        `heap ${w.heapUsedMb?.toFixed(0) ?? "?"} MB (${liveHeapMb.toFixed(0)} MB live after a full GC)`,
        `event-loop delay p99 ${w.loopDelayP99Ms?.toFixed(0) ?? "?"} ms`,
        `CPU % of a core: connector ${Math.round(w.connectorCorePct)}, server ${Math.round(w.serverCorePct)}, emulator ${Math.round(w.emulatorCorePct)}${send ? ` (${Math.round(send.emulatorCorePct)} under the send floor)` : ""}`,
      ].join("; "),
    };
    const details = {
      spec, window: w, liveHeapMb, server: serverStats, latencyBuckets: bucketsBetween(a.buckets, b.buckets), start: { ...start, rss: undefined }, missingAfterPause: done.missing, drainAfterPauseMs: done.ms,
      bare, send, profile,
    };
    return { rows: [row], targets: liveTargets(spec, row, w, done.missing, start.createdS), details };
  } finally {
    await stack.close();
  }
}

const us = (n: number) => `${n.toFixed(2)} µs`;

/** The targets of issue 12, part 3; null (n/a) when the floor was not measured (--profile) or the figure is missing. */
function liveTargets(spec: LiveSpec, row: Row, w: Window, missing: number, createdS: number): Target[] {
  const n = spec.name;
  const t: Target[] = [];
  const cpu = row.cpuUsPerValue!;
  const recv = row.bareUsPerValue;
  const floor = recv !== undefined && row.sendUsPerValue !== undefined ? recv + row.sendUsPerValue : undefined;
  const unprofiled = (met: boolean | undefined) => (met === undefined || spec.profile ? null : met);
  const rssOverBare = (mb: number) => {
    const base = row.bareRssPeakMb;
    t.push({
      scenario: n,
      target: `RSS <= bare client RSS + ${mb} MB (peaks, VmHWM)`,
      measured: base === undefined ? `peak ${Math.round(row.rssPeakMb!)} MB, no bare run` : `peak ${Math.round(row.rssPeakMb!)} MB vs ${Math.round(base)} + ${mb} = ${Math.round(base + mb)} MB (bare +${Math.round(row.rssPeakMb! - base)} MB; steady ${Math.round(row.rssSteadyMb!)} vs ${Math.round(row.bareRssMb!)} MB)`,
      met: base === undefined ? null : row.rssPeakMb! <= base + mb,
    });
  };
  if (n === "live-10k") {
    const kept = w.deliveredPerS >= 0.99 * w.producedPerS && missing === 0;
    t.push({ scenario: n, target: "delivered = produced", measured: `${Math.round(w.deliveredPerS)}/s of ${Math.round(w.producedPerS)}/s in the window, ${missing} missing after it`, met: kept });
    t.push({
      scenario: n,
      target: "CPU/value <= 1.5x the floor (bare receive + bare send)",
      measured: floor === undefined ? "no floor run" : `${us(cpu)} vs ${us(recv!)} + ${us(row.sendUsPerValue!)} = ${us(floor)}: ${(cpu / floor).toFixed(2)}x`,
      met: unprofiled(floor === undefined ? undefined : cpu <= 1.5 * floor),
    });
    const limit = spec.maxDelayMs + 250;
    t.push({ scenario: n, target: `p99 latency <= maxDelay + 250 ms = ${limit} ms`, measured: w.p99 === null ? "none" : `${w.p99} ms`, met: w.p99 === null ? null : w.p99 <= limit });
    rssOverBare(60);
  }
  if (n === "live-batch") {
    t.push({
      scenario: n,
      target: "CPU/value <= 2x the bare receive alone",
      measured: recv === undefined ? "no bare run" : `${us(cpu)} vs ${us(recv)}: ${(cpu / recv).toFixed(2)}x (${w.valuesPerRequest.toFixed(1)} values/request)`,
      met: unprofiled(recv === undefined ? undefined : cpu <= 2 * recv),
    });
  }
  if (n === "live-100k") {
    t.push({ scenario: n, target: "all items created <= 30 s", measured: `${createdS.toFixed(1)} s from process start`, met: createdS <= 30 });
    rssOverBare(150);
  }
  return t;
}

export interface OutageSpec {
  name: string;
  items: number;
  periodMs: number;
  maxDelayMs: number;
  warmupS: number;
  /** Live window before the outage: the live rate and backlog. */
  windowS: number;
  outageS: number;
  /** Give up waiting for the drain after this long. */
  drainTimeoutS: number;
  concurrency?: number;
  /** node --cpu-prof on the connector; the summary is of the drain. */
  profile?: boolean;
}

/** Least-squares slope of y over t (per second), times `seconds`: growth over that span, robust to GC saw-teeth. */
function growth(samples: { t: number; v: number }[], seconds: number): number {
  if (samples.length < 2) return Number.NaN;
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mv = samples.reduce((a, s) => a + s.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.v - mv);
    den += (s.t - mt) ** 2;
  }
  return den ? (num / den) * 1000 * seconds : Number.NaN;
}

/** outage-drain: the API is down for outageS at a steady live rate, then comes back; time and rate of the drain. */
export async function outageDrain(spec: OutageSpec): Promise<ScenarioResult> {
  const stack = new Stack();
  try {
    const profileDir = spec.profile ? join(stack.dir, "profile") : undefined;
    if (profileDir) mkdirSync(profileDir);
    const start = await startStack(stack, { name: spec.name, items: spec.items, maxDelay: `${spec.maxDelayMs}ms`, retryMaxDelay: "5s", concurrency: spec.concurrency, profileDir, createdTimeoutMs: 180_000 });
    await stack.server.produce(spec.periodMs);
    await sleep(spec.warmupS * 1000);
    const a = await stack.snapshot();
    await sleep(spec.windowS * 1000);
    const b = await stack.snapshot();
    const w = windowOf(a, b);
    const liveRate = w.producedPerS;
    const backlogBefore = spec.items + b.produced.v - b.delivered.v;

    const port = stack.emulator!.port;
    await stack.stopEmulator();
    const downAt = Date.now();
    log(`${spec.name}: API down for ${spec.outageS} s (emulator stopped)`);
    const heap: { t: number; v: number }[] = [];
    const spoolRows: { t: number; v: number }[] = [];
    // The live heap (after a full GC) at the start of the last 30 s of the outage and at its end.
    const endAt = downAt + spec.outageS * 1000;
    const firstGcAt = Math.max(downAt + 1_000, endAt - 30_000);
    let liveHeapFrom: { t: number; v: number } | undefined;
    while (Date.now() < endAt) {
      if (!liveHeapFrom && Date.now() >= firstGcAt) liveHeapFrom = { t: Date.now(), v: await stack.connector!.liveHeapMb() };
      const m = await stack.connector!.metrics().catch(() => undefined);
      const t = Date.now();
      const used = m?.get("opcua_ingest_nodejs_heap_size_used_bytes");
      if (used !== undefined) heap.push({ t, v: used / 1048576 });
      const rows = m?.get("opcua_ingest_spool_rows");
      if (rows !== undefined) spoolRows.push({ t, v: rows });
      await sleep(Math.min(1_000, Math.max(0, endAt - Date.now())));
    }
    const liveHeapTo = { t: Date.now(), v: await stack.connector!.liveHeapMb() };
    const liveHeapGrowth = liveHeapFrom ? liveHeapTo.v - liveHeapFrom.v : Number.NaN;
    stack.emulator = await EmulatorProc.start(port);
    const upAt = Date.now();
    const rssOutage = start.rss.samples.filter((s) => s.t >= downAt && s.t <= upAt).map((s) => ({ t: s.t, v: s.rss }));
    const last30 = (xs: { t: number; v: number }[]) => xs.filter((s) => s.t >= upAt - 30_000);
    const produced0 = (await stack.server.stats()).produced;
    const backlogAtUp = spec.items + produced0 - stack.deliveredBefore;
    log(`${spec.name}: API back; backlog ${backlogAtUp.toLocaleString("en-US")} values`);

    // Drained: the backlog is back to what it was in the live window (values waiting for their maxDelay).
    const threshold = Math.max(backlogBefore * 1.5, liveRate * (spec.maxDelayMs / 1000 + 1));
    let firstDeliveryAt: number | undefined;
    let deliveredAtFirst = stack.deliveredBefore;
    let requestsAtFirst = 0;
    let requestsAtDrained = 0;
    let drainedAt: number | undefined;
    let deliveredAtDrained = 0;
    let peakBacklog = backlogAtUp;
    while (Date.now() - upAt < spec.drainTimeoutS * 1000) {
      const [{ delivered, requests }, { produced }] = await Promise.all([stack.delivered(), stack.server.stats()]);
      const now = Date.now();
      if (firstDeliveryAt === undefined && delivered > stack.deliveredBefore) {
        firstDeliveryAt = now;
        deliveredAtFirst = delivered;
        requestsAtFirst = requests;
      }
      const backlog = spec.items + produced - delivered;
      peakBacklog = Math.max(peakBacklog, backlog);
      if (firstDeliveryAt !== undefined && backlog <= threshold) {
        drainedAt = now;
        deliveredAtDrained = delivered;
        requestsAtDrained = requests;
        break;
      }
      await sleep(250);
    }
    start.rss.stop();
    const drainS = drainedAt ? (drainedAt - upAt) / 1000 : Number.NaN;
    const drainRate = drainedAt && firstDeliveryAt ? (deliveredAtDrained - deliveredAtFirst) / ((drainedAt - firstDeliveryAt) / 1000) : Number.NaN;
    const drainRequests = requestsAtDrained - requestsAtFirst;
    const rssGrowth = growth(last30(rssOutage), 30);
    const heapGrowth = growth(last30(heap), 30);
    const { produced } = await stack.server.pause();
    const done = await waitDelivered(stack, spec.items + produced, spec.maxDelayMs + 30_000);
    await stopConnector(stack, firstDeliveryAt ?? upAt, drainedAt ?? Date.now(), profileDir, spec.name);
    const rssDuring = rssOutage.map((s) => s.v);
    const row: Row = {
      scenario: spec.name,
      items: spec.items,
      producedPerS: liveRate,
      deliveredPerS: drainRate,
      cpuUsPerValue: w.cpuUsPerValue,
      rssPeakMb: start.rss.peak,
      rssSteadyMb: start.rss.mean(a.t, b.t),
      ...(w.p50 !== null && { latencyP50Ms: w.p50, latencyP99Ms: w.p99! }),
      note: [
        `API down ${spec.outageS} s; delivered/s = drain rate`,
        `${backlogAtUp.toLocaleString("en-US")} values drained in ${drainS.toFixed(1)} s (${drainRequests.toLocaleString("en-US")} requests of ${((deliveredAtDrained - deliveredAtFirst) / drainRequests).toFixed(1)} values)`,
        `RSS ${Math.round(rssDuring[0] ?? Number.NaN)} -> ${Math.round(rssDuring[rssDuring.length - 1] ?? Number.NaN)} MB during the outage`,
        `last ${Math.round((liveHeapTo.t - (liveHeapFrom?.t ?? liveHeapTo.t)) / 1000)} s of it: live heap ${signed(liveHeapGrowth)} MB (${liveHeapTo.v.toFixed(0)} MB after a full GC), RSS ${signed(rssGrowth)} MB`,
        done.missing ? `${done.missing.toLocaleString("en-US")} not delivered` : "all delivered",
      ].join("; "),
    };
    const details = {
      spec, window: w, start: { ...start, rss: undefined }, backlogBefore, backlogAtUp, peakBacklog, drainS, drainRate,
      firstDeliveryAfterS: firstDeliveryAt ? (firstDeliveryAt - upAt) / 1000 : null, rssGrowthLast30sMb: rssGrowth, heapUsedGrowthLast30sMb: heapGrowth,
      liveHeapMb: { from: liveHeapFrom?.v, to: liveHeapTo.v, growth: liveHeapGrowth, seconds: liveHeapFrom ? (liveHeapTo.t - liveHeapFrom.t) / 1000 : null },
      rssDuringOutageMb: rssOutage.map((s) => round(s.v)), heapDuringOutageMb: heap.map((s) => round(s.v)), spoolRowsDuringOutage: spoolRows.map((s) => s.v),
      missingAfterPause: done.missing,
    };
    const flatLimit = 5;
    const targets: Target[] = [
      { scenario: spec.name, target: "drain rate >= 10x live rate", measured: `${Math.round(drainRate).toLocaleString("en-US")}/s = ${(drainRate / liveRate).toFixed(1)}x ${Math.round(liveRate).toLocaleString("en-US")}/s`, met: Number.isFinite(drainRate) ? drainRate >= 10 * liveRate : false },
      {
        scenario: spec.name,
        target: `heap flat: the live heap (after a full GC) grows < ${flatLimit} MB in the last 30 s of the outage`,
        measured: `${liveHeapFrom?.v.toFixed(1) ?? "?"} -> ${liveHeapTo.v.toFixed(1)} MB = ${signed(liveHeapGrowth)} MB; RSS ${signed(rssGrowth)} MB, heap used (with garbage) ${signed(heapGrowth)} MB`,
        met: Number.isFinite(liveHeapGrowth) ? liveHeapGrowth < flatLimit : null,
      },
    ];
    return { rows: [row], targets, details };
  } finally {
    await stack.close();
  }
}

const signed = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(1)}` : "?");
