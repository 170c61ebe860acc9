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
//     partitionId, concurrency, perRequest, highWater, format? }
//        connects, reads everything once (JIT warm, bodies built: Chunker), fetches the token;
//        answers { values, requests, bodyBytes, ms }
//   { cmd: "run" }   reads everything again and posts the bodies as their values arrive, at most
//        `concurrency` in flight; the reader waits while more than `highWater` values wait to be sent
//        (the connector's reader does the same); answers { requests, seconds, cpuUs, statuses }
//   { cmd: "stop" }
// With `format` the run builds the bodies from the values it reads (see Prepare.format).
import type { ClientSession, DataValue, NodeId } from "node-opcua";
import { Agent } from "undici";
import type { Value } from "../../src/core/types.js";
import { valuesBody } from "../../src/ingest/client.js";
import { qualityOf } from "../../src/transform/convert.js";
import { openReader, readHistory, type ReadPlan } from "../lib/history-read.js";
import { serveIpc } from "../lib/ipc-proc.js";
import { fetchToken, type IngestTarget } from "../lib/token.js";

interface Prepare extends IngestTarget {
  endpoint: string;
  nodeIds: string[];
  plan: ReadPlan;
  pki: string;
  concurrency: number;
  /** Values a request at most: the mapping's batch.maxValues. */
  perRequest: number;
  highWater: number;
  /**
   * Build each body during the run from the values read (String() of the value, the API's timestamp
   * text, valuesBody()) instead of before it: what the text alone costs a connector that does nothing
   * else. An experiment (BACKFILL_FLOOR_FORMAT=1), not the floor.
   */
  format?: boolean;
}

const JSONAPI = "application/vnd.api+json";
/** A run that has not finished after this long is an error, not a number. */
const DEADLINE_MS = 300_000;

/**
 * What a connector sends of each node's pages: the values before the window's end, the first of each
 * millisecond (the API keeps the first), Bad ones too (the bench mapping sends them), in bodies of up
 * to `perRequest` values. `full` gets each body's values and how many values of the node had been read
 * when it filled (what releases it in the run).
 */
class Chunker {
  private readonly pending: Value[][];
  private readonly lastMs: number[];
  private readonly read: number[];

  constructor(n: number, private readonly perRequest: number, private readonly full: (node: number, values: Value[], read: number) => void) {
    this.pending = Array.from({ length: n }, () => []);
    this.lastMs = new Array<number>(n).fill(Number.NaN);
    this.read = new Array<number>(n).fill(0);
  }

  /** Takes one page; answers how many of its values count (those before `end`). */
  page(node: number, dvs: readonly DataValue[], end: number): number {
    let k = 0;
    for (const dv of dvs) {
      const ms = dv.sourceTimestamp?.getTime() ?? 0;
      if (ms >= end) continue;
      k++;
      this.read[node]! += 1;
      if (ms === this.lastMs[node]) continue;
      this.lastMs[node] = ms;
      const p = this.pending[node]!;
      p.push({ ts: ms, value: String(dv.value.value), quality: qualityOf(dv.statusCode.value) });
      if (p.length === this.perRequest) this.close(node);
    }
    return k;
  }

  /** The rest of every node, once everything is read. */
  end(): void {
    for (let node = 0; node < this.pending.length; node++) if (this.pending[node]!.length) this.close(node);
  }

  private close(node: number): void {
    const values = this.pending[node]!;
    this.pending[node] = [];
    this.full(node, values, this.read[node]!);
  }
}

/** Values of a page before `end` (the server's endTime is inclusive). */
function before(dvs: readonly DataValue[], end: number): number {
  let k = 0;
  for (const dv of dvs) if ((dv.sourceTimestamp?.getTime() ?? 0) < end) k++;
  return k;
}

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
  bodies = Array.from({ length: n }, () => []);
  marks = Array.from({ length: n }, () => []);
  let values = 0;
  const chunker = new Chunker(n, o.perRequest, (node, chunk, read) => {
    // Flattened once (a rope of hundreds of pieces otherwise, kept for the whole run).
    bodies[node]!.push(Buffer.from(valuesBody(chunk, false)).toString());
    marks[node]!.push(read);
    values += chunk.length;
  });
  await readHistory(reader.session, reader.nodes, o.plan, (node, dvs, end) => void chunker.page(node, dvs, end));
  chunker.end();

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
  const statuses: Record<string, number> = {};
  let failed: Error | undefined;
  let room: (() => void) | undefined;
  let done: (() => void) | undefined;
  const allAnswered = new Promise<void>((r) => (done = r));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();

  // format: each body's values, its text built when it is sent (as the connector does: a body waiting
  // as text would be an old-generation rope of hundreds of pieces by then).
  const chunks: Value[][][] = Array.from({ length: n }, () => []);
  const chunker = o.format
    ? new Chunker(n, o.perRequest, (node, chunk) => {
        chunks[node]!.push(chunk);
        queue.push(node, chunks[node]!.length - 1);
      })
    : undefined;
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
    const k = chunker ? chunker.page(node, dvs, end) : before(dvs, end);
    read[node]! += k;
    waiting += k;
    const m = marks[node]!;
    if (!chunker) while (next[node]! < m.length && m[next[node]!]! <= read[node]!) queue.push(node, next[node]!++);
    launch();
    if (waiting > o.highWater && !failed) return new Promise<void>((r) => (room = r));
  }).then(() => {
    chunker?.end();
    launch();
  });
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`floor pipeline: ${answered} of ${total} requests answered after ${DEADLINE_MS / 1000} s`)), DEADLINE_MS).unref());
  return Promise.race([Promise.all([reading, allAnswered]), deadline]).then(() => {
    if (failed) throw failed;
    const cpu = process.cpuUsage(cpu0);
    return { requests: answered, seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system, statuses };
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
