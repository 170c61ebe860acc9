// The send floor: a bare undici client in a process of its own that replays the connector's request
// mix against the same API emulator, with prebuilt bodies and nothing else (no spool, no scheduler, no
// conversion). What it costs per value is the least any connector pays to hand values to undici and
// read the answers, as procs/bare.ts is the least it pays to receive them from node-opcua.
//
// Same as the connector (src/ingest/client.ts): an undici Agent with `connections` = ingest.concurrency,
// keepAliveTimeout 30 s, pipelining 1; `agent.request({ origin, path })` POSTs of the JSON:API body built by valuesBody(), with
// the same accept / content-type / authorization headers; the answer body read as text. The token is
// fetched once, before anything is measured.
//
// Driven over IPC (answers { id, ... }):
//   { cmd: "prepare", baseUrl, tokenUrl, clientId, clientSecret, audience, partitionId, points,
//     concurrency, requests, values, seconds, warmupS, tickMs }
//        builds every body up front: `requests` requests carrying `values` values in all (sizes the two
//        whole numbers around values/requests, interleaved evenly, so count and total are exact), spread
//        round-robin over `points` point ids, each point's timestamps increasing (no conflicts); plus a
//        warm-up set of the same mix (at least 2,000 requests, sent within warmupS)
//   { cmd: "warmup" }  sends the warm-up set, paced      { cmd: "run" }  sends the measured set, paced
//        both: `requests / seconds` requests per second, what is due released once per `tickMs` (the
//        harness passes the publishing interval: a connector has new values once per publish, so it
//        need not wake more often; a 5 ms tick costs this process ~1.6x more CPU per request at 330
//        requests/s on a busy 2-core VM) and whenever an answer frees one of the `concurrency` slots;
//        answers { requests, values, seconds, statuses, lateMaxMs, behindAtEnd }
//   { cmd: "stop" }
import { Agent } from "undici";
import { valuesBody } from "../../src/ingest/client.js";
import { serveIpc } from "../lib/ipc-proc.js";
import { fetchToken, type IngestTarget } from "../lib/token.js";

interface Prepare extends IngestTarget {
  points: number;
  concurrency: number;
  requests: number;
  values: number;
  seconds: number;
  warmupS: number;
  /** Due requests are released once per tickMs (and whenever an answer frees a slot). */
  tickMs: number;
}

interface Work {
  urls: string[];
  bodies: string[];
  values: number;
  ratePerS: number;
}

const JSONAPI = "application/vnd.api+json";
/** A replay that falls this far behind its schedule (or never finishes) is an error, not a number. */
const SLACK_S = 60;

let agent: Agent | undefined;
let origin = "";
let token = "";
let warm: Work | undefined;
let measured: Work | undefined;

function build(o: Prepare, requests: number, values: number, nextTs: number[], pointUrls: string[]): Work {
  const urls: string[] = new Array(requests);
  const bodies: string[] = new Array(requests);
  const base = Math.floor(values / requests);
  const extra = values - base * requests; // this many requests carry base + 1
  let acc = 0;
  let total = 0;
  for (let i = 0; i < requests; i++) {
    // Bresenham: the larger size spread evenly over the sequence.
    acc += extra;
    let size = base;
    if (acc >= requests) {
      acc -= requests;
      size += 1;
    }
    const p = i % o.points;
    const samples = [];
    for (let k = 0; k < size; k++) samples.push({ ts: nextTs[p]!++, value: String(i * 100 + k), quality: 0 as const });
    urls[i] = pointUrls[p]!;
    // valuesBody() concatenates: its result is a rope of a few hundred pieces. Flattened here, once: kept
    // for the whole run as ropes, millions of them would make every major GC (and each send) pay for them.
    bodies[i] = Buffer.from(valuesBody(samples, false)).toString();
    total += size;
  }
  return { urls, bodies, values: total, ratePerS: requests / o.seconds };
}

async function prepare(o: Prepare): Promise<Record<string, unknown>> {
  if (!(o.requests >= 1 && o.values >= o.requests && o.seconds > 0 && o.points >= 1 && o.concurrency >= 1)) {
    throw new Error(`nothing sensible to replay: ${JSON.stringify({ requests: o.requests, values: o.values, seconds: o.seconds, points: o.points })}`);
  }
  const t0 = performance.now();
  agent = new Agent({ connections: o.concurrency, keepAliveTimeout: 30_000, pipelining: 1 });
  token = await fetchToken(agent, o);
  const base = new URL(o.baseUrl);
  origin = base.origin;
  // Paths, not URLs: requests go to the agent with the origin, as the connector's do (no URL parsed per request).
  const prefix = `${base.pathname.replace(/\/+$/, "")}/partitions/${encodeURIComponent(o.partitionId)}/points/`;
  // Point ids of their own: nothing the connector stored is touched, no value conflicts.
  const pointUrls = Array.from({ length: o.points }, (_, i) => `${prefix}${encodeURIComponent(`floor-p${i}`)}/values`);
  const nextTs = Array.from({ length: o.points }, () => Date.UTC(2020, 0, 1));
  const rate = o.requests / o.seconds;
  // Warm-up (JIT, connections, token check): the same mix, at least 2,000 requests, in warmupS.
  const warmRequests = Math.max(2_000, Math.round(rate * o.warmupS));
  warm = build(o, warmRequests, Math.round((warmRequests * o.values) / o.requests), nextTs, pointUrls);
  warm.ratePerS = warmRequests / o.warmupS;
  measured = build(o, o.requests, o.values, nextTs, pointUrls);
  let bytes = 0;
  for (const b of measured.bodies) bytes += b.length;
  return { built: measured.bodies.length + warm.bodies.length, bodyBytes: bytes, buildMs: performance.now() - t0 };
}

/** Sends every request of `w`, paced at w.ratePerS, at most `concurrency` in flight. */
function replay(w: Work, concurrency: number, tickMs: number): Promise<Record<string, unknown>> {
  const n = w.bodies.length;
  const headers = { accept: JSONAPI, "content-type": JSONAPI, authorization: `Bearer ${token}` };
  const statuses: Record<string, number> = {};
  const seconds = n / w.ratePerS;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let next = 0;
    let done = 0;
    let inflight = 0;
    let lateMaxMs = 0;
    let failed: Error | undefined;
    const deadline = setTimeout(() => finish(new Error(`send floor: ${done} of ${n} requests answered after ${Math.round(seconds + SLACK_S)} s`)), (seconds + SLACK_S) * 1000);
    const finish = (err?: Error) => {
      clearInterval(tick);
      clearTimeout(deadline);
      const s = (performance.now() - t0) / 1000;
      if (err) reject(err);
      else resolve({ requests: n, values: w.values, seconds: s, statuses, lateMaxMs, behindAtEnd: Math.max(0, s - seconds) });
    };
    const launch = () => {
      const now = performance.now();
      const due = Math.min(n, Math.floor(((now - t0) / 1000) * w.ratePerS) + 1);
      while (inflight < concurrency && next < due && !failed) {
        const i = next++;
        lateMaxMs = Math.max(lateMaxMs, now - t0 - (i / w.ratePerS) * 1000);
        inflight += 1;
        agent!.request({ origin, path: w.urls[i]!, method: "POST", headers, body: w.bodies[i]!, headersTimeout: 30_000, bodyTimeout: 30_000 })
          .then(async (res) => {
            await res.body.text();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode !== 204) failed ??= new Error(`send floor: HTTP ${res.statusCode} for request ${i}`);
          }, (err: Error) => {
            failed ??= err;
          })
          .finally(() => {
            inflight -= 1;
            done += 1;
            if (failed) {
              if (inflight === 0) finish(failed);
              return;
            }
            if (done === n) finish();
            else launch();
          });
      }
    };
    const tick = setInterval(launch, tickMs);
    launch();
  });
}

let concurrency = 8;
let tickMs = 5;
serveIpc(
  {
    prepare: (msg) => {
      const o = msg as unknown as Prepare;
      concurrency = o.concurrency ?? 8;
      tickMs = o.tickMs ?? 5;
      return prepare(o);
    },
    // Both sets stay referenced until the process ends: no old-space garbage appears mid-window.
    warmup: () => {
      if (!warm) throw new Error("not prepared");
      return replay(warm, concurrency, tickMs);
    },
    run: () => {
      if (!measured) throw new Error("not prepared");
      return replay(measured, concurrency, tickMs);
    },
  },
  async () => agent?.close(),
);
