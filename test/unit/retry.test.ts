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
});
