// The mapping file as written (after ${VAR} substitution), key by key. Also the source of
// mappings/schema.json, so every key carries a description for editors; rules that span keys are in rules.ts.
import { z } from "zod";
import {
  baseUrl,
  autoOrBoolean,
  deadband,
  duration,
  durationOrOff,
  finiteNumber,
  listenAddress,
  fieldPath,
  indexRange,
  nodeId,
  numberIn,
  partitionId,
  pointId,
  positiveDuration,
  size,
  text,
  url,
} from "./fields.js";
import { DEFAULT_LISTEN } from "./listen.js";
import { describeValue } from "./messages.js";

export const SECURITY_MODES = ["None", "Sign", "SignAndEncrypt"] as const;
export const SECURITY_POLICIES = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] as const;

/** retryUnknownNodes when it is not given. */
export const RETRY_UNKNOWN_NODES = "5m";

const user = z
  .strictObject({
    username: text("User name for username/password login").optional(),
    password: z.string().min(1).describe("Password; prefer ${ENV_VAR} or passwordFile over writing it here").optional(),
    passwordFile: text("File holding the password (trimmed); relative to this file's folder").optional(),
    certificate: text("X.509 user certificate (PEM or DER) file; relative to this file's folder").optional(),
    privateKey: text("Private key (PEM) file of the user certificate; relative to this file's folder").optional(),
  })
  .describe("Omit for anonymous. Either username with password or passwordFile, or certificate with privateKey");

/** The keys of one OPC UA connection: the `opcua` section, and each entry of `sources`. */
const connection = {
  endpoint: url("opc.tcp", "opc.tcp://scada-gw:4840", "Address of the OPC UA server, e.g. opc.tcp://scada-gw:4840"),
  securityMode: z
    .enum(SECURITY_MODES)
    .describe("Message security: None, Sign or SignAndEncrypt; None exactly when securityPolicy is None")
    .default("None"),
  securityPolicy: z
    .enum(SECURITY_POLICIES)
    .describe("Security policy; None exactly when securityMode is None")
    .default("None"),
  user: user.optional(),
  trustServerCertificate: z
    .boolean()
    .describe("Accept a server certificate that is not in state/pki/trusted (logged as a warning)")
    .default(false),
  applicationName: text("Client application name shown by the server").default("opcua-ingest"),
  publishingInterval: positiveDuration("How often the server sends collected changes, e.g. 1s").default("1s"),
  sessionTimeout: positiveDuration("How long the server keeps the session without contact, e.g. 60s").default("60s"),
  reconnectMaxDelay: positiveDuration("Longest wait between reconnect attempts (they never stop)").default("30s"),
  retryUnknownNodes: positiveDuration(
    "A point whose node does not exist (yet) is tried again, first after 10s, backing off to this, e.g. 5m; and after every reconnection",
  ).default(RETRY_UNKNOWN_NODES),
};

const opcua = z.strictObject(connection).describe("The OPC UA server to read from (one source named default); or use sources");

/** Names a source in logs, metrics and points[].source. */
export const SOURCE_NAME = /^[a-z0-9-]+$/;

const source = z
  .strictObject({
    name: z
      .string()
      .regex(SOURCE_NAME, {
        error: (issue) => `${JSON.stringify(issue.input)} is not allowed; a source name uses a-z, 0-9 and -, e.g. line1`,
      })
      .describe("Name of the source: a-z, 0-9 and -, unique; shown in logs, metrics and the status page"),
    ...connection,
    backupEndpoints: z
      .array(url("opc.tcp", "opc.tcp://scada-gw-b:4840", "A redundant server holding the same nodes"))
      .describe("Redundant servers (non-transparent redundancy): used when the active one is lost or its ServiceLevel drops below failoverServiceLevel")
      .optional(),
    failoverServiceLevel: numberIn(
      { min: 0, max: 255, integer: true },
      "Switch to a backup when the active server's ServiceLevel (0-255) drops below this",
    ).default(200),
  })
  .describe("One OPC UA server (with optional backups) and its connection settings");

const ingest = z
  .strictObject({
    baseUrl: baseUrl(
      "https://api.example.com/ingest",
      "Ingest API base URL; values go to {baseUrl}/partitions/{partitionId}/points/{pointId}/values",
    ),
    partitionId: partitionId("Partition the points belong to"),
    tokenUrl: url("https", "https://tenant.eu.auth0.com/oauth/token", "OAuth 2 token endpoint (client credentials)"),
    audience: text("OAuth 2 audience").default("https://horizon.siemens.com"),
    clientId: text("OAuth 2 client id"),
    clientSecret: z.string().min(1).describe("OAuth 2 client secret; use ${ENV_VAR}. Exactly one of clientSecret, clientSecretFile").optional(),
    clientSecretFile: text("File holding the client secret (trimmed); relative to this file's folder").optional(),
    overwrite: z.boolean().describe("Replace values that already exist at the same millisecond").default(false),
    qualityOfValue: z.boolean().describe("Send OPC UA status as qualityOfValue with each value").default(false),
    concurrency: numberIn({ min: 1, max: 256, integer: true }, "Requests in flight over all points").default(8),
    maxRequestsPerSecond: numberIn({ min: 0 }, "Request rate limit; 0 = unlimited").default(0),
    requestTimeout: positiveDuration("Give up on one request after this long, e.g. 30s").default("30s"),
    retryMaxDelay: positiveDuration("Longest wait between retries of a failed request").default("60s"),
    retryMaxElapsed: duration(
      "Give up retrying a request after this long and keep it as a dead letter, e.g. 24h; 0 = retry forever",
    ).default(0),
    caFile: text(
      "PEM file of the private CA(s) the API's TLS certificate is checked against; relative to this file's folder",
    ).optional(),
    tlsInsecure: z
      .boolean()
      .describe("Disable TLS certificate verification of the API — for tests only; logged as a warning")
      .default(false),
  })
  .describe("Where the values go: the Point Value Ingest API");

const batch = z
  .strictObject({
    maxValues: numberIn(
      { min: 1, max: 100, integer: true, why: "the Ingest API accepts at most 100 values per request" },
      "Values per request, 1 to 100",
    ).default(100),
    maxDelay: positiveDuration("Send a batch that is not full after this long, e.g. 5s").default("5s"),
  })
  .describe("How values of one point are grouped into requests");

const MiB = 1024 ** 2;

const spool = z
  .strictObject({
    maxBytes: size(
      MiB,
      "Largest size of the spool on disk: bytes, or a number with B, KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based); at least 1MiB",
    ).default("1GiB"),
    whenFull: z
      .enum(["dropOldest", "dropNewest"])
      .describe("When the spool is full: dropOldest (delete the oldest samples) or dropNewest (refuse new ones); both counted")
      .default("dropOldest"),
    commitInterval: positiveDuration(
      "Group commit: samples are durable at most this long after they arrive, e.g. 100ms",
    ).default("100ms"),
  })
  .describe("The durable on-disk queue (in the state folder) that holds samples until the API has accepted them");

/** maxWindow of gap filling when it is not given (also with the true/false shorthand). */
export const GAP_FILL_WINDOW = "24h";

const gapFill = z
  .union(
    [
      z.boolean(),
      z.strictObject({
        enabled: autoOrBoolean("auto (on when the server supports history), true or false").default("auto"),
        maxWindow: positiveDuration("At most this much history is read back after an outage, e.g. 24h").default(GAP_FILL_WINDOW),
      }),
    ],
    // A mapping with a bad key is reported at that key (validate.ts); this words the other shapes.
    { error: (issue) => (issue.input === undefined ? undefined : gapFillProblem(issue.input)) },
  )
  .describe(
    "After a reconnect, read the values missed during the outage from the server's history: true, false, or { enabled: auto | true | false, maxWindow }",
  );

function gapFillProblem(input: unknown): string {
  const forms = "write true, false or { enabled: auto | true | false, maxWindow: 24h }";
  return input === null ? `is empty; ${forms}` : `${describeValue(input, false)} is not allowed; ${forms}`;
}

const backfill = z
  .strictObject({
    concurrency: numberIn({ min: 1, max: 64, integer: true }, "Points read from the historian at once, 1 to 64").default(4),
    window: positiveDuration("Time window of one HistoryRead call, e.g. 1h").default("1h"),
    valuesPerRead: numberIn(
      { min: 1, max: 100_000, integer: true },
      "Values asked for per point in one HistoryRead call (numValuesPerNode), 1 to 100000",
    ).default(1000),
  })
  .describe("How history is read, by opcua-ingest backfill and by gap filling");

const ops = z
  .strictObject({
    listen: listenAddress(
      "Address of the /healthz, /readyz, /metrics and status endpoints: host:port, [IPv6]:port, or off; a non-loopback address needs token or tokenFile",
    ).default(DEFAULT_LISTEN),
    perPointMetrics: z
      .boolean()
      .describe("Add per-point series to /metrics (their number grows with the points)")
      .default(false),
    token: z
      .string()
      .min(1)
      .describe("Bearer token the ops endpoints require; use ${ENV_VAR}. At most one of token, tokenFile")
      .optional(),
    tokenFile: text("File holding the ops bearer token (trimmed); relative to this file's folder").optional(),
  })
  .describe("Health, metrics and status endpoints");

// One definition per setting, so defaults and per-point overrides cannot drift apart.
const settings = {
  samplingInterval: duration("How often the server samples the value; 0 = on every change (exception-based)"),
  queueSize: numberIn({ min: 1, integer: true }, "Values the server keeps per point between publishes"),
  deadband: deadband("Report a change only when it is larger than this: none, { absolute: N } or { percent: N }"),
  timestamp: z
    .enum(["source", "server", "received"])
    .describe("Timestamp sent with a value: source (device), server (OPC UA server) or received (this connector)"),
  bad: z.enum(["drop", "send"]).describe("Values with Bad status: drop (counted) or send"),
  nonFinite: z.enum(["drop", "send"]).describe('NaN and ±Infinity: drop (counted) or send as "NaN", "Infinity", "-Infinity"'),
  structured: z.enum(["json", "skip"]).describe("Arrays and structures: send as JSON text, or skip (counted)"),
  scale: finiteNumber("Numbers are sent as value * scale + offset; not 0").refine((value) => value !== 0, {
    error: "scale 0 would send every value as the offset; allowed: any number but 0 (1 = unscaled)",
  }),
  offset: finiteNumber("Added to numbers after scale: value * scale + offset"),
  decimals: numberIn(
    { min: 0, max: 15, integer: true },
    "Round numbers to this many decimals, 0 to 15; unset = shortest exact form, no rounding",
  ),
  booleanAs: z.enum(["text", "number"]).describe("Booleans as text (true/false) or number (1/0)"),
  enumAs: z.enum(["number", "label"]).describe("Enumerations as their integer (number) or their EnumStrings text (label)"),
  heartbeat: durationOrOff(
    "Re-send the last value stamped with the current time when it has not changed for this long, e.g. 1m; off or 0 = never",
  ),
  trigger: z
    .enum(["status", "statusValue", "statusValueTimestamp"])
    .describe(
      "Which changes the server reports (OPC UA DataChangeTrigger): status, statusValue, or statusValueTimestamp (also a repeat of the same value with a new source timestamp)",
    ),
};

const defaults = z
  .strictObject({
    samplingInterval: settings.samplingInterval.default("1s"),
    queueSize: settings.queueSize.default(10),
    deadband: settings.deadband.default("none"),
    timestamp: settings.timestamp.default("source"),
    bad: settings.bad.default("drop"),
    nonFinite: settings.nonFinite.default("drop"),
    structured: settings.structured.default("json"),
    scale: settings.scale.default(1),
    offset: settings.offset.default(0),
    decimals: settings.decimals.optional(),
    booleanAs: settings.booleanAs.default("text"),
    enumAs: settings.enumAs.default("number"),
    heartbeat: settings.heartbeat.default("off"),
    trigger: settings.trigger.default("statusValue"),
  })
  .describe("Settings every point inherits; each may be overridden on a point");

const point = z
  .strictObject({
    nodeId: nodeId('OPC UA node id, e.g. "ns=3;s=Boiler1.Temperature", "nsu=urn:plant;i=1001", "i=2258"'),
    pointId: pointId("Point id in the Ingest API (no whitespace, no /)"),
    source: z.string().describe("Name of the source the node is read from; may be left out when there is exactly one source").optional(),
    field: fieldPath('Dotted path of one field of a structure value, e.g. "Diagnostics.Temperature"; the field is sent as a scalar of its type').optional(),
    indexRange: indexRange('OPC UA NumericRange of an array value, e.g. "2", "0:3" or "1,2" (a matrix element); asked of the server, so only that element\'s changes are reported').optional(),
    samplingInterval: settings.samplingInterval.optional(),
    queueSize: settings.queueSize.optional(),
    deadband: settings.deadband.optional(),
    timestamp: settings.timestamp.optional(),
    bad: settings.bad.optional(),
    nonFinite: settings.nonFinite.optional(),
    structured: settings.structured.optional(),
    scale: settings.scale.optional(),
    offset: settings.offset.optional(),
    decimals: settings.decimals.optional(),
    booleanAs: settings.booleanAs.optional(),
    enumAs: settings.enumAs.optional(),
    heartbeat: settings.heartbeat.optional(),
    trigger: settings.trigger.optional(),
  })
  .describe("One OPC UA variable sent to one point");

export const mappingSchema = z
  .strictObject({
    opcua: opcua.optional(),
    sources: z
      .array(source)
      .min(1, { error: "lists no sources; add at least one { name, endpoint }, or use opcua" })
      .describe("The OPC UA servers to read from, each with a name; instead of opcua")
      .optional(),
    ingest,
    batch: batch.prefault({}),
    spool: spool.prefault({}),
    gapFill: gapFill.default({ enabled: "auto", maxWindow: GAP_FILL_WINDOW }),
    backfill: backfill.prefault({}),
    ops: ops.prefault({}),
    state: text("Folder for the spool database, backfill checkpoints and PKI; relative to this file's folder").default(
      "./state",
    ),
    defaults: defaults.prefault({}),
    points: z
      .array(point)
      .min(1, { error: "lists no points; add at least one { nodeId, pointId }" })
      .describe("The OPC UA variables to send, at least one"),
    $schema: z.string().describe("JSON Schema for editors; ignored").optional(),
  })
  .describe("opcua-ingest mapping: which OPC UA variables go to which Ingest API points");

export type RawMapping = z.output<typeof mappingSchema>;
