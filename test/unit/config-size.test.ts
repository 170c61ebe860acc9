import { describe, expect, it } from "vitest";
import { parseSize } from "../../src/config/index.js";

describe("parseSize", () => {
  it.each<[string | number, number]>([
    [0, 0],
    [1_048_576, 1_048_576],
    ["1048576", 1_048_576],
    ["0B", 0],
    ["512B", 512],
    ["1KB", 1000],
    ["1MB", 1_000_000],
    ["10GB", 10_000_000_000],
    ["1KiB", 1024],
    ["1MiB", 1_048_576],
    ["1GiB", 1_073_741_824],
    ["1.5GiB", 1_610_612_736],
    ["0.5KiB", 512],
    ["1.0005KB", 1001],
  ])("%j is %d bytes", (size, bytes) => {
    expect(parseSize(size)).toBe(bytes);
  });

  it.each<[string | number, string]>([
    [1.5, "1.5 is not a whole number of bytes; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB"],
    [-1, "-1 is negative; a size is 0 or more"],
    [2 ** 60, `${2 ** 60} is too large`],
    ["1gib", '"1gib": write the unit as "GiB", e.g. 1GiB'],
    ["2kb", '"2kb": write the unit as "KB", e.g. 2KB'],
    ["1G", '"1G" has an unknown unit "G"; use B, KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based)'],
    ["1TB", '"1TB" has an unknown unit "TB"; use B, KB, MB, GB (1000-based) or KiB, MiB, GiB (1024-based)'],
    ["5 MiB", '"5 MiB" contains spaces; write it without, e.g. 1GiB'],
    ["-5MiB", '"-5MiB" is negative; a size is 0 or more'],
    ["99999999999GB", '"99999999999GB" is too large'],
    ["", '"" is not a size; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB'],
    ["big", '"big" is not a size; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB'],
    [".5GiB", '".5GiB" is not a size; write a whole number of bytes or a number with a unit: 512MiB, 1GiB, 10GB'],
  ])("rejects %j", (size, message) => {
    expect(() => parseSize(size)).toThrow(new Error(message));
  });
});
