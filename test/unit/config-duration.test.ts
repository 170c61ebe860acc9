import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/index.js";

describe("parseDuration", () => {
  it.each([
    ["0", 0],
    ["0s", 0],
    ["250ms", 250],
    ["5s", 5000],
    ["1m", 60_000],
    ["1h", 3_600_000],
    ["1.5s", 1500],
    ["0.25s", 250],
    ["1.0004ms", 1],
    ["1.5ms", 2],
    ["596h", 2_145_600_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ["250", "250 has no unit: write 250ms or 250s"],
    ["1.5", "1.5 has no unit: write 1.5ms or 1.5s"],
    ["fast", '"fast" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h'],
    ["", '"" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h'],
    [".5s", '".5s" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h'],
    ["5sec", '"5sec" has an unknown unit "sec"; use ms, s, m or h, e.g. 250ms, 5s, 1m, 1h'],
    ["2d", '"2d" has an unknown unit "d"; use ms, s, m or h, e.g. 250ms, 5s, 1m, 1h'],
    ["5S", '"5S" has an unknown unit "S"; use ms, s, m or h, e.g. 250ms, 5s, 1m, 1h'],
    ["-5s", '"-5s" is negative; a duration is 0 or more'],
    ["5 s", '"5 s" contains spaces; write it without, e.g. 5s'],
    [" 5s", '" 5s" contains spaces; write it without, e.g. 5s'],
    ["1h30m", '"1h30m" is not a duration; write a number with a unit: 250ms, 5s, 1m, 1h'],
    ["597h", '"597h" is too long; the longest duration is 596h'],
  ])("rejects %j", (text, message) => {
    expect(() => parseDuration(text)).toThrow(new Error(message));
  });
});
