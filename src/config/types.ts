// The mapping after loading: ${VAR} interpolated, defaults applied, durations in milliseconds,
// paths absolute. Everything downstream reads this shape, never the raw YAML.

export type SecurityMode = "None" | "Sign" | "SignAndEncrypt";
export type SecurityPolicy = "None" | "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";
export type TimestampSource = "source" | "server" | "received";

export type Deadband =
  | { kind: "none" }
  | { kind: "absolute"; value: number }
  | { kind: "percent"; value: number };

/** Settings a point inherits from `defaults` and may override. */
export interface PointSettings {
  samplingIntervalMs: number;
  queueSize: number;
  deadband: Deadband;
  timestamp: TimestampSource;
  /** Bad status values: dropped and counted (default) or sent (with qualityOfValue 2 when enabled). */
  bad: "drop" | "send";
  /** NaN / ±Infinity: dropped and counted (default) or sent as "NaN", "Infinity", "-Infinity". */
  nonFinite: "drop" | "send";
  /** Arrays and structures: sent as JSON text (default) or skipped and counted. */
  structured: "json" | "skip";
  /** Numbers are sent as value * scale + offset; never 0. Default 1. */
  scale: number;
  /** Default 0. */
  offset: number;
  /** Round numbers to this many decimals (0..15); absent = the shortest round-trip decimal, no rounding. */
  decimals?: number;
  /** Booleans as "true"/"false" (text, default) or "1"/"0" (number). */
  booleanAs: "text" | "number";
  /** Enumerations as their integer (default) or their EnumStrings label. */
  enumAs: "number" | "label";
  /** Re-send the last value stamped with the current time after this long without a change; 0 = off (default). */
  heartbeatMs: number;
  /** OPC UA DataChangeTrigger; statusValueTimestamp also reports a repeat of a value with a new source timestamp. */
  trigger: DataChangeTrigger;
}

export type DataChangeTrigger = "status" | "statusValue" | "statusValueTimestamp";

export interface PointConfig extends PointSettings {
  pointId: string;
  /** Name of the source (sources[].name; "default" for the `opcua` section) the node is read from. */
  source: string;
  /** As written in the mapping: `ns=3;s=Boiler1.Temperature` or `nsu=urn:plant;s=Boiler1.Temperature`. */
  nodeId: string;
  /** Dotted path of one field of a structure value, e.g. "Diagnostics.Temperature"; absent = the whole value. */
  field?: string;
  /** OPC UA NumericRange asked of the server with the monitored item (and history reads), e.g. "2". */
  indexRange?: string;
  /** 1-based line of the point's entry in the mapping file, for messages that name it. */
  line: number;
}

export type UserIdentity =
  | { kind: "anonymous" }
  | { kind: "username"; username: string; password: string }
  | { kind: "certificate"; certificateFile: string; privateKeyFile: string };

export interface OpcuaConfig {
  endpoint: string;
  securityMode: SecurityMode;
  securityPolicy: SecurityPolicy;
  user: UserIdentity;
  /** Accept a server certificate that is not in state/pki/trusted. Off by default; warned when on. */
  trustServerCertificate: boolean;
  applicationName: string;
  publishingIntervalMs: number;
  sessionTimeoutMs: number;
  /** Cap of the reconnect backoff; reconnection itself never gives up. */
  reconnectMaxDelayMs: number;
}

/** The name of the one source an `opcua:` section makes. */
export const DEFAULT_SOURCE = "default";

/** One OPC UA server (with its redundant backups) the connector reads from. */
export interface SourceConfig extends OpcuaConfig {
  /** [a-z0-9-], unique; "default" for the `opcua` section. */
  name: string;
  /** Redundant servers holding the same nodes, in order of preference; empty = no failover. */
  backupEndpoints: string[];
  /** Switch to a backup when the active server's ServiceLevel drops below this (0..255). Default 200. */
  failoverServiceLevel: number;
  /** Cap of the retry backoff of points whose node does not exist (first retry after 10 s). Default 5 min. */
  retryUnknownNodesMs: number;
}

export interface IngestConfig {
  /** Without trailing slash. Values go to {baseUrl}/partitions/{partitionId}/points/{pointId}/values. */
  baseUrl: string;
  partitionId: string;
  tokenUrl: string;
  audience: string;
  clientId: string;
  clientSecret: string;
  overwrite: boolean;
  qualityOfValue: boolean;
  /** Requests in flight over all points. */
  concurrency: number;
  /** 0 = unlimited. */
  maxRequestsPerSecond: number;
  requestTimeoutMs: number;
  /** Cap of the retry backoff. */
  retryMaxDelayMs: number;
  /** Give up retrying a request after this long (then it is a dead letter); 0 = retry forever (default). */
  retryMaxElapsedMs: number;
  /** Absolute path of a PEM file with the private CA(s) the API's certificate is checked against; checked readable, not read. */
  caFile?: string;
  /** No TLS certificate verification of the API (tests only; warned when on). */
  tlsInsecure: boolean;
}

export interface BatchConfig {
  maxValues: number;
  maxDelayMs: number;
}

/** The durable on-disk queue between the pipeline and the API. */
export interface SpoolConfig {
  /** Whole bytes, at least 1 MiB. Default 1 GiB. */
  maxBytes: number;
  /** At maxBytes: delete the oldest samples (default) or refuse the new ones; either way counted. */
  whenFull: "dropOldest" | "dropNewest";
  /** Group commit: a sample is durable at most this long after it arrives. Default 100 ms. */
  commitIntervalMs: number;
}

export interface ListenAddress {
  /** As Node's server.listen takes it: IPv6 without brackets, e.g. "::1". */
  host: string;
  /** 0 = any free port. */
  port: number;
}

/** The /healthz, /readyz, /metrics and status endpoints. */
export interface OpsConfig {
  /** null = no listener ("off"). Default 127.0.0.1:9464. */
  listen: ListenAddress | null;
  /** Per-point series in /metrics (cardinality grows with the points). Default false. */
  perPointMetrics: boolean;
  /** Bearer token the endpoints require; set whenever listen is not a loopback address. A secret. */
  token?: string;
}

/** After a reconnect, read the values missed during the outage from the server's history. */
export interface GapFillConfig {
  /** "auto" (default) = on when the server supports HistoryRead for the point. */
  enabled: "auto" | boolean;
  /** At most this much history is read back after an outage. Default 24 h. */
  maxWindowMs: number;
}

/** Historian reads of `opcua-ingest backfill` (and of gap filling). */
export interface BackfillConfig {
  /** Points read at once, 1..64. Default 4. */
  concurrency: number;
  /** Time window of one HistoryRead call. Default 1 h. */
  windowMs: number;
  /** numValuesPerNode of one HistoryRead call, 1..100000. Default 1000. */
  valuesPerRead: number;
}

export interface Mapping {
  /** Absolute path of the mapping file. */
  file: string;
  /** Every OPC UA source, in file order; an `opcua:` section is one source named "default". */
  sources: SourceConfig[];
  /**
   * Transition: the first source, for code that knows only one server (backfill, reconcile,
   * validate, the status page). Code that handles several sources reads `sources`.
   */
  opcua: SourceConfig;
  ingest: IngestConfig;
  batch: BatchConfig;
  spool: SpoolConfig;
  gapFill: GapFillConfig;
  backfill: BackfillConfig;
  ops: OpsConfig;
  /** Absolute path; relative paths in the file are resolved against the mapping file's folder. */
  state: string;
  points: PointConfig[];
}
