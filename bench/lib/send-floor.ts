// The send floor's driver, for the live scenarios and the backfill alike: procs/send replays a request
// mix (count, values, duration) against the emulator a mapping names, with that mapping's ingest
// settings (token, partition, concurrency).
import { join } from "node:path";
import { loadMapping } from "../../src/config/index.js";
import { BENCH_DIR, cpuMicros, memoryMb, spawnNode } from "./proc.js";

const SEND = join(BENCH_DIR, "procs", "send.js");

export interface ReplayMix {
  requests: number;
  values: number;
  seconds: number;
  /** Point ids the requests are spread over. */
  points: number;
  /** Due requests are released once per tickMs (and whenever an answer frees a slot). */
  tickMs: number;
}

export interface Replayed {
  /** CPU of the replaying process over the measured run (after its warm-up). */
  cpuUs: number;
  requests: number;
  values: number;
  seconds: number;
  lateMaxMs: number;
  behindAtEnd: number;
  wallMs: number;
  /** What `alsoCpu` counted over the same run (the emulator's CPU, when it is a process of its own). */
  alsoCpuUs: number;
  rssPeakMb: number;
  bodyBytes: number;
  concurrency: number;
}

export async function replaySend(
  mappingFile: string,
  mix: ReplayMix,
  opts: { log?: (line: string) => void; alsoCpu?: () => number } = {},
): Promise<Replayed> {
  const ingest = loadMapping(mappingFile).ingest;
  const send = spawnNode("send", SEND, [], { ipc: true });
  try {
    await send.ready(30_000);
    const prepared = await send.rpc<{ built: number; bodyBytes: number; buildMs: number }>({
      cmd: "prepare", baseUrl: ingest.baseUrl, tokenUrl: ingest.tokenUrl, clientId: ingest.clientId, clientSecret: ingest.clientSecret,
      audience: ingest.audience, partitionId: ingest.partitionId, points: mix.points, concurrency: ingest.concurrency,
      requests: mix.requests, values: mix.values, seconds: mix.seconds, warmupS: 2, tickMs: mix.tickMs,
    }, 120_000);
    opts.log?.(`send floor: replaying ${mix.requests.toLocaleString("en-US")} requests of ${(mix.values / mix.requests).toFixed(1)} values over ${mix.seconds.toFixed(1)} s, ${ingest.concurrency} in flight (${prepared.built.toLocaleString("en-US")} bodies built in ${(prepared.buildMs / 1000).toFixed(1)} s)`);
    await send.rpc({ cmd: "warmup" }, 90_000);
    const c0 = cpuMicros(send.pid);
    const a0 = opts.alsoCpu?.() ?? 0;
    const t0 = Date.now();
    const r = await send.rpc<{ requests: number; values: number; seconds: number; lateMaxMs: number; behindAtEnd: number }>({ cmd: "run" }, (mix.seconds + 90) * 1000);
    const cpuUs = cpuMicros(send.pid) - c0;
    const alsoCpuUs = (opts.alsoCpu?.() ?? 0) - a0;
    const wallMs = Date.now() - t0;
    return { ...r, cpuUs, alsoCpuUs, wallMs, rssPeakMb: memoryMb(send.pid).peak, bodyBytes: prepared.bodyBytes, concurrency: ingest.concurrency };
  } finally {
    await send.rpc({ cmd: "stop" }, 10_000).catch(() => {});
    await send.stop(5_000);
  }
}
