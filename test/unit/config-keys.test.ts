// The spool, gapFill, backfill and ops sections, the ingest TLS and retry keys, and the per-point
// value options: defaults, accepted forms, and the exact problem for each rejected form.
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MappingError, parseMapping, type Mapping } from "../../src/config/index.js";
import { isLoopback, parseListen } from "../../src/config/listen.js";

const FILE = "mappings/plant.yaml";
const fixtures = fileURLToPath(new URL("../fixtures/mappings/", import.meta.url));

// 11 lines: whatever is appended starts at line 12.
const BASE = `opcua:
  endpoint: opc.tcp://localhost:4840
ingest:
  baseUrl: https://api.example.com
  partitionId: p
  tokenUrl: https://auth.example.com/oauth/token
  clientId: c
  clientSecret: s
points:
  - nodeId: i=2258
    pointId: server-time
`;

type Env = Record<string, string | undefined>;

/** The mapping with `extra` appended; `ingest` lines go at the end of the ingest section (line 9 on). */
function text(extra: string, ingest = ""): string {
  return BASE.replace("  clientSecret: s\n", `  clientSecret: s\n${ingest}`) + extra;
}

function load(extra: string, env: Env = {}, file = FILE): Mapping {
  return parseMapping(text(extra), file, env);
}

function failure(source: string, env: Env = {}, file = FILE): MappingError {
  try {
    parseMapping(source, file, env);
  } catch (error) {
    if (error instanceof MappingError) return error;
    throw error;
  }
  throw new Error("expected a MappingError");
}

const problems = (extra: string, env: Env = {}) => failure(text(extra), env).message.split("\n");
const ingestProblems = (ingest: string) => failure(text("", ingest)).message.split("\n");

describe("spool", () => {
  it("defaults to 1GiB, dropOldest and a 100ms group commit", () => {
    expect(load("").spool).toEqual({ maxBytes: 1_073_741_824, whenFull: "dropOldest", commitIntervalMs: 100 });
    expect(load("spool: {}\n").spool).toEqual({ maxBytes: 1_073_741_824, whenFull: "dropOldest", commitIntervalMs: 100 });
  });

  it.each<[string, number]>([
    ["1048576", 1_048_576],
    ["1MiB", 1_048_576],
    ["2MB", 2_000_000],
    ["1.5GiB", 1_610_612_736],
    ["10GB", 10_000_000_000],
    ["'${SPOOL_SIZE:-512MiB}'", 536_870_912],
  ])("accepts maxBytes: %s", (value, bytes) => {
    expect(load(`spool:\n  maxBytes: ${value}\n`).spool.maxBytes).toBe(bytes);
  });

  it("reads a size from the environment as a number of bytes or as text", () => {
    const mapping = (env: Env) => load("spool:\n  maxBytes: ${SPOOL_SIZE}\n", env).spool.maxBytes;
    expect(mapping({ SPOOL_SIZE: "2097152" })).toBe(2_097_152);
    expect(mapping({ SPOOL_SIZE: "3MiB" })).toBe(3_145_728);
  });

  it("takes whenFull and commitInterval", () => {
    expect(load("spool:\n  whenFull: dropNewest\n  commitInterval: 1s\n").spool).toEqual({
      maxBytes: 1_073_741_824,
      whenFull: "dropNewest",
      commitIntervalMs: 1000,
    });
  });

  it.each([
    ["1MB", `"1MB" (1000000 bytes) is too small; the minimum is 1MiB (1048576 bytes)`],
    ["1000", "1000 bytes is too small; the minimum is 1MiB (1048576 bytes)"],
    ["0", "0 bytes is too small; the minimum is 1MiB (1048576 bytes)"],
    ["1.5", "1.5 is not a whole number of bytes; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB"],
    ["1gib", `"1gib": write the unit as "GiB", e.g. 1GiB`],
    ["1G", `"1G" has an unknown unit "G"; use B, KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based)`],
    ["5 MiB", `"5 MiB" contains spaces; write it without, e.g. 1GiB`],
    ["-5MiB", `"-5MiB" is negative; a size is 0 or more`],
    ["lots", `"lots" is not a size; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB`],
    ["", "is empty; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB"],
    ["[1GiB]", "expected a size; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB"],
  ])("rejects maxBytes: %s", (value, message) => {
    expect(problems(`spool:\n  maxBytes: ${value}\n`)).toEqual([`${FILE}:13:3: spool.maxBytes: ${message}`]);
  });

  it("rejects an unknown whenFull, a zero commitInterval and unknown keys", () => {
    expect(problems("spool:\n  whenFull: dropoldest\n  commitInterval: 0\n  maxByte: 1GiB\n")).toEqual([
      `${FILE}:13:3: spool.whenFull: "dropoldest" is not allowed; did you mean "dropOldest"? Allowed: dropOldest, dropNewest`,
      `${FILE}:14:3: spool.commitInterval: 0 is not allowed here; it must be more than 0, e.g. 5s`,
      `${FILE}:15:3: spool.maxByte: unknown key; did you mean "maxBytes"? Allowed: maxBytes, whenFull, commitInterval`,
    ]);
  });
});

describe("ingest TLS and retry keys", () => {
  it("defaults to verified TLS without a private CA, and to retrying forever", () => {
    const { ingest } = load("");
    expect(ingest.tlsInsecure).toBe(false);
    expect(ingest.retryMaxElapsedMs).toBe(0);
    expect(ingest).not.toHaveProperty("caFile");
  });

  it("resolves caFile against the mapping file's folder and checks it without reading it", () => {
    const mapping = parseMapping(text("", "  caFile: secrets/ca.pem\n  tlsInsecure: true\n  retryMaxElapsed: 24h\n"), join(fixtures, "inline.yaml"), {});
    expect(mapping.ingest.caFile).toBe(join(fixtures, "secrets/ca.pem"));
    expect(mapping.ingest.tlsInsecure).toBe(true);
    expect(mapping.ingest.retryMaxElapsedMs).toBe(86_400_000);
    expect(parseMapping(text("", "  retryMaxElapsed: 0\n"), FILE, {}).ingest.retryMaxElapsedMs).toBe(0);
  });

  it("reports a caFile that cannot be read", () => {
    expect(ingestProblems("  caFile: secrets/missing-ca.pem\n")).toEqual([
      `${FILE}:9:3: ingest.caFile: cannot read "${process.cwd()}/mappings/secrets/missing-ca.pem": no such file`,
    ]);
    const folder = failure(text("", "  caFile: secrets\n"), {}, join(fixtures, "inline.yaml")).message;
    expect(folder).toBe(`${join(fixtures, "inline.yaml")}:9:3: ingest.caFile: "${join(fixtures, "secrets")}" is a folder, not a file`);
  });

  it("rejects other forms", () => {
    expect(ingestProblems("  caFile: ''\n  tlsInsecure: 'yes'\n  retryMaxElapsed: 10\n  retryMaxElapsed2: 1s\n")).toEqual([
      `${FILE}:9:3: ingest.caFile: must not be empty`,
      `${FILE}:10:3: ingest.tlsInsecure: expected true or false, got text "yes"`,
      `${FILE}:11:3: ingest.retryMaxElapsed: 10 has no unit: write 10ms or 10s`,
      `${FILE}:12:3: ingest.retryMaxElapsed2: unknown key; did you mean "retryMaxElapsed"? Allowed: baseUrl, partitionId, tokenUrl, audience, clientId, clientSecret, clientSecretFile, overwrite, qualityOfValue, concurrency, maxRequestsPerSecond, requestTimeout, retryMaxDelay, retryMaxElapsed, caFile, tlsInsecure`,
    ]);
    expect(ingestProblems("  retryMaxElapsed: -1s\n")).toEqual([
      `${FILE}:9:3: ingest.retryMaxElapsed: "-1s" is negative; a duration is 0 or more`,
    ]);
  });
});

describe("ops", () => {
  it("listens on 127.0.0.1:9464 without a token and without per-point metrics by default", () => {
    expect(load("").ops).toStrictEqual({ listen: { host: "127.0.0.1", port: 9464 }, perPointMetrics: false });
    expect(load("ops: {}\n").ops).toStrictEqual({ listen: { host: "127.0.0.1", port: 9464 }, perPointMetrics: false });
  });

  it.each<[string, { host: string; port: number } | null]>([
    ["127.0.0.1:9100", { host: "127.0.0.1", port: 9100 }],
    ["127.12.0.1:80", { host: "127.12.0.1", port: 80 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ['"[::1]:9464"', { host: "::1", port: 9464 }],
    ['"[0:0:0:0:0:0:0:1]:65535"', { host: "0:0:0:0:0:0:0:1", port: 65535 }],
    ["off", null],
    ["${OPS_LISTEN:-off}", null],
  ])("accepts listen: %s without a token", (value, listen) => {
    expect(load(`ops:\n  listen: ${value}\n`).ops.listen).toEqual(listen);
  });

  it("accepts a non-loopback address with a token, inline, from the environment or from a file", () => {
    expect(load("ops:\n  listen: 0.0.0.0:9464\n  token: t0ken\n  perPointMetrics: true\n").ops).toEqual({
      listen: { host: "0.0.0.0", port: 9464 },
      perPointMetrics: true,
      token: "t0ken",
    });
    expect(load('ops:\n  listen: "[::]:9464"\n  token: ${OPS_TOKEN}\n', { OPS_TOKEN: "12345" }).ops.token).toBe("12345");
    const fromFile = parseMapping(text("ops:\n  listen: plant-gw.example:9464\n  tokenFile: secrets/ops-token.txt\n"), join(fixtures, "inline.yaml"), {});
    expect(fromFile.ops).toEqual({ listen: { host: "plant-gw.example", port: 9464 }, perPointMetrics: false, token: "ops-t0ken-from-file" });
  });

  it.each([
    ["9464", "expected host:port, e.g. 127.0.0.1:9464, or off; got the number 9464"],
    ["false", "expected host:port, e.g. 127.0.0.1:9464, or off; got false"],
    ["", "is empty; write host:port, e.g. 127.0.0.1:9464, or off"],
    ["Off", `"Off": write off in lower case to disable the listener`],
    ["localhost", `"localhost" has no port; write localhost:9464`],
    [":9464", `":9464" has no host; write 0.0.0.0:9464 for every interface, or 127.0.0.1:9464 for this machine only`],
    ["127.0.0.1:70000", `"127.0.0.1:70000": port "70000" must be a whole number from 0 to 65535`],
    ["127.0.0.1:http", `"127.0.0.1:http": port "http" must be a whole number from 0 to 65535`],
    ["256.1.1.1:80", `"256.1.1.1:80": "256.1.1.1" is not an IPv4 address or host name; write host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464, or off`],
    ["host_name:80", `"host_name:80": "host_name" is not an IPv4 address or host name; write host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464, or off`],
    ["::1:9464", `"::1:9464": write an IPv6 address in brackets, then the port, e.g. [::1]:9464`],
    ['"::1"', `"::1": write an IPv6 address in brackets, then the port, e.g. [::1]:9464`],
    ['"[::1]"', `"[::1]" has no port; write [::1]:9464`],
    ['"[127.0.0.1]:80"', `"[127.0.0.1]:80": "127.0.0.1" in brackets is not an IPv6 address; write host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464, or off`],
    ['"127.0.0.1: 80"', `"127.0.0.1: 80" contains spaces; write host:port, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464, or off`],
  ])("rejects listen: %s", (value, message) => {
    expect(problems(`ops:\n  listen: ${value}\n`)).toEqual([`${FILE}:13:3: ops.listen: ${message}`]);
  });

  it.each(["0.0.0.0:9464", '"[::]:9464"', "10.0.0.5:9464", "plant-gw:9464", '"[fe80::1]:9464"', '"[::ffff:10.0.0.1]:9464"'])(
    "requires a token when listen is %s, which is not a loopback address",
    (value) => {
      const shown = value.replaceAll('"', "");
      expect(problems(`ops:\n  listen: ${value}\n  perPointMetrics: true\n`)).toEqual([
        `${FILE}:13:3: ops.listen: listen ${shown} is not a loopback address, so without a token the status page and metrics would be open to the network; give token (e.g. \${OPS_TOKEN}) or tokenFile, or listen on 127.0.0.1`,
      ]);
    },
  );

  it("accepts one of token and tokenFile, not both", () => {
    expect(problems("ops:\n  token: a\n  tokenFile: ../test/fixtures/mappings/secrets/ops-token.txt\n")).toEqual([
      `${FILE}:14:3: ops.tokenFile: give token or tokenFile, not both`,
    ]);
    expect(problems("ops:\n  listen: 0.0.0.0:1\n  tokenFile: secrets/no-token.txt\n")).toEqual([
      `${FILE}:14:3: ops.tokenFile: cannot read "${process.cwd()}/mappings/secrets/no-token.txt": no such file`,
    ]);
    expect(problems("ops:\n  token: ''\n  perPointMetric: true\n")).toEqual([
      `${FILE}:13:3: ops.token: must not be empty`,
      `${FILE}:14:3: ops.perPointMetric: unknown key; did you mean "perPointMetrics"? Allowed: listen, perPointMetrics, token, tokenFile`,
    ]);
  });

  it("never shows the token, whatever is wrong with it", () => {
    const SECRET = "0ps-Tok3n: #x";
    const messages = [
      failure(text(`ops:\n  listen: 0.0.0.0:1\n  token: [ "${SECRET}" ]\n`)).message,
      failure(text("ops:\n  token: 123456789\n")).message,
      failure(text("ops:\n  token: ${OPS_TOKEN}\nstatee: 1\n"), { OPS_TOKEN: SECRET }).message,
      failure(text('ops:\n  token: "${1x}${OPS_TOKEN}"\n'), { OPS_TOKEN: SECRET }).message,
      failure(text("ops:\n  token: ${OPS_TOKEN} ${OOPS\n"), { OPS_TOKEN: SECRET }).message,
      failure(text(`ops:\n  listen: 0.0.0.0:1\n  token: "${SECRET}"\n  tokenFile: ../test/fixtures/mappings/secrets/ops-token.txt\n`)).message,
      failure(text(`ops:\n  listen: 0.0.0.0:1\n  tokenFile: ../test/fixtures/mappings/secrets/ops-token.txt\nstatee: 1\n`)).message,
    ];
    expect(messages[0]).toContain("ops.token: expected text, got a list");
    expect(messages[1]).toContain("ops.token: expected text, got a number; put the value in quotes");
    expect(messages[3]).toContain("ops.token: a variable reference is not a valid variable reference");
    for (const message of messages) {
      expect(message).not.toContain("0ps-Tok3n");
      expect(message).not.toContain("123456789");
      expect(message).not.toContain("ops-t0ken-from-file");
    }
  });

  it("knows which addresses are loopback", () => {
    for (const host of ["127.0.0.1", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost", "LocalHost"]) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "128.0.0.1", "10.0.0.1", "::2", "fe80::1", "localhost.example", "plant-gw"]) {
      expect(isLoopback(host), host).toBe(false);
    }
    expect(parseListen("[::ffff:127.0.0.1]:1")).toEqual({ host: "::ffff:127.0.0.1", port: 1 });
  });
});

describe("gapFill", () => {
  it.each<[string, Mapping["gapFill"]]>([
    ["", { enabled: "auto", maxWindowMs: 86_400_000 }],
    ["gapFill: true\n", { enabled: true, maxWindowMs: 86_400_000 }],
    ["gapFill: false\n", { enabled: false, maxWindowMs: 86_400_000 }],
    ["gapFill: {}\n", { enabled: "auto", maxWindowMs: 86_400_000 }],
    ["gapFill: { enabled: false }\n", { enabled: false, maxWindowMs: 86_400_000 }],
    ["gapFill: { maxWindow: 2h }\n", { enabled: "auto", maxWindowMs: 7_200_000 }],
    ["gapFill:\n  enabled: auto\n  maxWindow: 30m\n", { enabled: "auto", maxWindowMs: 1_800_000 }],
    ["gapFill: ${GAP_FILL:-false}\n", { enabled: false, maxWindowMs: 86_400_000 }],
    ["gapFill: { enabled: '${GAP_FILL:-true}', maxWindow: '${GAP_WINDOW:-1h}' }\n", { enabled: true, maxWindowMs: 3_600_000 }],
  ])("normalizes %j", (extra, gapFill) => {
    expect(load(extra).gapFill).toEqual(gapFill);
  });

  it("rejects other forms, at the key that is wrong", () => {
    const forms = "write true, false or { enabled: auto | true | false, maxWindow: 24h }";
    expect(problems("gapFill: yes\n")).toEqual([`${FILE}:12:1: gapFill: text "yes" is not allowed; ${forms}`]);
    expect(problems("gapFill:\n")).toEqual([`${FILE}:12:1: gapFill: is empty; ${forms}`]);
    expect(problems("gapFill: [true]\n")).toEqual([`${FILE}:12:1: gapFill: a list is not allowed; ${forms}`]);
    expect(problems("gapFill: { enabled: yes }\n")).toEqual([`${FILE}:12:12: gapFill.enabled: "yes" is not allowed; allowed: auto, true, false`]);
    expect(problems("gapFill: { enabled: Auto }\n")).toEqual([
      `${FILE}:12:12: gapFill.enabled: "Auto" is not allowed; did you mean "auto"? Allowed: auto, true, false`,
    ]);
    expect(problems("gapFill: { enabeld: true }\n")).toEqual([
      `${FILE}:12:12: gapFill.enabeld: unknown key; did you mean "enabled"? Allowed: enabled, maxWindow`,
    ]);
    expect(problems("gapFill:\n  maxWindow: 1d\n  enabled: maybe\n")).toEqual([
      `${FILE}:13:3: gapFill.maxWindow: "1d" has an unknown unit "d"; use ms, s, m or h, e.g. 250ms, 5s, 1m, 1h`,
      `${FILE}:14:3: gapFill.enabled: "maybe" is not allowed; allowed: auto, true, false`,
    ]);
    expect(problems("gapFill: { maxWindow: 0 }\n")).toEqual([
      `${FILE}:12:12: gapFill.maxWindow: 0 is not allowed here; it must be more than 0, e.g. 5s`,
    ]);
  });
});

describe("backfill", () => {
  it("defaults to 4 points at once, 1h windows and 1000 values per read", () => {
    expect(load("").backfill).toEqual({ concurrency: 4, windowMs: 3_600_000, valuesPerRead: 1000 });
    expect(load("backfill:\n  concurrency: 64\n  window: 15m\n  valuesPerRead: 100000\n").backfill).toEqual({
      concurrency: 64,
      windowMs: 900_000,
      valuesPerRead: 100_000,
    });
  });

  it("rejects values out of range", () => {
    expect(problems("backfill:\n  concurrency: 65\n  window: 0\n  valuesPerRead: 100001\n  windows: 1h\n")).toEqual([
      `${FILE}:13:3: backfill.concurrency: 65 is out of range; allowed: a whole number from 1 to 64`,
      `${FILE}:14:3: backfill.window: 0 is not allowed here; it must be more than 0, e.g. 5s`,
      `${FILE}:15:3: backfill.valuesPerRead: 100001 is out of range; allowed: a whole number from 1 to 100000`,
      `${FILE}:16:3: backfill.windows: unknown key; did you mean "window"? Allowed: concurrency, window, valuesPerRead`,
    ]);
    expect(problems("backfill:\n  concurrency: 0\n  valuesPerRead: 1.5\n")).toEqual([
      `${FILE}:13:3: backfill.concurrency: 0 is out of range; allowed: a whole number from 1 to 64`,
      `${FILE}:14:3: backfill.valuesPerRead: 1.5 is not a whole number; allowed: a whole number from 1 to 100000`,
    ]);
  });
});

describe("per-point value options", () => {
  const points = `  - nodeId: ns=1;s=A
    pointId: a
    scale: 2
    offset: 0
    decimals: 0
    booleanAs: text
    enumAs: number
    heartbeat: off
    trigger: statusValue
  - nodeId: ns=1;s=B
    pointId: b
    heartbeat: 0
`;

  it("defaults to unscaled, unrounded, booleans as text, enumerations as numbers, no heartbeat, statusValue", () => {
    const [point] = load("").points;
    expect(point).toMatchObject({ scale: 1, offset: 0, booleanAs: "text", enumAs: "number", heartbeatMs: 0, trigger: "statusValue" });
    expect(point).not.toHaveProperty("decimals");
  });

  it("applies the defaults section and lets a point override every key", () => {
    const defaults = `defaults:
  scale: 0.1
  offset: -273.15
  decimals: 3
  booleanAs: number
  enumAs: label
  heartbeat: 1m
  trigger: statusValueTimestamp
`;
    const [first, second, third] = load(`${points}${defaults}`).points;
    const inherited = { scale: 0.1, offset: -273.15, decimals: 3, booleanAs: "number", enumAs: "label", heartbeatMs: 60_000, trigger: "statusValueTimestamp" };
    expect(first).toMatchObject(inherited);
    expect(second).toMatchObject({ scale: 2, offset: 0, decimals: 0, booleanAs: "text", enumAs: "number", heartbeatMs: 0, trigger: "statusValue" });
    expect(third).toMatchObject({ ...inherited, heartbeatMs: 0 });
  });

  it.each<[string, number]>([
    ["off", 0],
    ["0", 0],
    ["0s", 0],
    ["90s", 90_000],
    ["1.5h", 5_400_000],
  ])("accepts heartbeat: %s", (value, ms) => {
    expect(load(`defaults:\n  heartbeat: ${value}\n`).points[0]?.heartbeatMs).toBe(ms);
  });

  it("rejects scale 0 in defaults and on a point", () => {
    const message = "scale 0 would send every value as the offset; allowed: any number but 0 (1 = unscaled)";
    expect(problems(`  - { nodeId: ns=1;s=A, pointId: a, scale: 0 }\ndefaults:\n  scale: 0\n`)).toEqual([
      `${FILE}:12:37: points[1].scale: ${message}`,
      `${FILE}:14:3: defaults.scale: ${message}`,
    ]);
    expect(load("defaults:\n  scale: -0.001\n  offset: -1e3\n").points[0]).toMatchObject({ scale: -0.001, offset: -1000 });
  });

  it("rejects other forms, one problem per key", () => {
    const defaults = `defaults:
  scale: .inf
  offset: x
  decimals: 16
  booleanAs: bool
  enumAs: Label
  heartbeat: true
  trigger: value
`;
    expect(problems(defaults)).toEqual([
      `${FILE}:13:3: defaults.scale: Infinity is not allowed; expected a finite number`,
      `${FILE}:14:3: defaults.offset: expected a number, got text "x"`,
      `${FILE}:15:3: defaults.decimals: 16 is out of range; allowed: a whole number from 0 to 15`,
      `${FILE}:16:3: defaults.booleanAs: "bool" is not allowed; allowed: text, number`,
      `${FILE}:17:3: defaults.enumAs: "Label" is not allowed; did you mean "label"? Allowed: number, label`,
      `${FILE}:18:3: defaults.heartbeat: true is not allowed; write off (or 0) to turn it off, or a duration such as 1m`,
      `${FILE}:19:3: defaults.trigger: "value" is not allowed; allowed: status, statusValue, statusValueTimestamp`,
    ]);
    const point = `  - nodeId: ns=1;s=A
    pointId: a
    decimals: 1.5
    heartbeat: fast
    trigger: StatusValue
    scale: "2"
  - nodeId: ns=1;s=B
    pointId: b
    heartbeat: Off
    decimals: -1
    heartbeat2: 1m
`;
    expect(problems(point)).toEqual([
      `${FILE}:14:5: points[1].decimals: 1.5 is not a whole number; allowed: a whole number from 0 to 15`,
      `${FILE}:15:5: points[1].heartbeat: "fast" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h, or off`,
      `${FILE}:16:5: points[1].trigger: "StatusValue" is not allowed; did you mean "statusValue"? Allowed: status, statusValue, statusValueTimestamp`,
      `${FILE}:17:5: points[1].scale: expected a number, got text "2"`,
      `${FILE}:20:5: points[2].heartbeat: "Off" is not allowed; write off (or 0) to turn it off, or a duration such as 1m`,
      `${FILE}:21:5: points[2].decimals: -1 is out of range; allowed: a whole number from 0 to 15`,
      `${FILE}:22:5: points[2].heartbeat2: unknown key; did you mean "heartbeat"? Allowed: nodeId, pointId, source, field, indexRange, samplingInterval, queueSize, deadband, timestamp, bad, nonFinite, structured, scale, offset, decimals, booleanAs, enumAs, heartbeat, trigger`,
    ]);
    expect(problems("defaults:\n  heartbeat: 250\n")).toEqual([`${FILE}:13:3: defaults.heartbeat: 250 has no unit: write 250ms or 250s`]);
  });
});
