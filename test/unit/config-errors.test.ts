import { describe, expect, it } from "vitest";
import { MappingError, parseMapping } from "../../src/config/index.js";

const FILE = "mappings/plant.yaml";

function failure(text: string, env: Record<string, string | undefined> = {}): MappingError {
  try {
    parseMapping(text, FILE, env);
  } catch (error) {
    if (error instanceof MappingError) return error;
    throw error;
  }
  throw new Error("expected a MappingError");
}

const lines = (text: string, env?: Record<string, string | undefined>) => failure(text, env).message.split("\n");

const OPCUA = `opcua:
  endpoint: opc.tcp://localhost:4840
`;
const INGEST = `ingest:
  baseUrl: https://api.example.com
  partitionId: p
  tokenUrl: https://auth.example.com/oauth/token
  clientId: c
  clientSecret: s
`;
const POINTS = `points:
  - nodeId: i=2258
    pointId: server-time
`;

describe("mapping problems", () => {
  it("collects every problem of a file, sorted by position, one line each", () => {
    const text = `opcua:
  endpoint: http://scada:4840
  securityMod: Sign
  securityMode: signandencrypt
ingest:
  baseUrl: ftp://api.example.com
  tokenUrl: https://
  clientId: 5
  clientSecret: s
  concurrency: 1000
  maxRequestsPerSecond: -1
batch:
  maxValues: 500
  maxDelay: 0
defaults:
  samplingInterval: 250
  deadband: { absolut: 1 }
  queueSize: 2.5
  timestamp: Source
points:
  - nodeId: Boiler1.Temperature
    pointId: a b
    samplingInterval: fast
  - nodeId: ns=3;s=X
    pointId: p
    deadband: { percent: 150 }
  - nodeId: " ns=3;s=X"
    pointId: p
    sampleInterval: 1s
  - nodeId: ns=x;i=5
    pointId: q
`;
    const error = failure(text);
    expect(error.code).toBe("OI_MAPPING_INVALID");
    expect(error.message.split("\n")).toEqual([
      `${FILE}:2:3: opcua.endpoint: "http://scada:4840" must start with opc.tcp://, e.g. opc.tcp://scada-gw:4840`,
      `${FILE}:3:3: opcua.securityMod: unknown key; did you mean "securityMode"? Allowed: endpoint, securityMode, securityPolicy, user, trustServerCertificate, applicationName, publishingInterval, sessionTimeout, reconnectMaxDelay, retryUnknownNodes`,
      `${FILE}:4:3: opcua.securityMode: "signandencrypt" is not allowed; did you mean "SignAndEncrypt"? Allowed: None, Sign, SignAndEncrypt`,
      `${FILE}:5:1: ingest.partitionId: missing required key "partitionId" (Partition the points belong to)`,
      `${FILE}:6:3: ingest.baseUrl: "ftp://api.example.com" must start with https:// or http://, e.g. https://api.example.com/ingest`,
      `${FILE}:7:3: ingest.tokenUrl: "https://" is not a valid URL (no host name?), e.g. https://tenant.eu.auth0.com/oauth/token`,
      `${FILE}:8:3: ingest.clientId: expected text, got the number 5; put the value in quotes`,
      `${FILE}:10:3: ingest.concurrency: 1000 is out of range; allowed: a whole number from 1 to 256`,
      `${FILE}:11:3: ingest.maxRequestsPerSecond: -1 is out of range; allowed: a number of 0 or more`,
      `${FILE}:13:3: batch.maxValues: 500 is out of range; allowed: a whole number from 1 to 100 (the Ingest API accepts at most 100 values per request)`,
      `${FILE}:14:3: batch.maxDelay: 0 is not allowed here; it must be more than 0, e.g. 5s`,
      `${FILE}:16:3: defaults.samplingInterval: 250 has no unit: write 250ms or 250s`,
      `${FILE}:17:3: defaults.deadband: unknown key "absolut"; did you mean "absolute"? Write none, { absolute: N } with N >= 0, or { percent: N } with N from 0 to 100`,
      `${FILE}:18:3: defaults.queueSize: 2.5 is not a whole number; allowed: a whole number of 1 or more`,
      `${FILE}:19:3: defaults.timestamp: "Source" is not allowed; did you mean "source"? Allowed: source, server, received`,
      `${FILE}:21:5: points[0].nodeId: "Boiler1.Temperature" is not a node id: the identifier type is missing; write e.g. ns=<index>;s=Boiler1.Temperature (identifier types: i= (numeric), s= (string), g= (GUID) or b= (opaque, base64))`,
      `${FILE}:22:5: points[0].pointId: "a b" contains whitespace or "/"; a pointId has neither`,
      `${FILE}:23:5: points[0].samplingInterval: "fast" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h`,
      `${FILE}:26:17: points[1].deadband.percent: 150 is out of range; allowed: a number from 0 to 100`,
      `${FILE}:27:5: points[2].nodeId: duplicate nodeId "ns=3;s=X" (first used at line 24)`,
      `${FILE}:28:5: points[2].pointId: duplicate pointId "p" (first used at line 25)`,
      `${FILE}:29:5: points[2].sampleInterval: unknown key; did you mean "samplingInterval"? Allowed: nodeId, pointId, source, field, indexRange, samplingInterval, queueSize, deadband, timestamp, bad, nonFinite, structured, scale, offset, decimals, booleanAs, enumAs, heartbeat, trigger`,
      `${FILE}:30:5: points[3].nodeId: "ns=x;i=5" is not a node id: namespace index "x" must be a whole number from 0 to 65535`,
    ]);
    expect(error.problems[0]).toEqual({
      file: FILE,
      line: 2,
      column: 3,
      key: "opcua.endpoint",
      message: `"http://scada:4840" must start with opc.tcp://, e.g. opc.tcp://scada-gw:4840`,
    });
    expect(error.problems).toHaveLength(error.message.split("\n").length);
  });

  it("places a missing required key at the mapping it belongs in", () => {
    expect(lines(`${OPCUA}${POINTS}`)).toEqual([
      `${FILE}:1:1: ingest: missing required key "ingest" (Where the values go: the Point Value Ingest API)`,
    ]);
    expect(lines(`${OPCUA}${INGEST}points:\n  - pointId: a\n`)).toEqual([
      `${FILE}:10:5: points[0].nodeId: missing required key "nodeId" (OPC UA node id, e.g. "ns=3;s=Boiler1.Temperature", "nsu=urn:plant;i=1001", "i=2258")`,
    ]);
    expect(lines(`opcua: {}\n${INGEST}${POINTS}`)).toEqual([
      `${FILE}:1:1: opcua.endpoint: missing required key "endpoint" (Address of the OPC UA server, e.g. opc.tcp://scada-gw:4840)`,
    ]);
  });

  it("reports empty sections, an empty point list and an empty file", () => {
    expect(lines(`${OPCUA}ingest:\npoints: []\n`)).toEqual([
      `${FILE}:3:1: ingest: is empty; expected a mapping (indented key: value lines)`,
      `${FILE}:4:1: points: lists no points; add at least one { nodeId, pointId }`,
    ]);
    expect(lines("# nothing yet\n")).toEqual([`${FILE}:1:1: the file is empty; it needs opcua (or sources), ingest and points`]);
    expect(lines(`${OPCUA}${INGEST}points:\n  - nodeId: i=1\n    pointId: a\n  -\n`)).toEqual([
      `${FILE}:12:4: points[1]: is empty; expected a mapping (indented key: value lines)`,
    ]);
  });

  it("words values of the wrong shape, once per key", () => {
    const text = `${OPCUA}  publishingInterval:
  securityMode: [Sign]
${INGEST}${POINTS}    deadband: { absolute: 1, percent: 2 }
  - { nodeId: "ns=1;s=C", pointId: c, deadband: { absolute: x } }
  - nodeId: ns=1;s=D
    pointId: ""
    queueSize: "10"
    deadband: Absolute
    samplingInterval: -1s
`;
    expect(lines(text)).toEqual([
      `${FILE}:3:3: opcua.publishingInterval: is empty; write a number with a unit: 250ms, 5s, 1m, 1h`,
      `${FILE}:4:3: opcua.securityMode: a list is not allowed; allowed: None, Sign, SignAndEncrypt`,
      `${FILE}:14:5: points[0].deadband: write exactly one of absolute or percent, i.e. none, { absolute: N } with N >= 0, or { percent: N } with N from 0 to 100`,
      `${FILE}:15:39: points[1].deadband: absolute must be a number of 0 or more, got text "x"`,
      `${FILE}:17:5: points[2].pointId: must not be empty`,
      `${FILE}:18:5: points[2].queueSize: expected a number, got text "10"; allowed: a whole number of 1 or more`,
      `${FILE}:19:5: points[2].deadband: text "Absolute" is not allowed; write none, { absolute: N } with N >= 0, or { percent: N } with N from 0 to 100`,
      `${FILE}:20:5: points[2].samplingInterval: "-1s" is negative; a duration is 0 or more`,
    ]);
  });

  it("reports a duration too long for a timer as a problem of the file, not a crash", () => {
    expect(lines(`${OPCUA}  publishingInterval: 597h\n${INGEST}${POINTS}    samplingInterval: 1000h\n`)).toEqual([
      `${FILE}:3:3: opcua.publishingInterval: "597h" is too long; the longest duration is 596h`,
      `${FILE}:13:5: points[0].samplingInterval: "1000h" is too long; the longest duration is 596h`,
    ]);
  });

  it("reports unknown keys at every level, with or without a suggestion", () => {
    expect(lines(`${OPCUA}${INGEST}${POINTS}statee: ./state\nfoo: 1\n`)).toEqual([
      `${FILE}:12:1: statee: unknown key; did you mean "state"? Allowed: opcua, sources, ingest, batch, spool, gapFill, backfill, ops, state, defaults, points, $schema`,
      `${FILE}:13:1: foo: unknown key; allowed: opcua, sources, ingest, batch, spool, gapFill, backfill, ops, state, defaults, points, $schema`,
    ]);
    // A key quoted across lines still gives one line per problem.
    expect(lines(`${OPCUA}${INGEST}${POINTS}"two\\nlines": 1\n`)).toEqual([
      `${FILE}:12:1: two\\nlines: unknown key; allowed: opcua, sources, ingest, batch, spool, gapFill, backfill, ops, state, defaults, points, $schema`,
    ]);
    expect(lines(`${OPCUA}  user: { username: u, pasword: x }\n${INGEST}${POINTS}`)).toEqual([
      `${FILE}:3:3: opcua.user.password: missing required key "password"; give password or passwordFile for the user`,
      `${FILE}:3:24: opcua.user.pasword: unknown key; did you mean "password"? Allowed: username, password, passwordFile, certificate, privateKey`,
    ]);
  });

  it("requires securityMode None exactly when securityPolicy is None, naming both keys", () => {
    expect(lines(`${OPCUA}  securityPolicy: Basic256Sha256\n${INGEST}${POINTS}`)).toEqual([
      `${FILE}:3:3: opcua.securityPolicy: securityPolicy Basic256Sha256 needs securityMode Sign or SignAndEncrypt, but securityMode is None; set securityMode, or set securityPolicy to None for an unsecured connection`,
    ]);
    expect(lines(`${OPCUA}  securityMode: Sign\n${INGEST}${POINTS}`)).toEqual([
      `${FILE}:3:3: opcua.securityMode: securityMode Sign needs a securityPolicy other than None (Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss), but securityPolicy is not set (None); set securityPolicy, or set securityMode to None for an unsecured connection`,
    ]);
    // An unknown policy is one problem, not two.
    expect(lines(`${OPCUA}  securityMode: Sign\n  securityPolicy: Basic128\n${INGEST}${POINTS}`)).toHaveLength(1);
  });

  it("checks the forms of user login", () => {
    const user = (value: string) => lines(`${OPCUA}  user: ${value}\n${INGEST}${POINTS}`);
    expect(user("{ username: u, password: a, passwordFile: b }")).toEqual([
      `${FILE}:3:37: opcua.user.passwordFile: give password or passwordFile, not both`,
      `${FILE}:3:37: opcua.user.passwordFile: cannot read "${process.cwd()}/mappings/b": no such file`,
    ]);
    expect(user("{ password: a }")).toEqual([
      `${FILE}:3:3: opcua.user.username: missing required key "username"; a password needs a user name`,
    ]);
    expect(user("{ username: u, certificate: c.pem, privateKey: k.pem }")).toEqual([
      `${FILE}:3:3: opcua.user: mixes username and certificate login; give username with password or passwordFile, or certificate with privateKey`,
      expect.stringContaining('opcua.user.certificate: cannot read "'),
      expect.stringContaining('opcua.user.privateKey: cannot read "'),
    ]);
    expect(user("{ certificate: ../test/fixtures/mappings/secrets/client-secret.txt }")).toEqual([
      `${FILE}:3:3: opcua.user.privateKey: missing required key "privateKey"; the certificate needs its private key file`,
    ]);
    expect(user("{}")).toEqual([
      `${FILE}:3:3: opcua.user: names no login; omit user for anonymous login, or give username with password or passwordFile, or certificate with privateKey`,
    ]);
  });

  it("requires exactly one of clientSecret and clientSecretFile", () => {
    const withoutSecret = INGEST.replace("  clientSecret: s\n", "");
    expect(lines(`${OPCUA}${withoutSecret}${POINTS}`)).toEqual([
      `${FILE}:3:1: ingest.clientSecret: missing required key "clientSecret"; give clientSecret (e.g. \${CLIENT_SECRET}) or clientSecretFile`,
    ]);
  });

  it("names the file that cannot be read, resolved against the mapping's folder", () => {
    const text = `${OPCUA}${INGEST.replace("  clientSecret: s\n", "  clientSecretFile: secrets/missing.txt\n")}${POINTS}`;
    const error = failure(text);
    expect(error.problems).toEqual([
      {
        file: FILE,
        line: 8,
        column: 3,
        key: "ingest.clientSecretFile",
        message: `cannot read "${process.cwd()}/mappings/secrets/missing.txt": no such file`,
      },
    ]);
  });

  it("reports duplicate pointIds and nodeIds with the line of the first use", () => {
    const text = `${OPCUA}${INGEST}points:
  - nodeId: ns=3;s=A
    pointId: abc
  - nodeId: ns=3;s=B
    pointId: def
  - nodeId: "ns=3;s=A "
    pointId: abc
`;
    expect(lines(text)).toEqual([
      `${FILE}:14:5: points[2].nodeId: duplicate nodeId "ns=3;s=A" (first used at line 10)`,
      `${FILE}:15:5: points[2].pointId: duplicate pointId "abc" (first used at line 11)`,
    ]);
  });

  it("reports YAML syntax errors with their position and stops there", () => {
    const error = failure(`opcua:\n  endpoint: opc.tcp://x\n  endpoint: opc.tcp://y\nfoo: : bar\n`);
    expect(error.problems.map((problem) => [problem.line, problem.column, problem.key])).toEqual([
      [3, 3, ""],
      [4, 6, ""],
    ]);
    expect(error.message.split("\n")[0]).toBe(
      `${FILE}:3:3: not valid YAML: Map keys must be unique; this key is set twice in the same mapping`,
    );
    expect(lines(`${OPCUA}${INGEST}${POINTS}state: @home\n`)).toEqual([
      `${FILE}:12:8: not valid YAML: Plain value cannot start with reserved character @; put the value in quotes`,
    ]);
  });
});

describe("secrets in problems", () => {
  const SECRET = "Tr0ub4dor&3: #x";

  it("never shows a secret value, whatever is wrong with it", () => {
    const messages = [
      failure(`${OPCUA}  user: { username: u, password: [ "${SECRET}" ] }\n${INGEST}${POINTS}`).message,
      failure(`${OPCUA}${INGEST.replace("clientSecret: s", "clientSecret: 123456789")}${POINTS}`).message,
      failure(`${OPCUA}${INGEST.replace("clientSecret: s", "clientSecret: ${SECRET}")}${POINTS}statee: 1\n`, { SECRET }).message,
      failure(`${OPCUA}${INGEST.replace("clientSecret: s", "clientSecret: ${SECRET} ${OOPS")}${POINTS}`, { SECRET }).message,
      failure(`${OPCUA}${INGEST.replace("clientSecret: s", "clientSecret: \"${1x}${SECRET}\"")}${POINTS}`, { SECRET }).message,
      failure(`${OPCUA}${INGEST.replace("clientSecret: s", `clientSecret: "${SECRET}"\n  clientSecretFile: ../test/fixtures/mappings/secrets/client-secret.txt`)}${POINTS}`).message,
    ];
    expect(messages[1]).toContain("ingest.clientSecret: expected text, got a number; put the value in quotes");
    expect(messages[4]).toContain("ingest.clientSecret: a variable reference is not a valid variable reference");
    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain("Tr0ub4dor");
      expect(message).not.toContain("123456789");
      expect(message).not.toContain("s3cr3t-from-file");
    }
  });

  it("refuses URL path steps as ids and a base URL that the values' paths cannot be appended to, without echoing a user or query", () => {
    const ingest = (baseUrl: string, partitionId = "p") => INGEST.replace("https://api.example.com", baseUrl).replace("partitionId: p", `partitionId: "${partitionId}"`);
    expect(lines(`${OPCUA}${ingest("https://api.example.com", "..")}points:\n  - { nodeId: i=2258, pointId: "." }\n`)).toEqual([
      `${FILE}:5:3: ingest.partitionId: ".." is a URL path step ("." or ".."), not a partitionId: the values would go to another path; any other name with dots is fine`,
      `${FILE}:10:23: points[0].pointId: "." is a URL path step ("." or ".."), not a pointId: the values would go to another path; any other name with dots is fine`,
    ]);
    const withUser = lines(`${OPCUA}${ingest("https://me:hunter2@api.example.com/ingest")}${POINTS}`);
    expect(withUser).toEqual([`${FILE}:4:3: ingest.baseUrl: must not hold a user name or password (the API is called with the OAuth token); e.g. https://api.example.com/ingest`]);
    const withQuery = lines(`${OPCUA}${ingest("https://api.example.com/ingest?key=k3y#x")}${POINTS}`);
    expect(withQuery).toEqual([`${FILE}:4:3: ingest.baseUrl: must not have a query ("?…") or fragment ("#…"): the values' paths are appended to it; e.g. https://api.example.com/ingest`]);
    expect([...withUser, ...withQuery].join("\n")).not.toMatch(/hunter2|k3y/);
    // A pointId with dots in it, and a base URL with a path and a trailing slash, are fine.
    expect(() => parseMapping(`${OPCUA}${ingest("https://api.example.com/ingest/")}points:\n  - { nodeId: i=2258, pointId: a.b.. }\n`, FILE, {})).not.toThrow();
  });

  it("does not quote the source of a YAML error, which may hold a secret", () => {
    const message = failure(`${OPCUA}${INGEST.replace("clientSecret: s", "clientSecret: Tr0ub4dor: x")}${POINTS}`).message;
    expect(message).toMatch(/^mappings\/plant\.yaml:8:\d+: not valid YAML: /);
    expect(message).not.toContain("Tr0ub4dor");
    const escape = failure(`${OPCUA}${INGEST.replace("clientSecret: s", 'clientSecret: "Tr0\\qb4dor"')}${POINTS}`).message;
    expect(escape).toBe(
      `${FILE}:8:21: not valid YAML: invalid \\ escape in a "double-quoted" value; use 'single quotes', or write \\\\ for a backslash`,
    );
  });
});
