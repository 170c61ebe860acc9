import { describe, expect, it } from "vitest";
import { MappingError, parseMapping } from "../../src/config/index.js";

const FILE = "mappings/plant.yaml";

const mapping = (lines: { opcua?: string; ingest?: string; point?: string; extra?: string } = {}) => `opcua:
  endpoint: opc.tcp://localhost:4840
${lines.opcua ?? ""}ingest:
  baseUrl: https://api.example.com
  partitionId: p
  tokenUrl: https://auth.example.com/oauth/token
  clientId: c
  clientSecret: \${CLIENT_SECRET:-s}
${lines.ingest ?? ""}points:
  - nodeId: i=2258
    pointId: server-time
${lines.point ?? ""}${lines.extra ?? ""}`;

function problems(text: string, env: Record<string, string | undefined>): string[] {
  try {
    parseMapping(text, FILE, env);
  } catch (error) {
    if (error instanceof MappingError) return error.message.split("\n");
    throw error;
  }
  throw new Error("expected a MappingError");
}

describe("${VAR} interpolation", () => {
  it("substitutes variables anywhere in a string, after YAML parsing", () => {
    const secret = 'a: #b\n- c "quoted" ${NOT_A_REF}';
    const result = parseMapping(
      mapping({ opcua: "  applicationName: app-${SITE}-${LINE}\n" }).replace("localhost", "${HOST}"),
      FILE,
      { HOST: "scada-gw", SITE: "north", LINE: "7", CLIENT_SECRET: secret },
    );
    expect(result.opcua.endpoint).toBe("opc.tcp://scada-gw:4840");
    expect(result.opcua.applicationName).toBe("app-north-7");
    // The value is not YAML and not interpolated again.
    expect(result.ingest.clientSecret).toBe(secret);
  });

  it("uses the default when the variable is unset or empty", () => {
    expect(parseMapping(mapping(), FILE, {}).ingest.clientSecret).toBe("s");
    expect(parseMapping(mapping(), FILE, { CLIENT_SECRET: "" }).ingest.clientSecret).toBe("s");
    expect(parseMapping(mapping(), FILE, { CLIENT_SECRET: "x" }).ingest.clientSecret).toBe("x");
    const emptyDefault = mapping({ opcua: "  applicationName: name${SUFFIX:-}\n" });
    expect(parseMapping(emptyDefault, FILE, {}).opcua.applicationName).toBe("name");
  });

  it("reads a value that is exactly one reference as YAML, so numbers and booleans keep their type", () => {
    const text = mapping({
      opcua: "  trustServerCertificate: ${TRUST:-true}\n  publishingInterval: ${PUBLISH:-250ms}\n",
      ingest: "  concurrency: ${CONCURRENCY}\n  maxRequestsPerSecond: ${RATE:-0.5}\n",
      point: "    samplingInterval: ${SAMPLING:-0}\n",
      extra: "batch:\n  maxValues: ${N:-100}\n",
    });
    const result = parseMapping(text, FILE, { CONCURRENCY: "32" });
    expect(result.opcua.trustServerCertificate).toBe(true);
    expect(result.opcua.publishingIntervalMs).toBe(250);
    expect(result.ingest.concurrency).toBe(32);
    expect(result.ingest.maxRequestsPerSecond).toBe(0.5);
    expect(result.batch.maxValues).toBe(100);
    expect(result.points[0]?.samplingIntervalMs).toBe(0);

    expect(problems(text, { CONCURRENCY: "lots" })).toEqual([
      `${FILE}:11:3: ingest.concurrency: expected a number, got text "lots"; allowed: a whole number from 1 to 256`,
    ]);
  });

  it("keeps text keys as text even when the value looks like a number or boolean", () => {
    const text = mapping().replace("partitionId: p", "partitionId: ${PARTITION}").replace("clientId: c", "clientId: ${ID}");
    const result = parseMapping(text, FILE, { PARTITION: "00123", ID: "true", CLIENT_SECRET: "1e3" });
    expect(result.ingest.partitionId).toBe("00123");
    expect(result.ingest.clientId).toBe("true");
    expect(result.ingest.clientSecret).toBe("1e3");
  });

  it("reports a missing variable with file, line, key and name, and nothing else for that key", () => {
    const text = mapping({ point: "    samplingInterval: ${SAMPLING}\n" }).replace("partitionId: p", "partitionId: ${PARTITION_ID}");
    expect(problems(text, {})).toEqual([
      `${FILE}:5:3: ingest.partitionId: environment variable PARTITION_ID is not set; set it, or write \${PARTITION_ID:-default}`,
      `${FILE}:12:5: points[0].samplingInterval: environment variable SAMPLING is not set; set it, or write \${SAMPLING:-default}`,
    ]);
  });

  it("reports every missing variable of one value", () => {
    const text = mapping({ opcua: "  applicationName: ${A}-${B}\n" });
    expect(problems(text, {})).toEqual([
      `${FILE}:3:3: opcua.applicationName: environment variable A is not set; set it, or write \${A:-default}`,
      `${FILE}:3:3: opcua.applicationName: environment variable B is not set; set it, or write \${B:-default}`,
    ]);
  });

  it("treats $${ as a literal ${ and leaves other dollars alone", () => {
    const text = mapping({ opcua: "  applicationName: 'price $5, $$ and $${HOME:-x} stay; ${HOME} is replaced'\n" });
    expect(parseMapping(text, FILE, { HOME: "/root" }).opcua.applicationName).toBe("price $5, $$ and ${HOME:-x} stay; /root is replaced");
  });

  it("reports malformed references", () => {
    expect(problems(mapping({ opcua: "  applicationName: ${OPEN\n" }), {})).toEqual([
      `${FILE}:3:3: opcua.applicationName: has a "\${" without a closing "}"; write \${NAME} or \${NAME:-default}, or $\${ for a literal \${`,
    ]);
    expect(problems(mapping({ opcua: "  applicationName: ${1ST}\n" }), {})).toEqual([
      `${FILE}:3:3: opcua.applicationName: "\${1ST}" is not a valid variable reference (names use letters, digits and _); write \${NAME} or \${NAME:-default}, or $\${ for a literal \${`,
    ]);
  });

  it("does not touch keys or comments", () => {
    const text = mapping({ extra: "# ${NOT_SET} in a comment\n" });
    expect(() => parseMapping(text, FILE, {})).not.toThrow();
    expect(problems(mapping({ extra: "${KEY}: 1\n" }), {})).toEqual([
      `${FILE}:12:1: \${KEY}: unknown key; allowed: opcua, sources, ingest, batch, spool, gapFill, backfill, ops, state, defaults, points, $schema`,
    ]);
  });
});
