import type { PointSettings } from "../config/types.js";
import type { RawDataValue, Sample } from "../core/types.js";
import { DataTypeId, presentValue, Skip, type SkipReason } from "./values.js";

export type DropReason = SkipReason | "bad_status";

export type Converted =
  | { ok: true; sample: Sample; /** set when the configured timestamp was missing and another was used */ fallback?: "server" | "received" }
  | { ok: false; reason: DropReason };

/** A point's settings for values read from history: "received" means nothing for old values, so source. */
export function historySettings(p: PointSettings): PointSettings {
  return p.timestamp === "received" ? { ...p, timestamp: "source" } : p;
}

/** OPC UA severity from the top two bits: Good with info bits (e.g. Overflow, 0x480) is still Good. */
export function qualityOf(statusCode: number): 0 | 1 | 2 {
  const severity = statusCode >>> 30;
  return severity === 0 ? 0 : severity === 1 ? 1 : 2;
}

/** The timestamp the point is configured to take, or the next one present (`fallbackOf` says which). */
function pickTimestamp(raw: RawDataValue, source: PointSettings["timestamp"]): number {
  if (source === "source") return raw.sourceTimestamp ?? raw.serverTimestamp ?? raw.receivedAt;
  if (source === "server") return raw.serverTimestamp ?? raw.receivedAt;
  return raw.receivedAt;
}

/** Which timestamp stood in for the configured one; undefined when it was there. Apart from pickTimestamp so the usual case allocates nothing. */
function fallbackOf(raw: RawDataValue, source: PointSettings["timestamp"]): "server" | "received" | undefined {
  if (source === "source" && raw.sourceTimestamp === null) return raw.serverTimestamp !== null ? "server" : "received";
  if (source === "server" && raw.serverTimestamp === null) return "received";
  return undefined;
}

/**
 * One OPC UA DataValue → one API sample, or the counted reason it is not sent. `enumLabels`
 * (the node's EnumStrings, when the point sends enumerations as labels) maps an integer to its label.
 */
export function convert(pointId: string, raw: RawDataValue, settings: PointSettings, enumLabels?: readonly string[]): Converted {
  const quality = qualityOf(raw.statusCode);
  if (quality === 2 && settings.bad === "drop") return { ok: false, reason: "bad_status" };
  const label = enumLabels && raw.dataType === DataTypeId.Int32 && raw.arrayType === 0 ? enumLabels[raw.value as number] : undefined;
  const value = label ?? presentValue(raw.dataType, raw.arrayType, raw.value, settings);
  if (value instanceof Skip) return { ok: false, reason: value.reason };
  const sample: Sample = { pointId, ts: Math.floor(pickTimestamp(raw, settings.timestamp)), value, quality };
  const fallback = fallbackOf(raw, settings.timestamp);
  return fallback ? { ok: true, sample, fallback } : { ok: true, sample };
}
