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
}

export interface PointConfig extends PointSettings {
  pointId: string;
  /** As written in the mapping: `ns=3;s=Boiler1.Temperature` or `nsu=urn:plant;s=Boiler1.Temperature`. */
  nodeId: string;
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
}

export interface BatchConfig {
  maxValues: number;
  maxDelayMs: number;
}

export interface Mapping {
  /** Absolute path of the mapping file. */
  file: string;
  opcua: OpcuaConfig;
  ingest: IngestConfig;
  batch: BatchConfig;
  /** Absolute path; relative paths in the file are resolved against the mapping file's folder. */
  state: string;
  points: PointConfig[];
}
