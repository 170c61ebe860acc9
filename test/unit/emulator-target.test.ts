import { describe, expect, it } from "vitest";
import { parseTarget, plainValuesTarget, valuesTarget } from "../../src/dev/emulator-target.js";
import { checkOverwrite } from "../../src/dev/emulator-validate.js";

/** What the emulator's general route makes of a POST target: the values resource and a valid overwrite flag, else undefined. */
function viaUrl(target: string) {
  const url = parseTarget(target);
  const values = url && valuesTarget(url.pathname);
  const overwrite = url && checkOverwrite(url.searchParams);
  return url && values && typeof overwrite === "boolean" ? { ...values, pathname: url.pathname, overwrite } : undefined;
}

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const SEGMENTS = [
  "part-1", UUID, encodeURIComponent("any/point id"), encodeURIComponent("ns=2;s=Tank.Level"), "ns=2;s=Tank.Level", "x:y@z", "!$&'()*+,;=~_",
  ".", "..", "...", "%2e", "%2E%2e", ".%2E", "%2e.", ".a", "a.", "%zz", "%", "%41", "a%2fb", "%C3%A4",
  "a b", "a\\b", "ä", "a|b", "a^b", "a`b", "{x}", "<x>", '"', "a#b", "a?b",
];
const QUERIES = ["", "?", "?overwrite=true", "?overwrite=false", "?overwrite=TRUE", "?overwrite=tru%65", "?overwrite=true&x=1", "?overwrite=true&overwrite=true", "?overwrite=true#f", "#f", "?overwrite"];

describe("plainValuesTarget", () => {
  it("answers what parseTarget, valuesTarget and checkOverwrite answer, whenever it answers", () => {
    let plain = 0;
    for (const partition of SEGMENTS) {
      for (const point of SEGMENTS) {
        for (const query of QUERIES) {
          const target = `/ingest/partitions/${partition}/points/${point}/values${query}`;
          const fast = plainValuesTarget(target);
          if (fast === undefined) continue;
          plain += 1;
          expect(fast, target).toEqual(viaUrl(target));
        }
      }
    }
    expect(plain).toBeGreaterThan(300);
  });

  it.each([
    `/ingest/partitions/part-1/points/${UUID}/values`,
    `/ingest/partitions/part-1/points/${UUID}/values?overwrite=true`,
    `/ingest/partitions/bench/points/${encodeURIComponent("any/point id")}/values?overwrite=false`,
  ])("reads the targets clients send: %s", (target) => {
    expect(plainValuesTarget(target)).toBeDefined();
    expect(plainValuesTarget(target)).toEqual(viaUrl(target));
  });

  it.each([
    "/ingest/partitions/p/points/../values",
    "/ingest/partitions/%2e%2E/points/x/values",
    "//ingest/partitions/p/points/x/values",
    "/ingest/partitions/p/points/x/values/",
    "/ingest/partitions/p/points/%zz/values",
    "/ingest/partitions/p/points/x/values?overwrite=1",
    "/ingest/partitions/p/points/x/values?force=true",
    "http://host/ingest/partitions/p/points/x/values",
    "*",
  ])("leaves %s to the general route", (target) => {
    expect(plainValuesTarget(target)).toBeUndefined();
  });
});
