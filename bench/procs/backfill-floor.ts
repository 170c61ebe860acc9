// The backfill's floor pipeline: what any node-opcua connector pays to move the history into the API,
// measured end to end on the same machine. A bare HistoryRead reader (bench/lib/history-read.ts, as the
// bare read) and a bare undici sender (as procs/send: an Agent with `concurrency` connections,
// `agent.request({ origin, path })`, the same headers) in one process, overlapping as a connector's
// reader and sender do; no conversion, no spool, no batching logic: the request bodies are built before
// the run from a first, unmeasured read (the JSON:API bodies of src/ingest/client.ts's valuesBody(), up
// to 100 values each, the first value of each millisecond, Bad ones too as the bench mapping sends
// them), and the run posts a point's next body once it has read the values that body carries.
// Its rate against the bare read is the most any connector reaches here, with the historian, the
// emulator and it sharing the cores; the connector's rate against it is what our code costs.
//
// Driven over IPC (answers { id, ... }):
//   { cmd: "prepare", endpoint, nodeIds, plan, pki, baseUrl, tokenUrl, clientId, clientSecret, audience,
//     partitionId, concurrency, highWater }
//        connects, reads everything once (JIT warm, bodies built), fetches the token;
//        answers { values, requests, bodyBytes, ms }
//   { cmd: "run" }   reads everything again and posts the bodies as their values arrive, at most
//        `concurrency` in flight; the reader waits while more than `highWater` values wait to be sent
//        (the connector's reader does the same); answers { values, requests, seconds, cpuUs, statuses }
//   { cmd: "stop" }
// With `format` the run builds the bodies from the values it reads (see Prepare.format).
import type { ClientSession, NodeId } from "node-opcua";
import { Agent } from "undici";
import type { Value } from "../../src/core/types.js";
import { valuesBody } from "../../src/ingest/client.js";
import { openReader, readHistory, type ReadPlan } from "../lib/history-read.js";
import { serveIpc } from "../lib/ipc-proc.js";
import { fetchToken, type IngestTarget } from "../lib/token.js";

interface Prepare extends IngestTarget {
  endpoint: string;
  nodeIds: string[];
  plan: ReadPlan;
  pki: string;
  concurrency: number;
  highWater: number;
  /**
   * Build each body during the run from the values read (String() of the value, the API's timestamp
   * text, valuesBody()) instead of before it: what the text alone costs a connector that does nothing
   * else. An experiment (BACKFILL_FLOOR_FORMAT=1), not the floor.
   */
  format?: boolean;
}

const JSONAPI = "application/vnd.api+json";
const PER_REQUEST = 100;
/** A run that has not finished after this long is an error, not a number. */
const DEADLINE_MS = 300_000;

let reader: { session: ClientSession; nodes: NodeId[]; close: () => Promise<void> } | undefined;
let agent: Agent | undefined;
let origin = "";
let token = "";
let prep: Prepare | undefined;
/** Per node: its request path, its bodies in order and, for each, how many values read release it. */
let paths: string[] = [];
let bodies: string[][] = [];
let marks: number[][] = [];

async function prepare(o: Prepare): Promise<Record<string, unknown>> {
  const t0 = performance.now();
  prep = o;
  reader = await openReader(o.endpoint, o.nodeIds, o.pki);
  const n = reader.nodes.length;
  const pending: { ts: number; value: string; quality: 0 | 1 | 2 }[][] = Array.from({ length: n }, () => []);
  const lastMs = new Array<number>(n).fill(Number.NaN);
  const read = new Array<number>(n).fill(0);
  bodies = Array.from({ length: n }, () => []);
  marks = Array.from({ length: n }, () => []);
  let values = 0;
  const flush = (node: number) => {
    // Flattened once (a rope of hundreds of pieces otherwise, kept for the whole run).
    bodies[node]!.push(Buffer.from(valuesBody(pending[node]!, false)).toString());
    marks[node]!.push(read[node]!);
    pending[node] = [];
  };
  await readHistory(reader.session, reader.nodes, o.plan, (node, dvs, end) => {
    for (const dv of dvs) {
      const ms = dv.sourceTimestamp?.getTime() ?? 0;
      if (ms >= end) continue;
      read[node]! += 1;
      if (ms === lastMs[node]) continue; // the API keeps the first value of a millisecond
      lastMs[node] = ms;
      const severity = dv.statusCode.value >>> 30;
      pending[node]!.push({ ts: ms, value: String(dv.value.value), quality: severity === 0 ? 0 : severity === 1 ? 1 : 2 });
      values += 1;
      if (pending[node]!.length === PER_REQUEST) flush(node);
    }
  });
  for (let node = 0; node < n; node++) if (pending[node]!.length) flush(node);

  agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 30_000, pipelining: 1 });
  token = await fetchToken(agent, o);
  const base = new URL(o.baseUrl);
  origin = base.origin;
  const prefix = `${base.pathname.replace(/\/+$/, "")}/partitions/${encodeURIComponent(o.partitionId)}/points/`;
  // Point ids of their own: nothing the connector or the send floor stored is touched, no conflicts.
  paths = Array.from({ length: n }, (_, i) => `${prefix}${encodeURIComponent(`pipe-p${i}`)}/values`);
  let requests = 0;
  let bodyBytes = 0;
  for (const b of bodies) for (const x of b) (requests += 1), (bodyBytes += x.length);
  return { values, requests, bodyBytes, ms: performance.now() - t0 };
}

function run(): Promise<Record<string, unknown>> {
  const o = prep!;
  const { session, nodes } = reader!;
  const n = nodes.length;
  const headers = { accept: JSONAPI, "content-type": JSONAPI, authorization: `Bearer ${token}` };
  const read = new Array<number>(n).fill(0);
  const next = new Array<number>(n).fill(0);
  const queue: number[] = []; // node, body index, node, body index …
  let head = 0;
  let waiting = 0; // values read, not yet answered
  let inflight = 0;
  let total = 0;
  for (const b of bodies) total += b.length;
  let answered = 0;
  let values = 0;
  const statuses: Record<string, number> = {};
  let failed: Error | undefined;
  let room: (() => void) | undefined;
  let done: (() => void) | undefined;
  const allAnswered = new Promise<void>((r) => (done = r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  // format: the values read and not yet in a body, per node, and the last millisecond of each.
  const pending: Value[][] = Array.from({ length: n }, () => []);
  const lastMs = new Array<number>(n).fill(Number.NaN);
  // Each body's values, its text built when it is sent (as the connector does: a body waiting as text
  // would be an old-generation rope of hundreds of pieces by then).
  const chunks: Value[][][] = Array.from({ length: n }, () => []);
  const queueChunk = (node: number) => {
    chunks[node]!.push(pending[node]!);
    pending[node] = [];
    queue.push(node, chunks[node]!.length - 1);
  };
  const launch = () => {
    while (inflight < o.concurrency && head < queue.length && !failed) {
      const node = queue[head++]!;
      const j = queue[head++]!;
      const carried = marks[node]![j]! - (j ? marks[node]![j - 1]! : 0);
      inflight += 1;
      let body = bodies[node]![j]!;
      if (o.format) {
        body = valuesBody(chunks[node]![j]!, false);
        chunks[node]![j] = [];
      }
      agent!.request({ origin, path: paths[node]!, method: "POST", headers, body, headersTimeout: 30_000, bodyTimeout: 30_000 })
        .then(async (res) => {
          await res.body.text();
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.statusCode !== 204) failed ??= new Error(`floor pipeline: HTTP ${res.statusCode} for a request of node ${node}`);
        }, (err: Error) => {
          failed ??= err;
        })
        .finally(() => {
          inflight -= 1;
          answered += 1;
          waiting -= carried;
          if ((waiting <= o.highWater || failed) && room) {
            const r = room;
            room = undefined;
            r();
          }
          if (answered === total || failed) done!();
          else launch();
        });
    }
    if (head === queue.length && head > 0) {
      queue.length = 0;
      head = 0;
    }
  };

  const reading = readHistory(session, nodes, o.plan, (node, dvs, end) => {
    let k = 0;
    if (o.format) {
      for (const dv of dvs) {
        const ms = dv.sourceTimestamp?.getTime() ?? 0;
        if (ms >= end) continue;
        k++;
        if (ms === lastMs[node]) continue;
        lastMs[node] = ms;
        const severity = dv.statusCode.value >>> 30;
        const p = pending[node]!;
        p.push({ ts: ms, value: String(dv.value.value), quality: severity === 0 ? 0 : severity === 1 ? 1 : 2 });
        if (p.length === PER_REQUEST) queueChunk(node);
      }
    } else {
      for (const dv of dvs) if ((dv.sourceTimestamp?.getTime() ?? 0) < end) k++;
    }
    read[node]! += k;
    waiting += k;
    values += k;
    const m = marks[node]!;
    if (!o.format) while (next[node]! < m.length && m[next[node]!]! <= read[node]!) queue.push(node, next[node]!++);
    launch();
    if (waiting > o.highWater && !failed) return new Promise<void>((r) => (room = r));
  }).then(() => {
    if (!o.format) return;
    for (let node = 0; node < n; node++) if (pending[node]!.length) queueChunk(node);
    launch();
  });
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`floor pipeline: ${answered} of ${total} requests answered after ${DEADLINE_MS / 1000} s`)), DEADLINE_MS).unref());
  return Promise.race([Promise.all([reading, allAnswered]), deadline]).then(() => {
    if (failed) throw failed;
    const cpu = process.cpuUsage(cpu0);
    return { values, requests: answered, seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system, statuses };
  });
}

serveIpc(
  {
    prepare: (msg) => prepare(msg as unknown as Prepare),
    run: () => {
      if (!prep) throw new Error("not prepared");
      return run();
    },
  },
  () => Promise.all([reader?.close(), agent?.close()]),
);
