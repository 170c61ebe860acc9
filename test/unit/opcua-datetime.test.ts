import { createRequire } from "node:module";
import { BinaryStream, DataValue, DataType, Variant, decodeDateTime, encodeHighAccuracyDateTime } from "node-opcua";
import { describe, expect, it } from "vitest";
import { DATE_TIME_CHAIN, decodeDateTimeWords, installDateTimeDecoder, originalDecode } from "../../src/opcua/datetime.js";
import { resolveChain } from "../../src/opcua/in-place.js";

// The DateTime decoder put in node-opcua's place must answer exactly what node-opcua's own does,
// for every pair of words the wire can carry (read as signed int32, as node-opcua reads them).

const original = originalDecode!;

/** How the two decoders differ on a pair of words, or undefined when they agree. */
function difference(high: number, low: number, picoseconds = 0): string | undefined {
  const [d1, p1] = original(high, low, picoseconds);
  const [d2, p2] = decodeDateTimeWords(high, low, picoseconds);
  if (Object.is(d2.getTime(), d1.getTime()) && p2 === p1) return undefined;
  return `words ${high}, ${low}, ${picoseconds} ps: ${d2.getTime()} ms + ${p2} ps, node-opcua ${d1.getTime()} + ${p1}`;
}

const same = (high: number, low: number, picoseconds = 0): void => expect(difference(high, low, picoseconds)).toBeUndefined();

/** The two words of a DateTime as node-opcua writes them for a date and picoseconds. */
function words(date: Date, picoseconds = 0): [high: number, low: number] {
  const s = new BinaryStream(8);
  encodeHighAccuracyDateTime(date, picoseconds, s);
  return [s.buffer.readInt32LE(4), s.buffer.readInt32LE(0)];
}

describe("DateTime decoding without 64-bit integers", () => {
  it("node-opcua's own decoder was found (else the faster one cannot be installed)", () => {
    expect(typeof originalDecode).toBe("function");
  });

  it.each([
    ["zero: 1601-01-01, node-opcua's null date", 0, 0],
    ["the largest Int64 (latest time)", 0x7fffffff, -1],
    ["every bit set (read unsigned)", -1, -1],
    ["high word only", 1, 0],
    ["low word only, below a millisecond", 0, 9_999],
    ["low word only, one millisecond", 0, 10_000],
    ["low word with its sign bit", 0, -1],
    ["high word with its sign bit", -2_147_483_648, 0],
  ])("%s", (_name, high, low) => same(high, low));

  it.each([
    "1970-01-01T00:00:00.000Z",
    "1969-12-31T23:59:59.999Z",
    "2000-02-29T12:00:00.001Z",
    "2024-01-01T00:00:00.000Z",
    "2026-12-07T23:59:59.999Z",
    "9999-12-31T23:59:59.999Z",
  ])("%s and the 100 ns ticks around it", (iso) => {
    const date = new Date(iso);
    for (const ps of [0, 100_000, 500_000, 9_900_000, 99_900_000, 999_900_000]) {
      const [high, low] = words(date, ps);
      same(high, low);
      same(high, low, 12_345); // picoseconds of a DataValue's own field are added
      const [d] = decodeDateTimeWords(high, low);
      expect(d.toISOString()).toBe(iso); // floored to the millisecond, never rounded up
    }
  });

  it("agrees on 200,000 random pairs of words", () => {
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed | 0;
    };
    const differences: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      // Half anywhere, half in the range real timestamps fall in (high word of 1990..2100).
      const high = i % 2 ? next() : 29_000_000 + (Math.abs(next()) % 6_000_000);
      const d = difference(high, next(), i % 3 ? 0 : Math.abs(next()) % 100_000);
      if (d !== undefined && differences.length < 5) differences.push(d);
    }
    expect(differences).toEqual([]);
  });

  it("node-opcua decodes DateTimes and DataValues with it once installed, with the same results", () => {
    const dates = ["1601-01-01T00:00:00.000Z", "2024-05-06T07:08:09.123Z", "2099-12-31T23:59:59.999Z"].map((t) => new Date(t));
    /** Each date written and read back by node-opcua's public DateTime codec: [ms, picoseconds]. */
    const roundTrip = () =>
      dates.map((d) => {
        const s = new BinaryStream(8);
        encodeHighAccuracyDateTime(d, 300_000, s);
        s.rewind();
        const out = decodeDateTime(s);
        return [out.getTime(), (out as Date & { picoseconds?: number }).picoseconds];
      });
    const before = roundTrip();
    const dv = new DataValue({ value: new Variant({ dataType: DataType.Double, value: 1.5 }), sourceTimestamp: dates[1]!, sourcePicoseconds: 400_000, serverTimestamp: dates[2]! });
    const encoded = new BinaryStream(dv.binaryStoreSize());
    dv.encode(encoded);

    expect(installDateTimeDecoder()).toBe(true);
    expect(installDateTimeDecoder()).toBe(true); // idempotent
    // The copy of node-opcua-date-time that node-opcua's DataValue decoder loads is the one replaced.
    // node-opcua-data-value decodes DataValues with node-opcua-basic-types, which loads node-opcua-date-time.
    const basicTypes = createRequire(createRequire(import.meta.url).resolve("node-opcua-data-value")).resolve("node-opcua-basic-types");
    const used = createRequire(basicTypes)("node-opcua-date-time/dist/date_time.js") as { bn_hundredNanoSecondFrom1601ToDate: unknown };
    expect(used.bn_hundredNanoSecondFrom1601ToDate).toBe(decodeDateTimeWords);
    expect(resolveChain(DATE_TIME_CHAIN)).toBe(createRequire(basicTypes).resolve("node-opcua-date-time/dist/date_time.js"));

    expect(roundTrip()).toEqual(before);
    const decoded = new DataValue();
    encoded.rewind();
    decoded.decode(encoded);
    expect(decoded.sourceTimestamp?.toISOString()).toBe("2024-05-06T07:08:09.123Z");
    expect(decoded.sourcePicoseconds).toBe(400_000);
    expect(decoded.serverTimestamp?.toISOString()).toBe("2099-12-31T23:59:59.999Z");
  });
});
