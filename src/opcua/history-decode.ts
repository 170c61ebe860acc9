import { BinaryStream, HistoryData, Variant } from "node-opcua";
import type { RawDataValue } from "../core/types.js";
import { readRawDataValue } from "./datavalue-decode.js";
import { putInPlace } from "./in-place.js";

// A HistoryRead answers with HistoryData: an array of DataValues that node-opcua decodes into a
// DataValue, a Variant, two Dates and a StatusCode per value, which history.ts then reduces to a
// RawDataValue. For a backfill that was about a fifth of the connector's CPU. This module decodes
// the same bytes straight into RawDataValues (datavalue-decode.ts, exact to node-opcua + toRaw)
// and puts that decoder in HistoryData's place. Values node-opcua must post-process (an
// ExtensionObject may be an opaque structure that the session resolves) make the whole
// HistoryData fall back to node-opcua's decoder. So does anything it throws on.
//
// Whoever reads `dataValues` of a HistoryData decoded here still gets node-opcua's DataValues:
// they are decoded on first access from a copy of the bytes. history.ts takes the RawDataValues
// instead (rawHistoryValues), and asks for the response without node-opcua's ClientSession
// wrapper, which would read `dataValues` of every result to look for opaque structures.

const RAW = Symbol("opcua-ingest raw history values");

type HistoryDataWithRaw = HistoryData & { [RAW]?: RawDataValue[] | null };

/**
 * HistoryData.dataValues decoded into RawDataValues (receivedAt 0), the stream moved past them; null
 * for a null array; undefined (the stream where it was) when node-opcua's decoder must do it.
 */
export function decodeRawHistoryValues(stream: BinaryStream): RawDataValue[] | null | undefined {
  const start = stream.length;
  try {
    const length = stream.readUInt32();
    if (length === 0xffffffff) return null;
    stream.checkArrayLength(length);
    const out: RawDataValue[] = [];
    const scratch = new Variant();
    for (let i = 0; i < length; i++) {
      const value = readRawDataValue(stream, scratch);
      if (value === undefined) {
        stream.length = start;
        return undefined;
      }
      out.push(value);
    }
    return out;
  } catch {
    stream.length = start; // node-opcua's decoder meets the same bytes and reports them its way
    return undefined;
  }
}

/**
 * The RawDataValues of a HistoryData this module decoded (receivedAt 0: the caller sets it); undefined
 * when node-opcua decoded it (read `dataValues` then).
 */
export function rawHistoryValues(data: HistoryData): RawDataValue[] | null | undefined {
  return (data as HistoryDataWithRaw)[RAW];
}

type Decode = (this: HistoryData, stream: BinaryStream) => void;

const proto = HistoryData.prototype as unknown as { decode: Decode };
/** node-opcua's own HistoryData decoder: the fallback, and the comparison in the unit test. */
export const originalHistoryDecode: Decode = proto.decode;

/** `dataValues` as node-opcua would have decoded them, from a copy of the bytes, on first access. */
function lazyDataValues(data: HistoryData, bytes: Buffer): void {
  let decoded: HistoryData["dataValues"] | undefined;
  Object.defineProperty(data, "dataValues", {
    configurable: true,
    enumerable: true,
    get() {
      if (decoded === undefined) {
        const copy = new HistoryData();
        originalHistoryDecode.call(copy, new BinaryStream(bytes));
        decoded = copy.dataValues;
      }
      return decoded;
    },
    set(v: HistoryData["dataValues"]) {
      decoded = v;
    },
  });
}

function decodeHistoryData(this: HistoryData, stream: BinaryStream): void {
  const start = stream.length;
  const raw = decodeRawHistoryValues(stream);
  if (raw === undefined) {
    originalHistoryDecode.call(this, stream);
    return;
  }
  (this as HistoryDataWithRaw)[RAW] = raw;
  lazyDataValues(this, Buffer.from(stream.buffer.subarray(start, stream.length)));
}

/** Puts decodeHistoryData in HistoryData's place; idempotent. True when node-opcua now calls it. */
export function installHistoryDecoder(): boolean {
  return typeof originalHistoryDecode === "function" && putInPlace(proto, "decode", decodeHistoryData);
}
