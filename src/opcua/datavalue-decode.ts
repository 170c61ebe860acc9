import { type BinaryStream, type Variant, decodeVariant, getStatusCodeFromCode } from "node-opcua";
import type { RawDataValue } from "../core/types.js";
import { dateTimeEpochMs } from "./datetime.js";

// One encoded DataValue read straight into a RawDataValue, for the decoders that take node-opcua's
// place where values arrive in bulk (history-decode.ts: HistoryData; notification-decode.ts:
// DataChangeNotification). node-opcua builds a DataValue, a Variant, two Dates and a StatusCode a
// value, which toRaw then reduces to the same plain data.
//
// Exactness: the Variant is decoded by node-opcua itself (into one reused Variant) unless it is a
// scalar number or Boolean, which are read with the same stream calls node-opcua makes; the status
// with node-opcua's table (unknown codes and info bits as it answers them); the timestamps with the
// words arithmetic of datetime.ts, the picoseconds skipped (toRaw truncates to the millisecond).

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

/**
 * The DataValue at the stream's position as a RawDataValue (receivedAt 0: the caller sets it), the
 * stream moved past it; undefined, the stream partly read, for an ExtensionObject value: it may be an
 * opaque structure that only node-opcua's decoder and the session resolve. Throws what the stream
 * throws on bytes that end early; `scratch` is overwritten.
 */
export function readRawDataValue(stream: BinaryStream, scratch: Variant): RawDataValue | undefined {
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
      if (dataType === EXTENSION_OBJECT) return undefined;
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
  return { dataType, arrayType, value, statusCode, sourceTimestamp, serverTimestamp, receivedAt: 0 };
}
