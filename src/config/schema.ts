// The mapping file as written (after ${VAR} substitution), key by key. Also the source of
// mappings/schema.json, so every key carries a description for editors; rules that span keys are in rules.ts.
import { z } from "zod";
import { deadband, duration, nodeId, numberIn, pointId, positiveDuration, text, url } from "./fields.js";

export const SECURITY_MODES = ["None", "Sign", "SignAndEncrypt"] as const;
export const SECURITY_POLICIES = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] as const;

const user = z
  .strictObject({
    username: text("User name for username/password login").optional(),
    password: z.string().min(1).describe("Password; prefer ${ENV_VAR} or passwordFile over writing it here").optional(),
    passwordFile: text("File holding the password (trimmed); relative to this file's folder").optional(),
    certificate: text("X.509 user certificate (PEM or DER) file; relative to this file's folder").optional(),
    privateKey: text("Private key (PEM) file of the user certificate; relative to this file's folder").optional(),
  })
  .describe("Omit for anonymous. Either username with password or passwordFile, or certificate with privateKey");

const opcua = z
  .strictObject({
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
  })
  .describe("The OPC UA server to read from");

const ingest = z
  .strictObject({
    baseUrl: url(
      "https",
      "https://api.example.com/ingest",
      "Ingest API base URL; values go to {baseUrl}/partitions/{partitionId}/points/{pointId}/values",
    ),
    partitionId: text("Partition the points belong to"),
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
  })
  .describe("Settings every point inherits; each may be overridden on a point");

const point = z
  .strictObject({
    nodeId: nodeId('OPC UA node id, e.g. "ns=3;s=Boiler1.Temperature", "nsu=urn:plant;i=1001", "i=2258"'),
    pointId: pointId("Point id in the Ingest API (no whitespace, no /)"),
    samplingInterval: settings.samplingInterval.optional(),
    queueSize: settings.queueSize.optional(),
    deadband: settings.deadband.optional(),
    timestamp: settings.timestamp.optional(),
    bad: settings.bad.optional(),
    nonFinite: settings.nonFinite.optional(),
    structured: settings.structured.optional(),
  })
  .describe("One OPC UA variable sent to one point");

export const mappingSchema = z
  .strictObject({
    opcua,
    ingest,
    batch: batch.prefault({}),
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
