import { BinaryStream, DataChangeNotification, DataValue, MonitoredItemNotification, Variant, decodeDataValue } from "node-opcua";
import type { RawDataValue } from "../core/types.js";
import { readRawDataValue } from "./datavalue-decode.js";
import { moduleAt, putInPlace } from "./in-place.js";

// Live values arrive as DataChangeNotifications in publish responses: node-opcua decodes each into
// a MonitoredItemNotification holding a DataValue, a Variant, two Dates and a StatusCode, which the
// source then reduces to a RawDataValue (toRaw). This module decodes the same bytes straight into
// RawDataValues (datavalue-decode.ts, exact to node-opcua + toRaw) and puts that decoder in
// DataChangeNotification's place, as history-decode.ts does for HistoryData.
//
// node-opcua still dispatches every notification to its monitored item, which emits "changed" with
// the notification's `value`. That value is a DataValue whose fields node-opcua decodes from a copy
// of the bytes the first time anyone reads one of them (the ServiceLevel watcher does; a tool or a
// test may); toRaw takes the RawDataValue it carries and reads none of them.
//
// Before dispatch, node-opcua looks for opaque structures to resolve by reading every value's
// Variant (promoteOpaqueStructureInNotificationData), which would decode each lazy DataValue. A
// notification decoded here holds none (below), so that function is put behind a filter that
// hands it only node-opcua's own. Without the filter in place the decoder is not installed.
//
// A notification that holds an ExtensionObject (an opaque structure the session must resolve
// before dispatch) or diagnostic infos goes to node-opcua's decoder whole. So does anything it
// throws on.

const RAW = Symbol("opcua-ingest raw value");
/** On a DataChangeNotification decoded here: it holds no ExtensionObject. */
const DECODED = Symbol("opcua-ingest raw notification");
const SOURCE = Symbol("opcua-ingest encoded value");
const AT = Symbol("opcua-ingest value offset");

/** The bytes of one decoded DataChangeNotification, shared by its values (set once all are read). */
interface Encoded {
  bytes: Buffer;
}

type LazyDataValue = DataValue & { [RAW]: RawDataValue | undefined; [SOURCE]: Encoded | undefined; [AT]: number };

const EMPTY = Buffer.alloc(0);

const FIELDS = ["value", "statusCode", "sourceTimestamp", "sourcePicoseconds", "serverTimestamp", "serverPicoseconds"] as const;

/**
 * Gives a lazy DataValue node-opcua's own fields, decoded from its bytes; from then on they are
 * plain properties that anyone may change, so toRaw reads them instead of the raw value.
 */
function materialize(dv: LazyDataValue): void {
  const source = dv[SOURCE];
  if (source === undefined) throw new Error("a DataValue decoded by opcua-ingest has no bytes to read its fields from");
  const stream = new BinaryStream(source.bytes);
  stream.length = dv[AT];
  const decoded = decodeDataValue(stream);
  dv[SOURCE] = undefined;
  dv[RAW] = undefined;
  for (const field of FIELDS) Object.defineProperty(dv, field, { value: decoded[field], writable: true, enumerable: true, configurable: true });
}

/** A DataValue whose fields are getters until first read: the prototype of every value decoded here. */
const LAZY_PROTO: object = Object.create(DataValue.prototype);
for (const field of FIELDS) {
  Object.defineProperty(LAZY_PROTO, field, {
    configurable: true,
    enumerable: true,
    get(this: LazyDataValue) {
      materialize(this);
      return this[field];
    },
    set(this: LazyDataValue, v: unknown) {
      materialize(this);
      (this as unknown as Record<string, unknown>)[field] = v;
    },
  });
}

/**
 * The RawDataValue a value decoded here carries (receivedAt 0 until toRaw sets it; the same object
 * each call); undefined for node-opcua's own DataValues and once the fields were read.
 */
export function rawOf(dv: DataValue): RawDataValue | undefined {
  return (dv as LazyDataValue)[RAW];
}

export interface RawNotifications {
  monitoredItems: MonitoredItemNotification[] | null;
  diagnosticInfos: [] | null;
}

/**
 * DataChangeNotification's fields decoded with RawDataValues inside, the stream moved past them;
 * undefined (the stream where it was) when node-opcua's decoder must do it.
 */
export function decodeRawNotifications(stream: BinaryStream): RawNotifications | undefined {
  const start = stream.length;
  try {
    const length = stream.readUInt32();
    let monitoredItems: MonitoredItemNotification[] | null = null;
    const source: Encoded = { bytes: EMPTY };
    if (length !== 0xffffffff) {
      stream.checkArrayLength(length);
      monitoredItems = [];
      const scratch = new Variant();
      for (let i = 0; i < length; i++) {
        const clientHandle = stream.readUInt32();
        const at = stream.length - start;
        const raw = readRawDataValue(stream, scratch);
        if (raw === undefined) {
          stream.length = start;
          return undefined;
        }
        const value = Object.create(LAZY_PROTO) as LazyDataValue;
        value[RAW] = raw;
        value[SOURCE] = source;
        value[AT] = at;
        const item = Object.create(MonitoredItemNotification.prototype) as MonitoredItemNotification;
        item.clientHandle = clientHandle;
        item.value = value;
        monitoredItems.push(item);
      }
    }
    const infos = stream.readUInt32();
    if (infos !== 0 && infos !== 0xffffffff) {
      stream.length = start; // diagnostic infos were asked for: rare, node-opcua decodes them
      return undefined;
    }
    source.bytes = Buffer.from(stream.buffer.subarray(start, stream.length));
    return { monitoredItems, diagnosticInfos: infos === 0 ? [] : null };
  } catch {
    stream.length = start; // node-opcua's decoder meets the same bytes and reports them its way
    return undefined;
  }
}

type Decode = (this: DataChangeNotification, stream: BinaryStream) => void;

const proto = DataChangeNotification.prototype as unknown as { decode: Decode };
/** node-opcua's own DataChangeNotification decoder: the fallback, and the comparison in the unit test. */
export const originalDataChangeDecode: Decode = proto.decode;

function decodeDataChange(this: DataChangeNotification, stream: BinaryStream): void {
  const fields = decodeRawNotifications(stream);
  if (fields === undefined) {
    originalDataChangeDecode.call(this, stream);
    return;
  }
  this.monitoredItems = fields.monitoredItems;
  this.diagnosticInfos = fields.diagnosticInfos;
  (this as DataChangeNotification & { [DECODED]?: true })[DECODED] = true;
}

/** How node-opcua's subscription reaches promoteOpaqueStructureInNotificationData (through its module's exports object). */
export const PROMOTE_CHAIN = ["node-opcua", "node-opcua-client", "node-opcua-client-dynamic-extension-object/dist/promote_opaque_structure_in_notification_data.js"] as const;

type Promote = (session: unknown, notificationData: unknown[]) => Promise<void>;
interface PromoteModule {
  promoteOpaqueStructureInNotificationData: Promote;
}

const promoteModule = moduleAt<PromoteModule>(PROMOTE_CHAIN);
const originalPromote = promoteModule?.promoteOpaqueStructureInNotificationData;

/** node-opcua's opaque-structure search, given only the notifications node-opcua decoded. */
const promoteFiltered: Promote = (session, notificationData) =>
  originalPromote!(session, notificationData.filter((n) => !(n as { [DECODED]?: true } | null)?.[DECODED]));


/** Puts decodeDataChange in DataChangeNotification's place; idempotent. True when node-opcua now calls it. */
export function installNotificationDecoder(): boolean {
  if (proto.decode === decodeDataChange) return true;
  if (typeof originalDataChangeDecode !== "function" || !promoteModule || typeof originalPromote !== "function") return false;
  // The filter first: without it the decoder would cost more than it saves.
  return putInPlace(promoteModule, "promoteOpaqueStructureInNotificationData", promoteFiltered) && putInPlace(proto, "decode", decodeDataChange);
}
