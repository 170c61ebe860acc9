// From the validated file to the Mapping everything downstream reads: defaults applied, durations
// in milliseconds, paths absolute, secrets from their files.
import { dirname, resolve } from "node:path";
import type { Deadband, Mapping, PointSettings, UserIdentity } from "./types.js";
import { parseDuration } from "./duration.js";
import type { Secrets } from "./files.js";
import type { RawMapping } from "./schema.js";

type RawUser = NonNullable<RawMapping["opcua"]["user"]>;
type RawDeadband = RawMapping["defaults"]["deadband"];
type RawPoint = RawMapping["points"][number];

const ms = (duration: string | 0): number => parseDuration(String(duration));

/** `file` is absolute; `pointLine(i)` is the line of points[i]. */
export function normalize(data: RawMapping, file: string, secrets: Secrets, pointLine: (index: number) => number): Mapping {
  const folder = dirname(file);
  const { opcua, ingest, batch, defaults } = data;
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
    },
    batch: { maxValues: batch.maxValues, maxDelayMs: ms(batch.maxDelay) },
    state: resolve(folder, data.state),
    points: data.points.map((point, index) => ({
      pointId: point.pointId,
      nodeId: point.nodeId.trim(),
      line: pointLine(index),
      ...settings(point, defaults),
    })),
  };
}

function settings(point: RawPoint, defaults: RawMapping["defaults"]): PointSettings {
  return {
    samplingIntervalMs: ms(point.samplingInterval ?? defaults.samplingInterval),
    queueSize: point.queueSize ?? defaults.queueSize,
    deadband: deadband(point.deadband ?? defaults.deadband),
    timestamp: point.timestamp ?? defaults.timestamp,
    bad: point.bad ?? defaults.bad,
    nonFinite: point.nonFinite ?? defaults.nonFinite,
    structured: point.structured ?? defaults.structured,
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
