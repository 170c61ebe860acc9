import { describe, expect, it } from "vitest";
import { reconcileTable } from "../../src/cli/reconcile.js";
import type { PointReconcile } from "../../src/flows/reconcile.js";

const point = (pointId: string, over: Partial<PointReconcile> = {}): PointReconcile => ({
  pointId, historian: 1200, api: 1198, matched: 1198, missing: 2, different: 0, extra: 0, badSkipped: 3, repaired: 0,
  firstMismatch: Date.UTC(2026, 11, 1, 10), lastMismatch: Date.UTC(2026, 11, 1, 11), ...over,
});

describe("reconcile's table", () => {
  it("puts a point's error after its id, without widening the columns of the others", () => {
    const error = "the node has no HistoryRead access level (AccessLevel: CurrentRead); ask the server's owner to historize it";
    const [head, ok, failed] = reconcileTable([point("boiler1-temperature"), point("boiler1-pressure", { error })]).split("\n");
    expect(head).toBe(
      "point                historian  api   matched  missing  different  extra  bad skipped  first mismatch            last mismatch",
    );
    expect(ok).toBe("boiler1-temperature  1200       1198  1198     2        0          0      3            2026-12-01T10:00:00.000Z  2026-12-01T11:00:00.000Z");
    expect(failed).toBe(`boiler1-pressure     ERROR: ${error}`);
  });
});
