import {
  BinaryStream, DataType, DataValue, ExtensionObject, HistoryData, LocalizedText, ReadValueId, StatusCode, StatusCodes,
  Variant, VariantArrayType, coerceNodeId,
} from "node-opcua";
import { describe, expect, it } from "vitest";
import type { RawDataValue } from "../../src/core/types.js";
import { toRaw } from "../../src/opcua/datavalue.js";
import { decodeRawHistoryValues, installHistoryDecoder, originalHistoryDecode, rawHistoryValues } from "../../src/opcua/history-decode.js";

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

const T = new Date(Date.UTC(2024, 4, 5, 6, 7, 8, 9));

const dv = (variant: Variant | undefined, extra: Partial<ConstructorParameters<typeof DataValue>[0]> = {}): DataValue =>
  new DataValue({ ...(variant && { value: variant }), sourceTimestamp: T, serverTimestamp: T, ...extra });

const scalar = (dataType: DataType, value: unknown): DataValue => dv(new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }));

const CASES: [string, DataValue][] = [
  ["Boolean true", scalar(DataType.Boolean, true)],
  ["Boolean false", scalar(DataType.Boolean, false)],
  ["SByte", scalar(DataType.SByte, -128)],
  ["Byte", scalar(DataType.Byte, 255)],
  ["Int16", scalar(DataType.Int16, -32768)],
  ["UInt16", scalar(DataType.UInt16, 65535)],
  ["Int32", scalar(DataType.Int32, -2147483648)],
  ["UInt32", scalar(DataType.UInt32, 4294967295)],
  ["Int64", scalar(DataType.Int64, [0x80000000, 1])],
  ["UInt64", scalar(DataType.UInt64, [4294967295, 1])],
  ["Float", scalar(DataType.Float, 0.1)],
  ["Float -0", scalar(DataType.Float, -0)],
  ["Float NaN", scalar(DataType.Float, Number.NaN)],
  ["Float -Infinity", scalar(DataType.Float, Number.NEGATIVE_INFINITY)],
  ["Double", scalar(DataType.Double, 1 / 3)],
  ["Double -0", scalar(DataType.Double, -0)],
  ["Double largest", scalar(DataType.Double, Number.MAX_VALUE)],
  ["String", scalar(DataType.String, "Kessel 3 — 100 °C ✓")],
  ["String empty", scalar(DataType.String, "")],
  ["String null", scalar(DataType.String, null)],
  ["DateTime", scalar(DataType.DateTime, new Date(Date.UTC(2023, 0, 2, 3, 4, 5, 6)))],
  ["Guid", scalar(DataType.Guid, "72962B91-FA75-4AE6-8D28-B404DC7DAF63")],
  ["ByteString", scalar(DataType.ByteString, Buffer.from([1, 2, 3]))],
  ["LocalizedText", scalar(DataType.LocalizedText, new LocalizedText({ locale: "de", text: "Störung" }))],
  ["NodeId", scalar(DataType.NodeId, coerceNodeId("ns=2;s=Line1.Motor"))],
  ["StatusCode", scalar(DataType.StatusCode, StatusCodes.BadSensorFailure)],
  ["Double array", dv(new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: new Float64Array([1.5, -2, 3]) }))],
  ["Float array", dv(new Variant({ dataType: DataType.Float, arrayType: VariantArrayType.Array, value: new Float32Array([0.5, 2]) }))],
  ["String array", dv(new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: ["a", "b"] }))],
  ["Int32 matrix", dv(new Variant({ dataType: DataType.Int32, arrayType: VariantArrayType.Matrix, value: new Int32Array([1, 2, 3, 4]), dimensions: [2, 2] }))],
  ["no value (Bad status)", dv(undefined, { statusCode: StatusCodes.BadNoCommunication })],
  ["Null variant", dv(new Variant({ dataType: DataType.Null, value: null }))],
  ["Uncertain status", dv(new Variant({ dataType: DataType.Double, value: 1 }), { statusCode: StatusCodes.UncertainSubNormal })],
  ["status with info bits", dv(new Variant({ dataType: DataType.Double, value: 2 }), { statusCode: StatusCode.makeStatusCode(StatusCodes.UncertainLastUsableValue, "Overflow") })],
  ["no timestamps", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 3 }) })],
  ["source time only, with picoseconds", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 4 }), sourceTimestamp: T, sourcePicoseconds: 12_340 })],
  ["server time only, with picoseconds", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 5 }), serverTimestamp: T, serverPicoseconds: 50 })],
  ["source time 1601-01-01 (null)", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 6 }), sourceTimestamp: new Date(Date.UTC(1601, 0, 1)), serverTimestamp: T })],
  ["source time before 1970", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 7 }), sourceTimestamp: new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 999)) })],
  ["source time in 9999", new DataValue({ value: new Variant({ dataType: DataType.Double, value: 8 }), sourceTimestamp: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)) })],
];

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
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
    const statuses = [StatusCodes.Good, StatusCodes.BadSensorFailure, StatusCodes.UncertainInitialValue, StatusCodes.GoodClamped, StatusCodes.BadOutOfService];
    const values: DataValue[] = [];
    for (let i = 0; i < 20_000; i++) {
      const kind = Math.floor(rnd() * 4);
      const variant =
        kind === 0 ? new Variant({ dataType: DataType.Double, value: (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) })
        : kind === 1 ? new Variant({ dataType: DataType.Float, value: Math.fround((rnd() - 0.5) * 1e6) })
        : kind === 2 ? new Variant({ dataType: DataType.Int32, value: Math.floor((rnd() - 0.5) * 2 ** 32) })
        : undefined;
      const time = () => new Date(Math.floor(rnd() * 8e12) - 2e12);
      values.push(new DataValue({
        ...(variant && { value: variant }),
        statusCode: statuses[Math.floor(rnd() * statuses.length)]!,
        ...(rnd() < 0.9 && { sourceTimestamp: time(), sourcePicoseconds: Math.floor(rnd() * 10) * 1000 }),
        ...(rnd() < 0.5 && { serverTimestamp: time(), serverPicoseconds: Math.floor(rnd() * 10) * 10 }),
      }));
    }
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
