import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMapping, MappingError, parseMapping, type Mapping } from "../../src/config/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/mappings/", import.meta.url));

describe("loadMapping", () => {
  it("normalizes a mapping that sets every key", () => {
    const file = join(fixtures, "full.yaml");
    const mapping = loadMapping(file, { PARTITION_ID: "plant-7" });
    const opcua = {
        name: "default",
        endpoint: "opc.tcp://scada-gw:4840",
        securityMode: "SignAndEncrypt",
        securityPolicy: "Basic256Sha256",
        user: { kind: "username", username: "operator", password: "opcua-pw: # not yaml" },
        trustServerCertificate: true,
        applicationName: "boiler-house",
        publishingIntervalMs: 500,
        sessionTimeoutMs: 120_000,
        reconnectMaxDelayMs: 10_000,
        retryUnknownNodesMs: 300_000,
        backupEndpoints: [],
        failoverServiceLevel: 200,
      } satisfies Mapping["opcua"];
    const expected: Mapping = {
      file,
      sources: [opcua],
      opcua,
      ingest: {
        baseUrl: "https://api.example.com/ingest",
        partitionId: "plant-7",
        tokenUrl: "https://tenant.eu.auth0.com/oauth/token",
        audience: "https://audience.example.com",
        clientId: "connector",
        clientSecret: "s3cr3t-from-file",
        overwrite: true,
        qualityOfValue: true,
        concurrency: 16,
        maxRequestsPerSecond: 2.5,
        requestTimeoutMs: 1500,
        retryMaxDelayMs: 3_600_000,
        retryMaxElapsedMs: 12 * 3_600_000,
        caFile: join(fixtures, "secrets/ca.pem"),
        tlsInsecure: true,
      },
      batch: { maxValues: 50, maxDelayMs: 250 },
      spool: { maxBytes: 1.5 * 1024 ** 3, whenFull: "dropNewest", commitIntervalMs: 1000 },
      gapFill: { enabled: true, maxWindowMs: 6 * 3_600_000 },
      backfill: { concurrency: 8, windowMs: 30 * 60_000, valuesPerRead: 5000 },
      ops: { listen: { host: "::", port: 9100 }, perPointMetrics: true, token: "ops-t0ken-from-file" },
      state: resolve(fixtures, "../state"),
      points: [
        {
          pointId: "0f8fad5b-d9cb-469f-a165-70867728950e",
          source: "default",
          nodeId: "ns=3;s=Boiler1.Temperature",
          line: 62,
          samplingIntervalMs: 250,
          queueSize: 5,
          deadband: { kind: "percent", value: 2 },
          timestamp: "server",
          bad: "send",
          nonFinite: "send",
          structured: "skip",
          scale: 0.1,
          offset: -273.15,
          decimals: 2,
          booleanAs: "number",
          enumAs: "label",
          heartbeatMs: 300_000,
          trigger: "statusValueTimestamp",
        },
        {
          pointId: "boiler1-pressure",
          source: "default",
          nodeId: "nsu=urn:plant;i=1001",
          line: 65,
          samplingIntervalMs: 2000,
          queueSize: 1,
          deadband: { kind: "absolute", value: 0.5 },
          timestamp: "received",
          bad: "drop",
          nonFinite: "drop",
          structured: "json",
          scale: 1000,
          offset: 0,
          decimals: 0,
          booleanAs: "text",
          enumAs: "number",
          heartbeatMs: 0,
          trigger: "statusValue",
        },
        {
          pointId: "server-time",
          source: "default",
          nodeId: "i=2258",
          line: 80,
          samplingIntervalMs: 0,
          queueSize: 5,
          deadband: { kind: "none" },
          timestamp: "server",
          bad: "send",
          nonFinite: "send",
          structured: "skip",
          scale: 0.1,
          offset: -273.15,
          decimals: 2,
          booleanAs: "number",
          enumAs: "label",
          heartbeatMs: 0,
          trigger: "status",
        },
      ],
    };
    expect(mapping).toEqual(expected);
  });

  it("applies every default to a minimal mapping", () => {
    const file = join(fixtures, "minimal.yaml");
    const mapping = loadMapping(file, { CLIENT_SECRET: "0123" });
    expect(mapping.sources).toEqual([mapping.opcua]);
    expect(mapping.opcua).toEqual({
      name: "default",
      backupEndpoints: [],
      failoverServiceLevel: 200,
      retryUnknownNodesMs: 300_000,
      endpoint: "opc.tcp://localhost:4840",
      securityMode: "None",
      securityPolicy: "None",
      user: { kind: "anonymous" },
      trustServerCertificate: false,
      applicationName: "opcua-ingest",
      publishingIntervalMs: 1000,
      sessionTimeoutMs: 60_000,
      reconnectMaxDelayMs: 30_000,
    });
    expect(mapping.ingest).toMatchObject({
      audience: "https://horizon.siemens.com",
      // Read from the environment as text: a secret that looks like a number keeps its leading zero.
      clientSecret: "0123",
      overwrite: false,
      qualityOfValue: false,
      concurrency: 8,
      maxRequestsPerSecond: 0,
      requestTimeoutMs: 30_000,
      retryMaxDelayMs: 60_000,
      retryMaxElapsedMs: 0,
      tlsInsecure: false,
    });
    expect(mapping.ingest).not.toHaveProperty("caFile");
    expect(mapping.batch).toEqual({ maxValues: 100, maxDelayMs: 5000 });
    expect(mapping.spool).toEqual({ maxBytes: 1024 ** 3, whenFull: "dropOldest", commitIntervalMs: 100 });
    expect(mapping.gapFill).toEqual({ enabled: "auto", maxWindowMs: 24 * 3_600_000 });
    expect(mapping.backfill).toEqual({ concurrency: 4, windowMs: 3_600_000, valuesPerRead: 1000 });
    expect(mapping.ops).toStrictEqual({ listen: { host: "127.0.0.1", port: 9464 }, perPointMetrics: false });
    expect(mapping.state).toBe(join(fixtures, "state"));
    expect(mapping.points).toEqual([
      {
        pointId: "demo-double",
        source: "default",
        nodeId: "ns=2;s=Demo.Dynamic.Scalar.Double",
        line: 10,
        samplingIntervalMs: 1000,
        queueSize: 10,
        deadband: { kind: "none" },
        timestamp: "source",
        bad: "drop",
        nonFinite: "drop",
        structured: "json",
        scale: 1,
        offset: 0,
        booleanAs: "text",
        enumAs: "number",
        heartbeatMs: 0,
        trigger: "statusValue",
      },
    ]);
    expect(mapping.points[0]).not.toHaveProperty("decimals");
  });

  it("reports a mapping file that does not exist", () => {
    const file = join(fixtures, "no-such-mapping.yaml");
    const error = catchMappingError(() => loadMapping(file, {}));
    expect(error.code).toBe("OI_MAPPING_INVALID");
    expect(error.message).toBe(`${file}: cannot read the mapping file: no such file`);
    expect(error.problems).toEqual([{ file, line: 0, column: 0, key: "", message: "cannot read the mapping file: no such file" }]);
  });

  it("reports a folder given as the mapping file", () => {
    expect(() => loadMapping(fixtures, {})).toThrow(/cannot read the mapping file: it is a folder, not a file/);
  });
});

describe("parseMapping", () => {
  const base = (extra: string) => `opcua:
  endpoint: opc.tcp://localhost:4840
ingest:
  baseUrl: https://api.example.com/
  partitionId: p
  tokenUrl: https://auth.example.com/oauth/token
  clientId: c
  clientSecret: s
points:
  - nodeId: i=2258
    pointId: server-time
${extra}`;

  it("resolves state and user files against the named file's folder, not the working directory", () => {
    const file = join(fixtures, "inline.yaml");
    const mapping = parseMapping(
      base(`state: /var/lib/opcua-ingest
`).replace("  clientSecret: s\n", "  clientSecretFile: secrets/client-secret.txt\n"),
      file,
      {},
    );
    expect(mapping.file).toBe(file);
    expect(mapping.state).toBe("/var/lib/opcua-ingest");
    expect(mapping.ingest.clientSecret).toBe("s3cr3t-from-file");
    expect(mapping.ingest.baseUrl).toBe("https://api.example.com");

    const relative = parseMapping(base(""), "test/fixtures/mappings/inline.yaml", {});
    expect(relative.file).toBe(resolve("test/fixtures/mappings/inline.yaml"));
    expect(relative.state).toBe(resolve("test/fixtures/mappings/state"));
  });

  it("builds a certificate identity with absolute paths", () => {
    const text = base("").replace(
      "  endpoint: opc.tcp://localhost:4840\n",
      "  endpoint: opc.tcp://localhost:4840\n  securityMode: Sign\n  securityPolicy: Aes256_Sha256_RsaPss\n  user:\n    certificate: secrets/client-secret.txt\n    privateKey: secrets/opcua-password.txt\n",
    );
    const mapping = parseMapping(text, join(fixtures, "cert.yaml"), {});
    expect(mapping.opcua.user).toEqual({
      kind: "certificate",
      certificateFile: join(fixtures, "secrets/client-secret.txt"),
      privateKeyFile: join(fixtures, "secrets/opcua-password.txt"),
    });
    expect(mapping.opcua.securityMode).toBe("Sign");
  });

  it("accepts an inline password and a $schema key", () => {
    const text = `$schema: ./schema.json\n${base("")}`.replace(
      "  endpoint: opc.tcp://localhost:4840\n",
      "  endpoint: opc.tcp://localhost:4840\n  user: { username: op, password: 'p: #1' }\n",
    );
    expect(parseMapping(text, "m.yaml", {}).opcua.user).toEqual({ kind: "username", username: "op", password: "p: #1" });
  });

  it("records the line of each point and rounds durations to whole milliseconds", () => {
    const mapping = parseMapping(
      base(`  - nodeId: "ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63"
    pointId: guid-point
    samplingInterval: 0.0004s
defaults:
  samplingInterval: 1.5m
`),
      join(dirname(fixtures), "m.yaml"),
      {},
    );
    expect(mapping.points.map((point) => [point.line, point.samplingIntervalMs])).toEqual([
      [10, 90_000],
      [12, 0],
    ]);
  });
});

function catchMappingError(action: () => unknown): MappingError {
  try {
    action();
  } catch (error) {
    if (error instanceof MappingError) return error;
    throw error;
  }
  throw new Error("expected a MappingError");
}
