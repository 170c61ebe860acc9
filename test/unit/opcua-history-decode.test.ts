import { BinaryStream, DataType, DataValue, ExtensionObject, HistoryData, ReadValueId, StatusCodes, Variant, coerceNodeId } from "node-opcua";
import { describe, expect, it } from "vitest";
import type { RawDataValue } from "../../src/core/types.js";
import { toRaw } from "../../src/opcua/datavalue.js";
import { decodeRawHistoryValues, installHistoryDecoder, originalHistoryDecode, rawHistoryValues } from "../../src/opcua/history-decode.js";
import { CASES, dv, randomDataValues, scalar } from "../helpers/datavalues.js";

// The HistoryData decoder put in node-opcua's place must give, for every DataValue the wire can
// carry, exactly the RawDataValue that node-opcua's own decoder followed by toRaw gives; and
// whoever reads `dataValues` must still get node-opcua's DataValues.

function encode(dataValues: DataValue[] | null): Buffer {
  const data = new HistoryData({ dataValues: dataValues ?? [] });
  if (dataValues === null) (data as { dataValues: DataValue[] | null }).dataValues = null;
  const s = new BinaryStream(data.binaryStoreSize());
  data.encode(s);
  return s.buffer;
}

/** node-opcua's decoding, reduced as history.ts reduces it. */
function reference(bytes: Buffer): { raw: RawDataValue[] | null; end: number; dataValues: DataValue[] | null } {
  const data = new HistoryData();
  const s = new BinaryStream(bytes);
  originalHistoryDecode.call(data, s);
  return { raw: data.dataValues?.map((dv) => toRaw(dv, 0)) ?? null, end: s.length, dataValues: data.dataValues };
}

function fast(bytes: Buffer): { raw: RawDataValue[] | null | undefined; end: number } {
  const s = new BinaryStream(bytes);
  const raw = decodeRawHistoryValues(s);
  return { raw, end: s.length };
}

describe("HistoryData decoded straight into RawDataValues", () => {
  it.each(CASES)("%s: the same RawDataValue as node-opcua's decoder and toRaw", (_name, value) => {
    const bytes = encode([value, value]);
    const ref = reference(bytes);
    const got = fast(bytes);
    expect(got.raw).not.toBeUndefined();
    expect(got.raw).toEqual(ref.raw);
    expect(got.end).toBe(ref.end);
  });

  it("all the cases in one HistoryData, and the empty and the null array", () => {
    for (const list of [CASES.map(([, v]) => v), [], null]) {
      const bytes = encode(list);
      expect(fast(bytes)).toEqual({ raw: reference(bytes).raw, end: bytes.length });
    }
  });

  it("the latest DateTime the wire can carry (every bit set, read unsigned as node-opcua does)", () => {
    const bytes = encode([scalar(DataType.Double, 1)]);
    // The source timestamp's words follow the mask (1 byte), the variant (1 + 8) and the array length (4).
    const at = 4 + 1 + 9;
    bytes.writeInt32LE(-1, at);
    bytes.writeInt32LE(-1, at + 4);
    const ref = reference(bytes);
    expect(ref.raw![0]!.sourceTimestamp).toBeGreaterThan(Date.UTC(50_000, 0, 1));
    expect(fast(bytes).raw).toEqual(ref.raw);
  });

  it("a status code node-opcua does not know reads as node-opcua answers it", () => {
    const bytes = encode([dv(new Variant({ dataType: DataType.Double, value: 1 }), { statusCode: StatusCodes.BadSensorFailure })]);
    // The status follows the mask (1 byte) and the variant (1 + 8) after the array length (4).
    // 0x40a0: no status of node-opcua's table; 0x0400: info bits (node-opcua answers its fallback plus the bits).
    bytes.writeUInt32LE(0x40a00400, 4 + 1 + 9);
    const ref = reference(bytes);
    expect(ref.raw![0]!.statusCode).not.toBe(0x40a00400); // so reading the code as it is would differ
    expect(fast(bytes).raw).toEqual(ref.raw);
  });

  it("random DataValues: every mask, status and time the encoder can write", () => {
    const values = randomDataValues(20_000);
    const bytes = encode(values);
    const got = fast(bytes);
    expect(got.raw).toHaveLength(20_000);
    expect(got.raw).toEqual(reference(bytes).raw);
  });

  it("an ExtensionObject value is left to node-opcua (it may be an opaque structure the session resolves)", () => {
    const eo = new ReadValueId({ nodeId: coerceNodeId("ns=1;i=5"), attributeId: 13 }) as unknown as ExtensionObject;
    const bytes = encode([scalar(DataType.Double, 1), dv(new Variant({ dataType: DataType.ExtensionObject, value: eo }))]);
    const s = new BinaryStream(bytes);
    expect(decodeRawHistoryValues(s)).toBeUndefined();
    expect(s.length).toBe(0);
  });

  it("installed: node-opcua's HistoryData decoding keeps the RawDataValues, and dataValues are node-opcua's own", () => {
    expect(installHistoryDecoder()).toBe(true);
    expect(installHistoryDecoder()).toBe(true); // idempotent
    const bytes = encode(CASES.map(([, v]) => v));
    const ref = reference(bytes);
    const data = new HistoryData();
    data.decode(new BinaryStream(bytes));
    expect(rawHistoryValues(data)).toEqual(ref.raw);
    expect(data.dataValues).toHaveLength(CASES.length);
    expect(data.dataValues!.map((d) => d.toString())).toEqual(ref.dataValues!.map((d) => d.toString()));
    expect(data.dataValues!.map((d) => toRaw(d, 0))).toEqual(ref.raw);

    const withStructure = encode([dv(new Variant({ dataType: DataType.ExtensionObject, value: new ReadValueId({ attributeId: 13 }) }))]);
    const other = new HistoryData();
    other.decode(new BinaryStream(withStructure));
    expect(rawHistoryValues(other)).toBeUndefined();
    expect(other.dataValues![0]!.value.value).toBeInstanceOf(ReadValueId);
  });
});
