// From the validated file to the Mapping everything downstream reads: defaults applied, durations
// in milliseconds, paths absolute, secrets from their files.
import { dirname, resolve } from "node:path";
import type { Deadband, GapFillConfig, Mapping, PointSettings, UserIdentity } from "./types.js";
import { parseDuration } from "./duration.js";
import type { Secrets } from "./files.js";
import { parseListen } from "./listen.js";
import { GAP_FILL_WINDOW, type RawMapping } from "./schema.js";
import { parseSize } from "./size.js";

type RawUser = NonNullable<RawMapping["opcua"]["user"]>;
type RawDeadband = RawMapping["defaults"]["deadband"];
type RawPoint = RawMapping["points"][number];

const ms = (duration: string | 0): number => (duration === "off" ? 0 : parseDuration(String(duration)));

/** `file` is absolute; `pointLine(i)` is the line of points[i]. */
export function normalize(data: RawMapping, file: string, secrets: Secrets, pointLine: (index: number) => number): Mapping {
  const folder = dirname(file);
  const { opcua, ingest, batch, spool, backfill, ops, defaults } = data;
  const opsToken = ops.token ?? secrets.opsToken;
  return {
    file,
    opcua: {
      endpoint: opcua.endpoint,
      securityMode: opcua.securityMode,
      securityPolicy: opcua.securityPolicy,
      user: identity(opcua.user, secrets, folder),
      trustServerCertificate: opcua.trustServerCertificate,
      applicationName: opcua.applicationName,
      publishingIntervalMs: ms(opcua.publishingInterval),
      sessionTimeoutMs: ms(opcua.sessionTimeout),
      reconnectMaxDelayMs: ms(opcua.reconnectMaxDelay),
    },
    ingest: {
      baseUrl: ingest.baseUrl.replace(/\/+$/, ""),
      partitionId: ingest.partitionId,
      tokenUrl: ingest.tokenUrl,
      audience: ingest.audience,
      clientId: ingest.clientId,
      clientSecret: checked(ingest.clientSecret ?? secrets.clientSecret, "clientSecret"),
      overwrite: ingest.overwrite,
      qualityOfValue: ingest.qualityOfValue,
      concurrency: ingest.concurrency,
      maxRequestsPerSecond: ingest.maxRequestsPerSecond,
      requestTimeoutMs: ms(ingest.requestTimeout),
      retryMaxDelayMs: ms(ingest.retryMaxDelay),
      retryMaxElapsedMs: ms(ingest.retryMaxElapsed),
      ...(ingest.caFile === undefined ? {} : { caFile: resolve(folder, ingest.caFile) }),
      tlsInsecure: ingest.tlsInsecure,
    },
    batch: { maxValues: batch.maxValues, maxDelayMs: ms(batch.maxDelay) },
    spool: { maxBytes: parseSize(spool.maxBytes), whenFull: spool.whenFull, commitIntervalMs: ms(spool.commitInterval) },
    gapFill: gapFillConfig(data.gapFill),
    backfill: { concurrency: backfill.concurrency, windowMs: ms(backfill.window), valuesPerRead: backfill.valuesPerRead },
    ops: {
      listen: parseListen(ops.listen),
      perPointMetrics: ops.perPointMetrics,
      ...(opsToken === undefined ? {} : { token: opsToken }),
    },
    state: resolve(folder, data.state),
    points: data.points.map((point, index) => ({
      pointId: point.pointId,
      nodeId: point.nodeId.trim(),
      line: pointLine(index),
      ...settings(point, defaults),
    })),
  };
}

function gapFillConfig(raw: RawMapping["gapFill"]): GapFillConfig {
  if (typeof raw === "boolean") return { enabled: raw, maxWindowMs: ms(GAP_FILL_WINDOW) };
  return { enabled: raw.enabled, maxWindowMs: ms(raw.maxWindow) };
}

function settings(point: RawPoint, defaults: RawMapping["defaults"]): PointSettings {
  const decimals = point.decimals ?? defaults.decimals;
  return {
    samplingIntervalMs: ms(point.samplingInterval ?? defaults.samplingInterval),
    queueSize: point.queueSize ?? defaults.queueSize,
    deadband: deadband(point.deadband ?? defaults.deadband),
    timestamp: point.timestamp ?? defaults.timestamp,
    bad: point.bad ?? defaults.bad,
    nonFinite: point.nonFinite ?? defaults.nonFinite,
    structured: point.structured ?? defaults.structured,
    scale: point.scale ?? defaults.scale,
    offset: point.offset ?? defaults.offset,
    ...(decimals === undefined ? {} : { decimals }),
    booleanAs: point.booleanAs ?? defaults.booleanAs,
    enumAs: point.enumAs ?? defaults.enumAs,
    heartbeatMs: ms(point.heartbeat ?? defaults.heartbeat),
    trigger: point.trigger ?? defaults.trigger,
  };
}

function deadband(raw: RawDeadband): Deadband {
  if (raw === "none") return { kind: "none" };
  return "absolute" in raw ? { kind: "absolute", value: raw.absolute } : { kind: "percent", value: raw.percent };
}

function identity(user: RawUser | undefined, secrets: Secrets, folder: string): UserIdentity {
  if (user === undefined) return { kind: "anonymous" };
  if (user.certificate !== undefined) {
    return {
      kind: "certificate",
      certificateFile: resolve(folder, user.certificate),
      privateKeyFile: resolve(folder, checked(user.privateKey, "privateKey")),
    };
  }
  return {
    kind: "username",
    username: checked(user.username, "username"),
    password: checked(user.password ?? secrets.password, "password"),
  };
}

/** The cross-key rules guarantee these; reaching the throw is a bug in the loader, not in the file. */
function checked<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new Error(`internal error: ${key} passed validation without a value`);
  return value;
}
