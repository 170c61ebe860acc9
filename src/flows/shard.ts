// Scale-out: several replicas of `run` share one mapping, each taking a fixed part of its points.
//
// A point's shard is a pure function of its pointId and the shard count, the same on every platform
// and in every version (changing it would move points between running replicas, so it is frozen):
//
//   key   = FNV-1a 32-bit of the pointId's UTF-8 bytes (offset basis 0x811c9dc5, prime 0x01000193)
//   shard = jump consistent hash (Lamping & Veach, 2014) of key into COUNT buckets
//
// Jump consistent hash instead of `key % COUNT`: when COUNT grows from N to N+1 only about 1/(N+1)
// of the points move (all to the new shard) instead of nearly all of them, and shrinking moves only
// the points of the removed shards. The mapping order does not matter; adding a point moves no other.

import { hostname as osHostname } from "node:os";
import { ConnectorError } from "../core/errors.js";

export interface Shard {
  /** 0-based, < count */
  index: number;
  count: number;
}

/** A --shard value that cannot be used; the message says what is allowed. */
export class ShardError extends ConnectorError {
  constructor(message: string) {
    super("SHARD_INVALID", message);
  }
}

export const MAX_SHARDS = 1024;

/**
 * `INDEX/COUNT` (0-based INDEX < COUNT) or `auto/COUNT`, which takes INDEX from the pod ordinal: the
 * trailing `-N` of the hostname, as a Kubernetes StatefulSet names its pods (opcua-ingest-0, -1, …).
 */
export function parseShard(text: string, hostname: string = osHostname()): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ShardError(`--shard "${text}": expected INDEX/COUNT (e.g. 0/3) or auto/COUNT (index from the pod name's trailing -N)`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new ShardError(`--shard "${text}": COUNT must be between 1 and ${MAX_SHARDS}, got ${m[2]}`);
  }
  let index: number;
  if (m[1] === "auto") {
    const ordinal = /-(\d+)$/.exec(hostname.trim());
    if (!ordinal) {
      throw new ShardError(
        `--shard "${text}": the hostname "${hostname}" does not end in -N (a StatefulSet pod is named like opcua-ingest-2); give INDEX/COUNT instead`,
      );
    }
    index = Number(ordinal[1]);
    if (index >= count) {
      throw new ShardError(
        `--shard "${text}": this pod's ordinal ${index} (hostname "${hostname}") is not below COUNT ${count}: set the StatefulSet's replicas to ${count}, or COUNT to the replicas`,
      );
    }
  } else {
    index = Number(m[1]);
    if (index >= count) throw new ShardError(`--shard "${text}": INDEX is 0-based and must be below COUNT (0 … ${count - 1}), got ${index}`);
  }
  return { index, count };
}

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, of the UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const MASK64 = (1n << 64n) - 1n;
const LCG = 2862933555777566533n;

/** Jump consistent hash: a bucket in [0, buckets) for a 64-bit key (here a 32-bit one). */
export function jumpHash(key: number, buckets: number): number {
  let k = BigInt(key);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * LCG + 1n) & MASK64;
    // In the reference's order of double operations, so every implementation agrees bit for bit.
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard (0 … count-1) a point belongs to. */
export function shardOf(pointId: string, count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  return count === 1 ? 0 : jumpHash(fnv1a32(pointId), count);
}

/** The points of one shard, in mapping order. */
export function selectShard<T extends { pointId: string }>(points: readonly T[], shard: Shard): T[] {
  return points.filter((p) => shardOf(p.pointId, shard.count) === shard.index);
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}
