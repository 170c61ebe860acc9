import { describe, expect, it } from "vitest";
import { float32ToString, float32ToStringBySearch, float32ToStringExact } from "../../src/transform/float32.js";

const f32 = new Float32Array(1);
const bits = new Uint32Array(f32.buffer);
/** The float32 of these bits. */
const fromBits = (b: number): number => {
  bits[0] = b >>> 0;
  return f32[0]!;
};
/** The float32 `steps` spacings away from x (same sign). */
const near = (x: number, steps: number): number => {
  f32[0] = x;
  return fromBits(bits[0]! + steps);
};

describe("Float text (float32ToString)", () => {
  it("prints the shortest decimal that reads back, as JavaScript prints that decimal", () => {
    const cases: [number, string][] = [
      [12.66, "12.66"], [0.1, "0.1"], [-273.15, "-273.15"], [1, "1"], [0.5, "0.5"], [100, "100"],
      [1e-4, "0.0001"], [1.5e-4, "0.00015"], [123456789, "123456790"], [58170128, "58170130"], [49231392, "49231390"], [1e8, "100000000"], [999999999, "1000000000"],
      [16777216, "16777216"], [16777217, "16777216"], [3.14159265, "3.1415927"], [-0.0001234, "-0.0001234"],
      [0.3, "0.3"], [2.5e-4, "0.00025"], [65535.5, "65535.5"], [1 / 3, "0.33333334"], [7e8, "700000000"],
    ];
    for (const [input, text] of cases) {
      const x = Math.fround(input);
      expect(float32ToString(x), `${input}`).toBe(text);
      expect(float32ToStringBySearch(x), `${input}`).toBe(text);
      expect(Math.fround(Number(text))).toBe(x);
    }
    // Outside the exact range the search answers alone.
    expect(float32ToString(Math.fround(3.4028234663852886e38))).toBe("3.4028235e+38");
    expect(float32ToString(Math.fround(1e-45))).toBe("1e-45");
    expect(float32ToString(Math.fround(1e9))).toBe("1000000000");
    expect(float32ToStringExact(Math.fround(1e9))).toBeUndefined();
    expect(float32ToStringExact(Math.fround(1e-5))).toBeUndefined();
  });

  it("answers what the search answers, and answers it itself for nearly every value in 1e-4 … 1e9", () => {
    let inRange = 0;
    let exact = 0;
    // Every exponent from 2^-30 to 2^40 (both sides of the exact range), 1,500 significands each,
    // both signs, plus the first and last significands of each exponent (powers of two and their neighbours).
    for (let exp = 97; exp <= 167; exp++) {
      for (let i = 0; i < 1_500; i++) {
        const fraction = i < 3 ? i : i < 6 ? 0x7f_ffff - (i - 3) : (Math.imul(i, 2654435761) >>> 0) & 0x7f_ffff;
        const x = fromBits(((i & 1) << 31) | (exp << 23) | fraction);
        const expected = float32ToStringBySearch(x);
        expect(float32ToString(x)).toBe(expected);
        const a = Math.abs(x);
        if (a >= 1e-4 && a < 1e9) {
          inRange++;
          const own = float32ToStringExact(x);
          if (own !== undefined) {
            exact++;
            expect(own).toBe(expected);
          }
        }
      }
    }
    expect(inRange).toBeGreaterThan(50_000);
    expect(exact / inRange).toBeGreaterThan(0.999);
  });

  it("gets the values next to powers of ten and the decimals between float32s right", () => {
    for (let p = -4; p <= 9; p++) {
      const x = Math.fround(Number(`1e${p}`));
      for (let s = -5; s <= 5; s++) {
        const y = near(x, s);
        expect(float32ToString(y), `1e${p} ${s}`).toBe(float32ToStringBySearch(y));
        expect(float32ToString(-y)).toBe(float32ToStringBySearch(-y));
      }
    }
    // Short decimals are their own text: x.5 steps, eighths, hundredths.
    for (let i = 1; i < 5_000; i++) {
      for (const d of [i / 2, i / 8, i / 100, i * 1000 + 0.25]) {
        const x = Math.fround(d);
        const text = float32ToString(x);
        expect(text).toBe(float32ToStringBySearch(x));
        if (x === d && String(d).replace(/^0\.0*|\./g, "").length <= 6) expect(text).toBe(String(d));
      }
    }
  });

  it("gives a number that is not a float32 to the search (nine digits)", () => {
    expect(float32ToStringExact(0.1)).toBeUndefined();
    expect(float32ToString(0.1)).toBe(float32ToStringBySearch(0.1));
    expect(float32ToString(123.456789012)).toBe(float32ToStringBySearch(123.456789012));
  });
});
