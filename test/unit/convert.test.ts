import { describe, expect, it } from "vitest";
import type { PointSettings } from "../../src/config/types.js";
import { convert, convertTo, newSampleOut, qualityOf } from "../../src/transform/convert.js";
import { formatTimestamp } from "../../src/core/timestamp.js";
import type { RawDataValue } from "../../src/core/types.js";
import { DataTypeId as T, float32ToString, Skip, valueToString } from "../../src/transform/values.js";

const settings: PointSettings = {
  samplingIntervalMs: 1000, queueSize: 10, deadband: { kind: "none" }, timestamp: "source",
  bad: "drop", nonFinite: "drop", structured: "json",
  scale: 1, offset: 0, booleanAs: "text", enumAs: "number", heartbeatMs: 0, trigger: "statusValue",
};
const opts = { nonFinite: "drop" as const, structured: "json" as const };
const str = (dt: number, v: unknown, arrayType = 0) => valueToString(dt, arrayType, v, opts);

function raw(over: Partial<RawDataValue>): RawDataValue {
  return { dataType: T.Double, arrayType: 0, value: 1.5, statusCode: 0, sourceTimestamp: 1_000, serverTimestamp: 2_000, receivedAt: 3_000, ...over };
}

describe("value conversion", () => {
  it("prints Float as the shortest decimal that round-trips to the same float32", () => {
    expect(float32ToString(Math.fround(12.66))).toBe("12.66");
    expect(float32ToString(Math.fround(0.1))).toBe("0.1");
    expect(float32ToString(Math.fround(-273.15))).toBe("-273.15");
    expect(float32ToString(Math.fround(3.4028234663852886e38))).toBe("3.4028235e+38");
    expect(float32ToString(Math.fround(1e-45))).toBe("1e-45");
    expect(str(T.Float, Math.fround(12.66))).toBe("12.66");
    // exhaustive property over a spread of float32 bit patterns: shortest text must read back exactly
    const f = new Float32Array(1); const u = new Uint32Array(f.buffer);
    for (let i = 0; i < 20_000; i++) {
      u[0] = (i * 2654435761) >>> 0;
      const x = f[0]!;
      if (!Number.isFinite(x)) continue;
      const s = float32ToString(x);
      expect(Math.fround(Number(s))).toBe(x);
      const digits = s.replace(/^-|e.*$|\./g, "").replace(/^0+|0+$/g, "").length;
      expect(digits).toBeLessThanOrEqual(9);
      // and shortest: one digit less does not read back
      if (digits > 1) expect(Math.fround(Number(x.toPrecision(digits - 1)))).not.toBe(x);
    }
  });

  it("prints Double as the shortest round-trip decimal", () => {
    expect(str(T.Double, 0.1 + 0.2)).toBe("0.30000000000000004");
    expect(str(T.Double, 12.66)).toBe("12.66");
    expect(str(T.Double, -0)).toBe("0");
  });

  it("keeps Int64 and UInt64 exact from node-opcua's [high, low] words", () => {
    expect(str(T.UInt64, [0xffffffff, 0xffffffff])).toBe("18446744073709551615");
    expect(str(T.Int64, [0xffffffff, 0xffffffff])).toBe("-1");
    expect(str(T.Int64, [0x80000000, 0])).toBe("-9223372036854775808");
    expect(str(T.Int64, [0x7fffffff, 0xffffffff])).toBe("9223372036854775807");
    expect(str(T.UInt64, [0x001fffff, 0xffffffff + 0])).toBe("9007199254740991");
    expect(str(T.UInt64, [0x00200000, 1])).toBe("9007199254740993"); // not representable as a double
  });

  it("converts the other built-in types", () => {
    expect(str(T.Boolean, true)).toBe("true");
    expect(str(T.Boolean, false)).toBe("false");
    expect(str(T.SByte, -128)).toBe("-128");
    expect(str(T.UInt32, 4294967295)).toBe("4294967295");
    expect(str(T.Int32, 3)).toBe("3"); // an enumeration value
    expect(str(T.String, "Running")).toBe("Running");
    expect(str(T.String, "")).toBe("");
    expect(str(T.DateTime, new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)))).toBe("2024-01-02T03:04:05.678Z");
    expect(str(T.LocalizedText, { locale: "en", text: "Open" })).toBe("Open");
    expect(str(T.ByteString, Buffer.from([0, 1, 254, 255]))).toBe("AAH+/w==");
    expect(str(T.Guid, "72962B91-FA75-4AE6-8D28-B404DC7DAF63")).toBe("72962B91-FA75-4AE6-8D28-B404DC7DAF63");
    expect(str(T.StatusCode, { value: 0x80000000 })).toBe("2147483648");
  });

  it("renders arrays and structures as JSON text, or skips them when configured", () => {
    expect(str(T.Double, [1.5, -2, 0.1], 1)).toBe("[1.5,-2,0.1]");
    expect(str(T.Float, new Float32Array([12.66, 1]), 1)).toBe("[12.66,1]");
    expect(str(T.UInt64, [[0x00200000, 1]], 1)).toBe("[9007199254740993]");
    expect(str(T.String, ["a", "b\"c"], 1)).toBe('["a","b\\"c"]');
    expect(str(T.Boolean, [true, false], 1)).toBe("[true,false]");
    expect(JSON.parse(str(T.ExtensionObject, { x: 1, y: "z" }) as string)).toEqual({ x: 1, y: "z" });
    const skipped = valueToString(T.Double, 1, [1], { ...opts, structured: "skip" });
    expect(skipped).toBeInstanceOf(Skip);
    expect((skipped as Skip).reason).toBe("structured_skipped");
  });

  it("applies the NaN/Infinity policy", () => {
    expect((str(T.Double, Number.NaN) as Skip).reason).toBe("non_finite");
    expect((str(T.Float, Number.POSITIVE_INFINITY) as Skip).reason).toBe("non_finite");
    const send = { nonFinite: "send" as const, structured: "json" as const };
    expect(valueToString(T.Double, 0, Number.NaN, send)).toBe("NaN");
    expect(valueToString(T.Double, 0, Number.NEGATIVE_INFINITY, send)).toBe("-Infinity");
    expect(valueToString(T.Double, 1, [1, Number.NaN], send)).toBe('[1,"NaN"]');
    expect((str(T.Double, [1, Number.NaN], 1) as Skip).reason).toBe("non_finite");
  });

  it("reports null and unsupported values", () => {
    expect((str(T.Double, null) as Skip).reason).toBe("null_value");
    expect((str(T.Variant, 1) as Skip).reason).toBe("unsupported_type");
    expect((str(T.Double, "x") as Skip).reason).toBe("unsupported_type");
  });
});

describe("sample conversion", () => {
  it("classifies status by severity, so Good with the Overflow bit is Good", () => {
    expect(qualityOf(0)).toBe(0);
    expect(qualityOf(0x480)).toBe(0);
    expect(qualityOf(0x40000000)).toBe(1);
    expect(qualityOf(0x80340000)).toBe(2);
    expect(qualityOf(0xc0000000)).toBe(2);
  });

  it("drops Bad values by default and sends Uncertain", () => {
    expect(convert("p", raw({ statusCode: 0x80340000, value: null }), settings)).toEqual({ ok: false, reason: "bad_status" });
    const r = convert("p", raw({ statusCode: 0x40000000 }), settings);
    expect(r.ok && r.sample.quality).toBe(1);
    const sent = convert("p", raw({ statusCode: 0x80000000, value: 2 }), { ...settings, bad: "send" });
    expect(sent.ok && sent.sample).toEqual({ pointId: "p", ts: 1_000, value: "2", quality: 2 });
  });

  it("takes the configured timestamp and falls back, saying so", () => {
    expect(convert("p", raw({}), settings)).toEqual({ ok: true, sample: { pointId: "p", ts: 1_000, value: "1.5", quality: 0 } });
    expect(convert("p", raw({ sourceTimestamp: null }), settings)).toMatchObject({ ok: true, fallback: "server", sample: { ts: 2_000 } });
    expect(convert("p", raw({ sourceTimestamp: null, serverTimestamp: null }), settings)).toMatchObject({ fallback: "received", sample: { ts: 3_000 } });
    expect(convert("p", raw({}), { ...settings, timestamp: "server" })).toMatchObject({ sample: { ts: 2_000 } });
    expect(convert("p", raw({}), { ...settings, timestamp: "received" })).toMatchObject({ sample: { ts: 3_000 } });
  });

  it("truncates, never rounds, to the millisecond and prints the API form", () => {
    const r = convert("p", raw({ sourceTimestamp: 1_700_000_000_123.75 }), settings);
    expect(r.ok && formatTimestamp(r.sample.ts)).toBe("2023-11-14T22:13:20.123Z");
    const old = convert("p", raw({ sourceTimestamp: -0.5 }), settings);
    expect(old.ok && formatTimestamp(old.sample.ts)).toBe("1969-12-31T23:59:59.999Z");
  });

  it("writes every field of a reused output, and leaves it as it was for a dropped value (the live path reuses one)", () => {
    const out = newSampleOut();
    expect(convertTo(out, raw({ sourceTimestamp: null, statusCode: 0x40000000 }), settings)).toBeUndefined();
    expect(out).toEqual({ ts: 2_000, value: "1.5", quality: 1, fallback: "server" });
    expect(convertTo(out, raw({ statusCode: 0x80340000, value: null }), settings)).toBe("bad_status");
    expect(out).toEqual({ ts: 2_000, value: "1.5", quality: 1, fallback: "server" });
    expect(convertTo(out, raw({ value: 2.25 }), settings)).toBeUndefined();
    expect(out).toEqual({ ts: 1_000, value: "2.25", quality: 0, fallback: undefined });
  });
});

describe("per-point value options", () => {
  const at = (over: Partial<PointSettings>, r: Partial<RawDataValue>) => {
    const c = convert("p", raw(r), { ...settings, ...over });
    return c.ok ? c.sample.value : c.reason;
  };

  it("scales and offsets numbers linearly, Float from its shortest decimal", () => {
    expect(at({ scale: 10, offset: -5 }, { dataType: T.Double, value: 1.5 })).toBe("10");
    expect(at({ scale: 0.1 }, { dataType: T.Int32, value: 1234 })).toBe("123.4");
    expect(at({ scale: 1, offset: 273.15 }, { dataType: T.Float, value: Math.fround(12.66) })).toBe("285.81");
    expect(at({ scale: 2 }, { dataType: T.UInt64, value: [0, 21] })).toBe("42");
  });

  it("rounds to decimals, printing the shortest form", () => {
    expect(at({ decimals: 2 }, { dataType: T.Double, value: 3.14159 })).toBe("3.14");
    expect(at({ decimals: 0 }, { dataType: T.Double, value: 2.5 })).toBe("3");
    expect(at({ decimals: 3 }, { dataType: T.Float, value: Math.fround(0.1) })).toBe("0.1");
  });

  it("keeps Int64 exact when no scaling is asked for", () => {
    expect(at({}, { dataType: T.UInt64, value: [0x00200000, 1] })).toBe("9007199254740993");
  });

  it("applies the NaN policy to a scaled result", () => {
    expect(at({ scale: 2 }, { dataType: T.Double, value: Number.POSITIVE_INFINITY })).toBe("non_finite");
    expect(at({ scale: 2, nonFinite: "send" }, { dataType: T.Double, value: Number.NaN })).toBe("NaN");
  });

  it("sends Booleans as 1/0 when asked, and leaves strings alone when scaling", () => {
    expect(at({ booleanAs: "number" }, { dataType: T.Boolean, value: true })).toBe("1");
    expect(at({ booleanAs: "number" }, { dataType: T.Boolean, value: false })).toBe("0");
    expect(at({ scale: 3 }, { dataType: T.String, value: "Running" })).toBe("Running");
  });

  it("sends an enumeration as its label when labels are known, its integer otherwise", () => {
    const c = convert("p", raw({ dataType: T.Int32, value: 2 }), { ...settings, enumAs: "label" }, ["Stopped", "Starting", "Running"]);
    expect(c.ok && c.sample.value).toBe("Running");
    const unknown = convert("p", raw({ dataType: T.Int32, value: 7 }), { ...settings, enumAs: "label" }, ["Stopped"]);
    expect(unknown.ok && unknown.sample.value).toBe("7");
  });
});
