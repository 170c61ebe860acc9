import { describe, expect, it } from "vitest";
import { EmulatorStore } from "../../src/dev/emulator-store.js";
import { checkValuesDocument, type ValueItem } from "../../src/dev/emulator-validate.js";
import { ScannedValues, scanValues } from "../../src/dev/emulator-values-scan.js";

/** What the emulator's general path makes of a body: the items of a valid document, else undefined. */
function general(body: Buffer): ValueItem[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const check = checkValuesDocument(doc);
  return check.ok ? check.items : undefined;
}

/** What scanValues reads from a body, as items (the texts are ASCII: latin1 is their decoding), else undefined. */
function scan(body: Buffer): ValueItem[] | undefined {
  const out = new ScannedValues();
  if (!scanValues(body, out)) return undefined;
  return Array.from({ length: out.count }, (_, i) => {
    const [ms, quality, value] = [out.ms[i]!, out.quality[i]!, body.toString("latin1", out.textStart[i], out.textEnd[i])];
    return Number.isNaN(quality) ? { ms, value, canonical: true } : { ms, value, canonical: true, qualityOfValue: quality };
  });
}

const item = (timestamp: string, value: unknown = "1", qualityOfValue?: unknown) => ({
  type: "PointValue",
  attributes: { timestamp, value, ...(qualityOfValue !== undefined && { qualityOfValue }) },
});
/** JSON.stringify writes the compact form the connector does (client.ts valuesBody). */
const body = (data: unknown[]) => Buffer.from(JSON.stringify({ data }));
const series = (n: number, startMs: number, stepMs = 1000) => Array.from({ length: n }, (_, i) => item(new Date(startMs + i * stepMs).toISOString(), String(i)));

describe("scanValues", () => {
  it.each([
    ["1 value", [item("2000-05-11T10:32:54.964Z", "12.66")]],
    ["10 values", series(10, Date.parse("2024-01-01T00:00:00Z"))],
    ["100 values over a day boundary", series(100, Date.parse("2023-12-31T23:59:30Z"), 997)],
    ["qualities", [item("2024-02-29T23:59:59.999Z", "a", 0), item("2024-03-01T00:00:00.000Z", "b", 7), item("2024-03-01T00:00:00.001Z", "c", 123_456_789_012_345)]],
    ["odd but plain strings", [item("0000-01-01T00:00:00.000Z", ""), item("9999-12-31T23:59:59.999Z", " ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\x7f"), item("1970-01-01T00:00:00.000Z", "-0.000001")]],
  ])("reads %s as JSON.parse and checkValuesDocument do", (_case, data) => {
    const b = body(data);
    expect(scan(b)).toBeDefined();
    expect(scan(b)).toEqual(general(b));
  });

  it.each([
    ["whitespace", '{"data": [{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}}]}'],
    ["trailing whitespace", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}}]}\n'],
    ["another member order", '{"data":[{"attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"},"type":"PointValue"}]}'],
    ["value before timestamp", '{"data":[{"type":"PointValue","attributes":{"value":"1","timestamp":"2024-01-01T00:00:00.000Z"}}]}'],
    ["an escape", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"a\\"b"}}]}'],
    ["a \\u escape", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"\\ud800"}}]}'],
    ["UTF-8", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"23 °C"}}]}'],
    ["an offset", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T01:00:00.000+01:00","value":"1"}}]}'],
    ["microseconds", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000001Z","value":"1"}}]}'],
    ["a fraction quality", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1","qualityOfValue":1.0}}]}'],
    ["an exponent quality", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1","qualityOfValue":1e2}}]}'],
    ["-0 quality", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1","qualityOfValue":-0}}]}'],
    ["a 16-digit quality", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1","qualityOfValue":1000000000000000}}]}'],
    ["a repeated member", '{"data":[{"type":"PointValue","type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}}]}'],
  ])("leaves a body with %s to the general path", (_case, text) => {
    const b = Buffer.from(text);
    expect(general(b)).toBeDefined(); // valid, just not the compact form
    expect(scan(b)).toBeUndefined();
  });

  it.each([
    ["no values", '{"data":[]}'],
    ["101 values", JSON.stringify({ data: series(101, 0) })],
    ["a leading zero", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1","qualityOfValue":01}}]}'],
    ["a number value", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":1}}]}'],
    ["a control character", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"a\tb"}}]}'],
    ["an invalid day", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2023-02-29T00:00:00.000Z","value":"1"}}]}'],
    ["a leap second", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2016-12-31T23:59:60.000Z","value":"1"}}]}'],
    ["trailing bytes", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}}]},'],
    ["a missing brace", '{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}]}'],
    ["a BOM", '\ufeff{"data":[{"type":"PointValue","attributes":{"timestamp":"2024-01-01T00:00:00.000Z","value":"1"}}]}'],
  ])("refuses %s, as the general path does", (_case, text) => {
    expect(scan(Buffer.from(text))).toBeUndefined();
  });

  it("accepts nothing the general path refuses or reads differently, with any byte of a body damaged", () => {
    const valid = body([item("2024-02-29T23:59:59.999Z", "12.5", 3), item("2024-03-01T00:00:00.000Z", "x"), item("1999-12-31T00:00:09.090Z", "", 0)]);
    const replacements = [..."\"\\ ,:{}[]0129TZ.-+ex", "\u0000", "\u007f"].map((c) => c.charCodeAt(0)).concat([0x80, 0xc3, 0xff]);
    let accepted = 0;
    const check = (b: Buffer) => {
      const scanned = scan(b);
      if (scanned === undefined) return;
      accepted += 1;
      expect(scanned, b.toString("latin1")).toEqual(general(b));
    };
    for (let at = 0; at < valid.length; at++) {
      for (const byte of replacements) {
        const damaged = Buffer.from(valid);
        damaged[at] = byte;
        check(damaged);
      }
      check(Buffer.concat([valid.subarray(0, at), valid.subarray(at + 1)])); // one byte left out
      check(Buffer.concat([valid.subarray(0, at), Buffer.from("0"), valid.subarray(at)])); // one byte more
    }
    // Damage in a value's text or a timestamp's digits still leaves valid documents for the scanner to read.
    expect(accepted).toBeGreaterThan(100);
  });
});

describe("EmulatorStore.writeScanned", () => {
  it("drops and stores what write() does with the general path's items, with and without overwrite", () => {
    const requests = [
      ["30.333", "30.222", "30.333", "30.444"],
      ["30.444", "30.555", "30.100", "30.100", "30.050"],
      ["29.000", "30.222", "31.000"],
    ].map((seconds, r) => body(seconds.map((s, i) => item(`2022-07-11T11:11:${s}Z`, `r${r}i${i}`, i % 2 === 0 ? undefined : i))));
    for (const overwrite of [false, true]) {
      const [scanned, general_] = [new EmulatorStore(), new EmulatorStore()];
      const out = new ScannedValues();
      for (const b of requests) {
        expect(scanValues(b, out)).toBe(true);
        expect(scanned.writeScanned("p", "pt", out, overwrite)).toEqual(general_.write("p", "pt", general(b)!, overwrite));
        expect(scanned.values("p", "pt")).toEqual(general_.values("p", "pt"));
      }
      expect(scanned.values("p", "pt")).toHaveLength(8);
    }
  });
});
