import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestConfig } from "../../src/config/types.js";
import { IngestClient } from "../../src/ingest/client.js";
import { tempDir } from "../helpers/env.js";

// A real HTTPS server on loopback with a certificate from a private CA made here with openssl.
const dir = tempDir("tls");
let server: Server;
let base: string;

function openssl(...args: string[]) {
  execFileSync("openssl", args, { cwd: dir.path, stdio: "ignore" });
}

beforeAll(async () => {
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=opcua-ingest test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir.path, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf");
  server = createServer({ key: readFileSync(join(dir.path, "srv.key")), cert: readFileSync(join(dir.path, "srv.pem")) }, (req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/oauth/token") res.writeHead(200, { "content-type": "application/json" }).end('{"access_token":"t","token_type":"Bearer","expires_in":3600}');
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  dir.remove();
});

function cfg(over: Partial<IngestConfig>): IngestConfig {
  return {
    baseUrl: `${base}/ingest`, tokenUrl: `${base}/oauth/token`, partitionId: "p", audience: "a", clientId: "c", clientSecret: "s",
    overwrite: false, qualityOfValue: false, concurrency: 1, maxRequestsPerSecond: 0, requestTimeoutMs: 5_000, retryMaxDelayMs: 1_000,
    retryMaxElapsedMs: 0, tlsInsecure: false, ...over,
  };
}
const values = [{ ts: 1, value: "1", quality: 0 as const }];

describe("TLS to the API", () => {
  it("refuses a certificate from an unknown CA (the send is retried, not accepted)", async () => {
    const c = new IngestClient(cfg({}));
    const r = await c.send("p1", values, false);
    expect(r.kind).toBe("retry");
    expect(r.kind === "retry" && r.reason).toMatch(/certificate|self.signed|unable to verify/i);
    await c.close();
  });

  it("trusts a private CA given as ingest.caFile", async () => {
    const c = new IngestClient(cfg({ caFile: join(dir.path, "ca.pem") }));
    expect(await c.send("p1", values, false)).toEqual({ kind: "accepted", status: 204, conflicts: [] });
    await c.close();
  });

  it("skips verification only when tlsInsecure is set", async () => {
    const c = new IngestClient(cfg({ tlsInsecure: true }));
    expect((await c.send("p1", values, false)).kind).toBe("accepted");
    await c.close();
  });
});
