import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/dev/emulator.js";
import { SimServer } from "../../src/dev/simserver.js";
import { LiveConnector } from "../../src/app/live.js";
import { mappingYaml, silent, tempDir, writeMapping } from "../helpers/env.js";
import { Producer } from "../helpers/producer.js";
import { waitFor } from "../helpers/wait.js";

const dir = tempDir("ops");
let server: SimServer;
let emulator: Emulator;

beforeAll(async () => {
  server = await SimServer.start({ pkiDir: join(dir.path, "pki") });
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.close();
  await server?.stop().catch(() => {});
  dir.remove();
});

/** One metric's value from the Prometheus text (sum over its label sets). */
function metric(text: string, name: string, labels = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}${labels ? `{${labels}}` : ""} `) || (!labels && line.startsWith(`${name}{`))) sum += Number(line.split(" ").pop());
  }
  return sum;
}

describe("health, readiness and metrics", () => {
  it("exposes values moving as data flows, and readiness flips when the OPC UA server stops", async () => {
    const p = new Producer(server);
    const points = [{ name: "ops.A", pointId: "ops-a" }, { name: "ops.B", pointId: "ops-b" }];
    const base = Date.now();
    for (const x of points) {
      p.add(x.name, "Double", x.pointId, 0);
      p.set(x.name, "Double", x.pointId, -1, "-1", base - 1);
    }
    const storedCount = () => points.reduce((n, x) => n + emulator.values("test-partition", x.pointId).length, 0);
    const yaml = mappingYaml(server, emulator, join(dir.path, "state"), { points, maxDelay: "100ms", opsListen: "127.0.0.1:0" }).replace("ops:\n", "ops:\n  perPointMetrics: true\n");
    const { mapping } = writeMapping(dir.path, yaml);
    const c = new LiveConnector(mapping, silent);
    try {
      await c.start();
      const url = c.opsUrl!;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, reasons: [], notConnected: [] });
      for (let i = 0; i < 40; i++) for (const x of points) p.set(x.name, "Double", x.pointId, i + 0.5, String(i + 0.5), base + i);
      await waitFor(() => storedCount() >= p.distinct, 10_000, "delivery");
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(metric(text, "opcua_ingest_values_received_total")).toBe(c.stats.received);
      expect(metric(text, "opcua_ingest_values_sent_total")).toBe(p.distinct);
      expect(metric(text, "opcua_ingest_batches_total", 'status="204"')).toBeGreaterThan(0);
      expect(metric(text, "opcua_ingest_request_duration_seconds_count")).toBe(c.stats.requests);
      expect(metric(text, "opcua_ingest_opcua_connected")).toBe(1);
      expect(metric(text, "opcua_ingest_points_mapped")).toBe(2);
      expect(text).toContain('opcua_ingest_point_last_value_age_seconds{point="ops-a"}');
      expect(text).toMatch(/opcua_ingest_spool_rows \d/);
      // a second scrape adds only what grew: counters stay monotonic and exact
      p.set("ops.A", "Double", "ops-a", 99.5, "99.5", base + 100);
      await waitFor(() => storedCount() >= p.distinct, 10_000, "one more value");
      const again = await (await fetch(`${url}/metrics`)).text();
      expect(metric(again, "opcua_ingest_values_sent_total")).toBe(p.distinct);

      await server.stop();
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, 15_000, "readiness to flip");
      const body = (await (await fetch(`${url}/readyz`)).json()) as { reasons: string[] };
      expect(body.reasons.join()).toMatch(/OPC UA session (reconnecting|connecting)/);
      expect(metric(await (await fetch(`${url}/metrics`)).text(), "opcua_ingest_opcua_connected")).toBe(0);
    } finally {
      await c.stop(2_000);
    }
  });

  it("requires ops.token when one is set, by header or cookie, except for the probes", async () => {
    const s2 = await SimServer.start({ pkiDir: join(dir.path, "pki2") });
    try {
      s2.addVariable("tok.A", "Double", 1);
      const yaml = mappingYaml(s2, emulator, join(dir.path, "state2"), { points: [{ name: "tok.A", pointId: "tok-a" }], opsListen: "127.0.0.1:0" }).replace("ops:\n", "ops:\n  token: s3cret-ops-token\n");
      const { mapping } = writeMapping(dir.path, yaml, "tok.yaml");
      const c = new LiveConnector(mapping, silent);
      try {
        await c.start();
        const url = c.opsUrl!;
        expect((await fetch(`${url}/metrics`)).status).toBe(401);
        expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
        expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer s3cret-ops-token" } })).status).toBe(200);
        expect((await fetch(`${url}/metrics`, { headers: { cookie: "x=1; opcua_ingest_token=s3cret-ops-token" } })).status).toBe(200);
        // the probes stay open: they carry no data and a kubelet cannot send a secret header
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
        const text = await (await fetch(`${url}/metrics`, { headers: { authorization: "Bearer s3cret-ops-token" } })).text();
        expect(text).not.toContain("s3cret");
        expect(text).not.toContain("demo-secret");
      } finally {
        await c.stop(2_000);
      }
    } finally {
      await s2.stop();
    }
  });
});
