import { describe, expect, it } from "vitest";
import { backoffMs, isTransientStatus, parseConflictIndices, parseRetryAfter } from "../../src/ingest/retry.js";
import { valuesBody } from "../../src/ingest/client.js";

describe("retry policy", () => {
  it("grows exponentially with jitter and is capped", () => {
    const o = { initialMs: 500, maxMs: 30_000 };
    expect(backoffMs(0, o, () => 0)).toBe(250);
    expect(backoffMs(0, o, () => 1)).toBe(500);
    expect(backoffMs(3, o, () => 0)).toBe(2_000);
    expect(backoffMs(3, o, () => 0.5)).toBe(3_000);
    expect(backoffMs(20, o, () => 1)).toBe(30_000);
    expect(backoffMs(5_000, o, () => 0)).toBe(15_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter(["3"], now)).toBe(3_000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it("classifies transient statuses", () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isTransientStatus(s)).toBe(true);
    for (const s of [400, 403, 404, 413, 422]) expect(isTransientStatus(s)).toBe(false);
  });

  it("finds dropped indices in any 202 shape, never throwing", () => {
    expect(parseConflictIndices('{"meta":{"conflicts":[2]}}', 4)).toEqual([2]);
    expect(parseConflictIndices('{"data":{"droppedIndices":[0,3]}}', 4)).toEqual([0, 3]);
    expect(parseConflictIndices("[1]", 4)).toEqual([1]);
    expect(parseConflictIndices('{"x":[7]}', 4)).toEqual([]); // out of range: not indices of this batch
    expect(parseConflictIndices("not json", 4)).toEqual([]);
    expect(parseConflictIndices("", 4)).toEqual([]);
  });
});

describe("values body", () => {
  it("is the documented JSON:API document, with qualityOfValue only when enabled", () => {
    const samples = [{ pointId: "p", ts: Date.parse("2000-05-11T10:32:54.964Z"), value: '12.66"\n', quality: 1 as const }];
    expect(JSON.parse(valuesBody(samples, false))).toEqual({
      data: [{ type: "PointValue", attributes: { timestamp: "2000-05-11T10:32:54.964Z", value: '12.66"\n' } }],
    });
    expect(JSON.parse(valuesBody(samples, true)).data[0].attributes.qualityOfValue).toBe(1);
  });

  it("is exactly the JSON text of the document, whatever the value holds and whatever the timestamp", () => {
    const values = ["", "12.66", "-1.5e-7", 'say "hi"', "back\\slash", "tab\there", "\u0000\u001f\u007f", "Grüße", "温度", "🌡️ 21 °C", "\ud800 lone", "x".repeat(500)];
    const stamps = [0, 59_999, 60_000, Date.parse("2000-05-11T10:32:54.964Z"), Date.parse("2024-02-29T23:59:59.999Z"), -1, Date.parse("9999-12-31T23:59:59.999Z"), Date.parse("+010000-01-01T00:00:00.000Z")];
    const samples = values.flatMap((value, i) => stamps.map((ts, k) => ({ pointId: "p", ts, value, quality: ((i + k) % 3) as 0 | 1 | 2 })));
    for (const quality of [false, true]) {
      const reference = JSON.stringify({
        data: samples.map((s) => ({ type: "PointValue", attributes: { timestamp: new Date(s.ts).toISOString(), value: s.value, ...(quality && { qualityOfValue: s.quality }) } })),
      });
      expect(valuesBody(samples, quality)).toBe(reference);
    }
  });

  it("writes each value as JSON.stringify does, for 20,000 random strings of the code units that matter", () => {
    // Quotes, backslashes, every control character, DEL, ASCII, Latin-1, BMP, both surrogate halves (paired and lone).
    const units = ['"', "\\", "/", "a", "0", ".", "-", "e", "\u007f", "\u00e9", "\u2028", "\uffff", "\ud83c", "\udf21", ...Array.from({ length: 32 }, (_, c) => String.fromCharCode(c))];
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const samples = Array.from({ length: 20_000 }, (_, i) => ({
      ts: i,
      value: Array.from({ length: Math.floor(random() * 8) }, () => units[Math.floor(random() * units.length)]).join(""),
      quality: 0 as const,
    }));
    const body = JSON.parse(valuesBody(samples, false)) as { data: { attributes: { value: string } }[] };
    expect(body.data.map((d) => d.attributes.value)).toEqual(samples.map((s) => s.value));
    const reference = JSON.stringify({ data: samples.map((s) => ({ type: "PointValue", attributes: { timestamp: new Date(s.ts).toISOString(), value: s.value } })) });
    expect(valuesBody(samples, false)).toBe(reference);
  });
});
