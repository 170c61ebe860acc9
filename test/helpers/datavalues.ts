import { DataType, DataValue, LocalizedText, StatusCode, StatusCodes, Variant, VariantArrayType, coerceNodeId } from "node-opcua";

// DataValues for the decoders that take node-opcua's place (history-decode, notification-decode):
// every scalar type, arrays, a matrix, statuses and timestamp masks, and seeded random ones. Each
// decoder must give, for each of them, what node-opcua's decoder followed by toRaw gives.

export const T = new Date(Date.UTC(2024, 4, 5, 6, 7, 8, 9));

export const dv = (variant: Variant | undefined, extra: Partial<ConstructorParameters<typeof DataValue>[0]> = {}): DataValue =>
  new DataValue({ ...(variant && { value: variant }), sourceTimestamp: T, serverTimestamp: T, ...extra });

export const scalar = (dataType: DataType, value: unknown): DataValue => dv(new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }));

export const CASES: [string, DataValue][] = [
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

/** `count` seeded random DataValues: Double, Float, Int32 or no value; every status, mask and time the encoder writes. */
export function randomDataValues(count: number): DataValue[] {
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
  const statuses = [StatusCodes.Good, StatusCodes.BadSensorFailure, StatusCodes.UncertainInitialValue, StatusCodes.GoodClamped, StatusCodes.BadOutOfService];
  const values: DataValue[] = [];
  for (let i = 0; i < count; i++) {
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
  return values;
}
