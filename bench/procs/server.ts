// The benchmark's OPC UA server, a process of its own: SimServer with N Double variables v0…v(N-1) that
// change at a steady rate, each stamped with the wall clock (source timestamp = now). Driven over IPC:
//   { cmd: "setup", items }                  create the variables, each with an initial value stamped now
//   { cmd: "produce", periodMs, tickMs }     every item changes once per periodMs; changes are made in
//                                            batches once per tickMs (round-robin), paced by elapsed time
//   { cmd: "pause" } · { cmd: "stats" } · { cmd: "stop" }
// Answers { id, ... }. Listens on 127.0.0.1, an ephemeral port; prints nothing but errors.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimServer } from "../../src/dev/simserver.js";

interface Msg {
  id: number;
  cmd: string;
  items?: number;
  periodMs?: number;
  tickMs?: number;
}

const pkiDir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "server-"));
const server = await SimServer.start({ pkiDir, namespaceUri: "urn:opcua-ingest:bench", securityModes: ["None"], securityPolicies: ["None"] });
const names: string[] = [];
let produced = 0;
let skipped = 0;
let ticks = 0;
let maxTickMs = 0;
let timer: NodeJS.Timeout | undefined;
let cursor = 0;

function setup(items: number): { created: number; ms: number } {
  const t0 = performance.now();
  const now = new Date();
  for (let i = names.length; i < items; i++) {
    const name = `v${i}`;
    server.addVariable(name, "Double", 0);
    server.set(name, "Double", -1 - i, now);
    names.push(name);
  }
  return { created: names.length, ms: performance.now() - t0 };
}

function produce(periodMs: number, tickMs: number): void {
  pause();
  const items = names.length;
  const perMs = items / periodMs;
  const t0 = Date.now();
  let due = 0;
  const tick = () => {
    const start = performance.now();
    const now = Date.now();
    const target = Math.floor((now - t0) * perMs);
    let n = target - due;
    due = target;
    // Never change one item twice in a batch; what a stalled server could not produce is counted, not made up.
    if (n > items) {
      skipped += n - items;
      n = items;
    }
    const source = new Date(now);
    for (let k = 0; k < n; k++) {
      const name = names[cursor]!;
      cursor = cursor + 1 === items ? 0 : cursor + 1;
      produced += 1;
      server.set(name, "Double", produced, source);
    }
    ticks += 1;
    maxTickMs = Math.max(maxTickMs, performance.now() - start);
  };
  timer = setInterval(tick, tickMs);
}

function pause(): void {
  if (timer) clearInterval(timer);
  timer = undefined;
}

process.on("message", (msg: Msg) => {
  const reply = (body: Record<string, unknown>) => process.send!({ id: msg.id, ...body });
  try {
    switch (msg.cmd) {
      case "setup":
        return reply(setup(msg.items ?? 0));
      case "produce":
        produce(msg.periodMs ?? 1000, msg.tickMs ?? 20);
        return reply({ ok: true });
      case "pause":
        pause();
        return reply({ produced });
      case "stats":
        return reply({ produced, skipped, ticks, maxTickMs, now: Date.now() });
      case "stop":
        pause();
        void server.stop().finally(() => {
          rmSync(pkiDir, { recursive: true, force: true });
          reply({ ok: true });
          process.exit(0);
        });
        return;
      default:
        return reply({ error: `unknown command ${msg.cmd}` });
    }
  } catch (err) {
    reply({ error: (err as Error).stack ?? String(err) });
  }
});
process.on("disconnect", () => process.exit(0));
process.send!({ id: 0, endpoint: server.endpoint, namespaceUri: server.namespaceUri });
