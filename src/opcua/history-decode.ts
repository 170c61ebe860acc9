import { BinaryStream, HistoryData, Variant, decodeVariant, getStatusCodeFromCode } from "node-opcua";
import type { RawDataValue } from "../core/types.js";
import { dateTimeEpochMs } from "./datetime.js";

// A HistoryRead answers with HistoryData: an array of DataValues that node-opcua decodes into a
// DataValue, a Variant, two Dates and a StatusCode per value, which history.ts then reduces to a
// RawDataValue. For a backfill that was about a fifth of the connector's CPU. This module decodes
// the same bytes straight into RawDataValues and puts that decoder in HistoryData's place.
//
// Exactness: the Variant is decoded by node-opcua itself (into one reused Variant) unless it is
// a scalar number or Boolean, which are read with the same stream calls node-opcua makes; the
// status with node-opcua's table (unknown codes and info bits as it answers them); the
// timestamps with the words arithmetic of datetime.ts. Values node-opcua must post-process (an
// ExtensionObject may be an opaque structure that the session resolves) make the whole
// HistoryData fall back to node-opcua's decoder. So does anything it throws on.
//
// Whoever reads `dataValues` of a HistoryData decoded here still gets node-opcua's DataValues:
// they are decoded on first access from a copy of the bytes. history.ts takes the RawDataValues
// instead (rawHistoryValues), and asks for the response without node-opcua's ClientSession
// wrapper, which would read `dataValues` of every result to look for opaque structures.

const RAW = Symbol("opcua-ingest raw history values");

/** DataValue encoding mask bits (OPC UA Part 6, 5.2.2.17). */
const HAS_VALUE = 0x01;
const HAS_STATUS = 0x02;
const HAS_SOURCE_TIME = 0x04;
const HAS_SERVER_TIME = 0x08;
const HAS_SOURCE_PICO = 0x10;
const HAS_SERVER_PICO = 0x20;

const EXTENSION_OBJECT = 22;
const TYPE_MASK = 0x3f;
const ARRAY_BITS = 0xc0;

type HistoryDataWithRaw = HistoryData & { [RAW]?: RawDataValue[] | null };

/** The values of one DataValue, or false when node-opcua's decoder must decode this HistoryData. */
function decodeOne(stream: BinaryStream, scratch: Variant, out: RawDataValue[]): boolean {
  const mask = stream.readUInt8();
  let dataType = 0;
  let arrayType = 0;
  let value: unknown = null;
  if (mask & HAS_VALUE) {
    const encoding = stream.buffer[stream.length]!;
    dataType = encoding & TYPE_MASK;
    if (encoding & ARRAY_BITS || dataType === 0 || dataType === 8 || dataType === 9 || dataType > 11) {
      // Null, Int64/UInt64 (node-opcua's [high, low]), text, dates, ids and arrays: node-opcua's
      // own Variant decoder; an ExtensionObject goes to node-opcua altogether.
      if (dataType === EXTENSION_OBJECT) return false;
      decodeVariant(stream, scratch);
      [dataType, arrayType, value] = [scratch.dataType, scratch.arrayType, scratch.value];
    } else {
      stream.length += 1;
      switch (dataType) {
        case 1: value = stream.readUInt8() !== 0; break;
        case 2: value = stream.readInt8(); break;
        case 3: value = stream.readUInt8(); break;
        case 4: value = stream.readInt16(); break;
        case 5: value = stream.readUInt16(); break;
        case 6: value = stream.readInteger(); break;
        case 7: value = stream.readUInt32(); break;
        case 10: value = stream.readFloat(); break;
        default: value = stream.readDouble(); // 11
      }
    }
  }
  let statusCode = 0;
  if (mask & HAS_STATUS) {
    const code = stream.readUInt32();
    statusCode = code === 0 ? 0 : getStatusCodeFromCode(code).value;
  }
  let sourceTimestamp: number | null = null;
  if (mask & HAS_SOURCE_TIME) {
    const low = stream.readInteger();
    sourceTimestamp = dateTimeEpochMs(stream.readInteger(), low);
  }
  if (mask & HAS_SOURCE_PICO) stream.length += 2;
  let serverTimestamp: number | null = null;
  if (mask & HAS_SERVER_TIME) {
    const low = stream.readInteger();
    serverTimestamp = dateTimeEpochMs(stream.readInteger(), low);
  }
  if (mask & HAS_SERVER_PICO) stream.length += 2;
  out.push({ dataType, arrayType, value, statusCode, sourceTimestamp, serverTimestamp, receivedAt: 0 });
  return true;
}

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
      if (!decodeOne(stream, scratch, out)) {
        stream.length = start;
        return undefined;
      }
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
  if (proto.decode === decodeHistoryData) return true;
  if (typeof originalHistoryDecode !== "function") return false;
  try {
    proto.decode = decodeHistoryData;
  } catch {
    return false; // frozen
  }
  return proto.decode === decodeHistoryData;
}
