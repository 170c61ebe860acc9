// From the validated file to the Mapping everything downstream reads: defaults applied, durations
// in milliseconds, paths absolute, secrets from their files.
import { dirname, resolve } from "node:path";
import { DEFAULT_SOURCE, type Deadband, type GapFillConfig, type Mapping, type PointConfig, type SourceConfig, type UserIdentity } from "./types.js";
import { parseDuration } from "./duration.js";
import type { Secrets } from "./files.js";
import { parseListen } from "./listen.js";
import { GAP_FILL_WINDOW, type RawMapping } from "./schema.js";
import { parseSize } from "./size.js";

type RawSource = NonNullable<RawMapping["sources"]>[number];
type RawConnection = Omit<RawSource, "name" | "backupEndpoints" | "failoverServiceLevel">;
type RawUser = NonNullable<RawConnection["user"]>;
type RawDeadband = RawMapping["defaults"]["deadband"];
type RawPoint = RawMapping["points"][number];

/**
 * A copy of a string that holds nothing else alive. The YAML parser's strings are slices of the whole
 * file (or chains of pieces after \${VAR}); one slice kept for the life of the process keeps the whole
 * text with it (7 MB at 100,000 points), and a chain costs a node per piece.
 */
const own = (text: string): string => JSON.parse(JSON.stringify(text)) as string;

/** Most points have no deadband: one shared, frozen object instead of one per point. */
const NO_DEADBAND: Deadband = Object.freeze({ kind: "none" });

const ms = (duration: string | 0): number => (duration === "off" ? 0 : parseDuration(String(duration)));

/** `file` is absolute; `pointLine(i)` is the line of points[i]. */
export function normalize(data: RawMapping, file: string, secrets: Secrets, pointLine: (index: number) => number): Mapping {
  const folder = dirname(file);
  const { ingest, batch, spool, backfill, ops, defaults } = data;
  const opsToken = ops.token ?? secrets.opsToken;
  const sources: SourceConfig[] =
    data.sources !== undefined
      ? data.sources.map((raw, index) => ({
          name: own(raw.name),
          ...connection(raw, secrets.sourcePasswords?.[index], folder),
          backupEndpoints: (raw.backupEndpoints ?? []).map(own),
          failoverServiceLevel: raw.failoverServiceLevel,
        }))
      : [{ name: DEFAULT_SOURCE, ...connection(checked(data.opcua, "opcua"), secrets.password, folder), backupEndpoints: [], failoverServiceLevel: 200 }];
  const only = sources.length === 1 ? sources[0]!.name : undefined;
  return {
    file,
    sources,
    opcua: sources[0]!,
    ingest: {
      baseUrl: own(ingest.baseUrl.replace(/\/+$/, "")),
      partitionId: own(ingest.partitionId),
      tokenUrl: own(ingest.tokenUrl),
      audience: own(ingest.audience),
      clientId: own(ingest.clientId),
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
    points: data.points.map((point, index) => pointConfig(point, defaults, checked(point.source ?? only, "source"), pointLine(index))),
  };
}

function connection(raw: RawConnection, password: string | undefined, folder: string): Omit<SourceConfig, "name" | "backupEndpoints" | "failoverServiceLevel"> {
  // retryUnknownNodes is a source's setting too, kept beside the connection keys.
  return {
    endpoint: own(raw.endpoint),
    securityMode: raw.securityMode,
    securityPolicy: raw.securityPolicy,
    user: identity(raw.user, password, folder),
    trustServerCertificate: raw.trustServerCertificate,
    applicationName: raw.applicationName,
    publishingIntervalMs: ms(raw.publishingInterval),
    sessionTimeoutMs: ms(raw.sessionTimeout),
    reconnectMaxDelayMs: ms(raw.reconnectMaxDelay),
    retryUnknownNodesMs: ms(raw.retryUnknownNodes),
  };
}

function gapFillConfig(raw: RawMapping["gapFill"]): GapFillConfig {
  if (typeof raw === "boolean") return { enabled: raw, maxWindowMs: ms(GAP_FILL_WINDOW) };
  return { enabled: raw.enabled, maxWindowMs: ms(raw.maxWindow) };
}

/**
 * One object literal with every key a point always has: V8 keeps them inside the object. Spreading
 * the settings into it had put 12 of the 19 in a second array (192 → 160 B a point, heap snapshots).
 * The optional keys, when a point has one, still go to a small second array (40 B).
 */
function pointConfig(point: RawPoint, defaults: RawMapping["defaults"], source: string, line: number): PointConfig {
  const decimals = point.decimals ?? defaults.decimals;
  const config: PointConfig = {
    pointId: own(point.pointId),
    source,
    nodeId: own(point.nodeId.trim()),
    line,
    samplingIntervalMs: ms(point.samplingInterval ?? defaults.samplingInterval),
    queueSize: point.queueSize ?? defaults.queueSize,
    deadband: deadband(point.deadband ?? defaults.deadband),
    timestamp: point.timestamp ?? defaults.timestamp,
    bad: point.bad ?? defaults.bad,
    nonFinite: point.nonFinite ?? defaults.nonFinite,
    structured: point.structured ?? defaults.structured,
    scale: point.scale ?? defaults.scale,
    offset: point.offset ?? defaults.offset,
    booleanAs: point.booleanAs ?? defaults.booleanAs,
    enumAs: point.enumAs ?? defaults.enumAs,
    heartbeatMs: ms(point.heartbeat ?? defaults.heartbeat),
    trigger: point.trigger ?? defaults.trigger,
  };
  if (point.field !== undefined) config.field = own(point.field);
  if (point.indexRange !== undefined) config.indexRange = String(point.indexRange);
  if (decimals !== undefined) config.decimals = decimals;
  return config;
}

function deadband(raw: RawDeadband): Deadband {
  if (raw === "none") return NO_DEADBAND;
  return "absolute" in raw ? { kind: "absolute", value: raw.absolute } : { kind: "percent", value: raw.percent };
}

function identity(user: RawUser | undefined, filePassword: string | undefined, folder: string): UserIdentity {
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
    password: checked(user.password ?? filePassword, "password"),
  };
}

/** The cross-key rules guarantee these; reaching the throw is a bug in the loader, not in the file. */
function checked<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new Error(`internal error: ${key} passed validation without a value`);
  return value;
}
