import { createRequire } from "node:module";
import {
  BinaryStream, DataChangeNotification, DataType, DataValue, DiagnosticInfo, MonitoredItemNotification, ReadValueId, Variant, VariantArrayType, coerceNodeId,
} from "node-opcua";
import { describe, expect, it } from "vitest";
import type { RawDataValue } from "../../src/core/types.js";
import { toRaw } from "../../src/opcua/datavalue.js";
import { resolveChain } from "../../src/opcua/in-place.js";
import {
  PROMOTE_CHAIN, decodeRawNotifications, installNotificationDecoder, originalDataChangeDecode, rawOf,
} from "../../src/opcua/notification-decode.js";
import { CASES, dv, randomDataValues, scalar } from "../helpers/datavalues.js";

// The DataChangeNotification decoder put in node-opcua's place must give, for every DataValue the
// wire can carry, exactly the RawDataValue that node-opcua's own decoder followed by toRaw gives,
// with each item's client handle; whoever reads a value's fields must still get node-opcua's.

type Item = { clientHandle: number; raw: RawDataValue | undefined };

function encode(values: DataValue[] | null, diagnosticInfos: DiagnosticInfo[] = []): Buffer {
  const n = new DataChangeNotification({
    monitoredItems: (values ?? []).map((value, i) => new MonitoredItemNotification({ clientHandle: 1000 + i * 7, value })),
    diagnosticInfos,
  });
  if (values === null) n.monitoredItems = null;
  const s = new BinaryStream(n.binaryStoreSize());
  n.encode(s);
  return s.buffer;
}

/** node-opcua's decoding, reduced as the live source reduces it. */
function reference(bytes: Buffer): { items: Item[] | null; end: number; notification: DataChangeNotification } {
  const n = new DataChangeNotification(null);
  const s = new BinaryStream(bytes);
  originalDataChangeDecode.call(n, s);
  return { items: n.monitoredItems?.map((m) => ({ clientHandle: m.clientHandle, raw: toRaw(m.value, 0) })) ?? null, end: s.length, notification: n };
}

function fast(bytes: Buffer): { items: Item[] | null | undefined; end: number } {
  const s = new BinaryStream(bytes);
  const fields = decodeRawNotifications(s);
  const items = fields === undefined ? undefined : (fields.monitoredItems?.map((m) => ({ clientHandle: m.clientHandle, raw: rawOf(m.value) })) ?? null);
  return { items, end: s.length };
}

/** A value's fields not read yet: they are still the prototype's getters. */
const untouched = (value: DataValue): boolean => Object.getOwnPropertyDescriptor(value, "value") === undefined;

describe("DataChangeNotification decoded straight into RawDataValues", () => {
  it.each(CASES)("%s: the same RawDataValue and client handle as node-opcua's decoder and toRaw", (_name, value) => {
    const bytes = encode([value, value]);
    const ref = reference(bytes);
    const got = fast(bytes);
    expect(got.items).not.toBeUndefined();
    expect(got.items).toEqual(ref.items);
    expect(got.end).toBe(ref.end);
  });

  it("all the cases in one notification, and the empty and the null array", () => {
    for (const list of [CASES.map(([, v]) => v), [], null]) {
      const bytes = encode(list);
      expect(fast(bytes)).toEqual({ items: reference(bytes).items, end: bytes.length });
    }
  });

  it("random DataValues: every mask, status and time the encoder can write", () => {
    const bytes = encode(randomDataValues(20_000));
    const got = fast(bytes);
    expect(got.items).toHaveLength(20_000);
    expect(got.items).toEqual(reference(bytes).items);
  });

  it("an ExtensionObject value, or diagnostic infos, leave the whole notification to node-opcua, the stream untouched", () => {
    const eo = new ReadValueId({ nodeId: coerceNodeId("ns=1;i=5"), attributeId: 13 });
    for (const bytes of [
      encode([scalar(DataType.Double, 1), dv(new Variant({ dataType: DataType.ExtensionObject, value: eo }))]),
      encode([scalar(DataType.Double, 1)], [new DiagnosticInfo({ symbolicId: 3 })]),
    ]) {
      const s = new BinaryStream(bytes);
      expect(decodeRawNotifications(s)).toBeUndefined();
      expect(s.length).toBe(0);
    }
  });

  it("inside a larger message: the values' fields are read from where they lie, and a fallback rewinds to where it began", () => {
    const prefix = Buffer.from([0xde, 0xad, 0xbe]);
    const bytes = encode(CASES.map(([, v]) => v));
    const s = new BinaryStream(Buffer.concat([prefix, bytes]));
    s.length = prefix.length;
    const items = decodeRawNotifications(s)!.monitoredItems!;
    expect(s.length).toBe(prefix.length + bytes.length);
    const ref = reference(bytes);
    expect(items.map((m) => ({ clientHandle: m.clientHandle, raw: rawOf(m.value) }))).toEqual(ref.items);
    expect(items.map((m) => m.value.toString())).toEqual(ref.notification.monitoredItems!.map((m) => m.value.toString()));

    const eo = new ReadValueId({ attributeId: 13 });
    const withArray = encode([scalar(DataType.Double, 1), dv(new Variant({ dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [eo, eo] }))]);
    const t = new BinaryStream(Buffer.concat([prefix, withArray]));
    t.length = prefix.length;
    expect(decodeRawNotifications(t)).toBeUndefined(); // an array of ExtensionObjects too
    expect(t.length).toBe(prefix.length);
  });

  it("encodings node-opcua's encoder does not write: a value bit with a Null variant, picoseconds without their timestamp", () => {
    // One item: count 1, client handle 9, then the DataValue: mask, [variant], [times], then no diagnostic infos.
    const message = (dataValue: number[]): Buffer => {
      const b = Buffer.alloc(8 + dataValue.length + 4);
      b.writeUInt32LE(1, 0);
      b.writeUInt32LE(9, 4);
      Buffer.from(dataValue).copy(b, 8);
      return b;
    };
    const time = Buffer.alloc(8);
    time.writeBigInt64LE(133_000_000_000_000_000n);
    for (const bytes of [
      message([0x01, 0x00]), // value present, Null variant
      message([0x01 | 0x10 | 0x20, 0x0b, ...Buffer.alloc(8), 0x10, 0x27, 0x05, 0x00]), // Double, both picoseconds, no timestamps
      message([0x04 | 0x20, ...time, 0x05, 0x00]), // source time, server picoseconds without server time
    ]) {
      const ref = reference(bytes);
      expect(fast(bytes)).toEqual({ items: ref.items, end: ref.end });
    }
  });

  it("bytes that end early are left to node-opcua, the stream untouched", () => {
    const bytes = encode([scalar(DataType.Double, 1), scalar(DataType.Double, 2)]);
    const s = new BinaryStream(bytes.subarray(0, bytes.length - 5));
    expect(decodeRawNotifications(s)).toBeUndefined();
    expect(s.length).toBe(0);
  });

  it("a value's fields are node-opcua's own when read, and toRaw reads none of them", () => {
    const bytes = encode(CASES.map(([, v]) => v));
    const ref = reference(bytes);
    const items = decodeRawNotifications(new BinaryStream(bytes))!.monitoredItems!;
    expect(items.every((m) => m instanceof MonitoredItemNotification && m.value instanceof DataValue)).toBe(true);

    expect(items.map((m) => toRaw(m.value, 42))).toEqual(ref.items!.map((i) => ({ ...i.raw, receivedAt: 42 })));
    expect(items.every((m) => untouched(m.value))).toBe(true);

    // Read as node-opcua's DataValues: every field, toString, clone.
    expect(items.map((m) => m.value.toString())).toEqual(ref.notification.monitoredItems!.map((m) => m.value.toString()));
    items.forEach((m, i) => {
      const r = ref.notification.monitoredItems![i]!.value;
      expect(m.value.statusCode.value).toBe(r.statusCode.value);
      expect(m.value.sourceTimestamp).toEqual(r.sourceTimestamp);
      expect(m.value.serverPicoseconds).toBe(r.serverPicoseconds);
      expect(m.value.clone().toString()).toBe(r.toString());
    });
    // Read, toRaw answers the same from node-opcua's fields; changed, it follows the change.
    expect(toRaw(items[0]!.value, 1)).toEqual({ ...ref.items![0]!.raw, receivedAt: 1 });
    items[0]!.value.value = new Variant({ dataType: DataType.Double, value: 99 });
    expect(toRaw(items[0]!.value, 1)).toMatchObject({ dataType: DataType.Double, value: 99 });
  });

  it("installed: node-opcua decodes through it, and its opaque-structure search reads no value decoded here", async () => {
    expect(installNotificationDecoder()).toBe(true);
    expect(installNotificationDecoder()).toBe(true); // idempotent

    const bytes = encode(CASES.map(([, v]) => v));
    const decoded = new DataChangeNotification(null);
    decoded.decode(new BinaryStream(bytes));
    expect(decoded.monitoredItems!.map((m) => ({ clientHandle: m.clientHandle, raw: rawOf(m.value) }))).toEqual(reference(bytes).items);

    // The function node-opcua's subscription calls, reached as it reaches it (its package's index).
    const index = createRequire(resolveChain(PROMOTE_CHAIN.slice(0, 2)))("node-opcua-client-dynamic-extension-object") as {
      promoteOpaqueStructureInNotificationData: (session: unknown, data: unknown[]) => Promise<void>;
    };
    // An ExtensionObject of a type node-opcua does not know (ReadValueId's encoding id moved to
    // namespace 5) decodes as an opaque structure, which the search asks the session to resolve.
    const opaque = encode([dv(new Variant({ dataType: DataType.ExtensionObject, value: new ReadValueId({ attributeId: 13 }) }))]);
    const typeId = opaque.indexOf(Buffer.from([0x01, 0x00, 628 & 0xff, 628 >> 8])); // four-byte NodeId i=628
    expect(typeId).toBeGreaterThan(0);
    opaque[typeId + 1] = 5;
    const structure = new DataChangeNotification(null);
    structure.decode(new BinaryStream(opaque));
    expect(rawOf(structure.monitoredItems![0]!.value)).toBeUndefined(); // node-opcua's own
    expect(structure.monitoredItems![0]!.value.value.value.constructor.name).toBe("OpaqueStructure");

    const reads: unknown[][] = [];
    // A session stand-in (no server here): node-opcua asks it only when a value needs resolving.
    const session = new Proxy({}, { get: (_t, key) => (...args: unknown[]) => void reads.push([key, ...args]) });
    await index.promoteOpaqueStructureInNotificationData(session, [decoded]).catch(() => {});
    expect(decoded.monitoredItems!.every((m) => untouched(m.value))).toBe(true);
    expect(reads).toEqual([]);

    // node-opcua's own notifications still reach the search (it asks the session about the structure).
    await index.promoteOpaqueStructureInNotificationData(session, [decoded, structure]).catch(() => {});
    expect(reads.length).toBeGreaterThan(0);
    expect(decoded.monitoredItems!.every((m) => untouched(m.value))).toBe(true);
  });
});
