import type { DataValue } from "node-opcua";
import type { RawDataValue } from "../core/types.js";
import { rawOf } from "./notification-decode.js";

// node-opcua's "null" DateTime is 1601-01-01 (MinDate): it means "not provided".
const MIN_DATE_MS = Date.UTC(1601, 0, 1);

function epochMs(d: Date | null | undefined): number | null {
  const t = d ? d.getTime() : Number.NaN;
  return Number.isNaN(t) || t <= MIN_DATE_MS ? null : t;
}

/**
 * node-opcua's DataValue reduced to plain data for the pure pipeline. The Date is already floored
 * to the millisecond; sourcePicoseconds (the sub-ms remainder) is deliberately ignored: truncation.
 */
export function toRaw(dv: DataValue, receivedAt: number): RawDataValue {
  // Decoded by notification-decode.ts: the same plain data, already made (one object a value: its
  // receivedAt is the last call's).
  const raw = rawOf(dv);
  if (raw !== undefined) {
    raw.receivedAt = receivedAt;
    return raw;
  }
  return {
    dataType: dv.value.dataType,
    arrayType: dv.value.arrayType,
    value: dv.value.value,
    statusCode: dv.statusCode.value,
    sourceTimestamp: epochMs(dv.sourceTimestamp),
    serverTimestamp: epochMs(dv.serverTimestamp),
    receivedAt,
  };
}
