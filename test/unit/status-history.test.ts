import { describe, expect, it } from "vitest";
import { RateHistory } from "../../src/ops/status-history.js";

describe("RateHistory", () => {
  it("turns counter growth into rates, keeps the window in a ring, and answers what is newer than asked", () => {
    const h = new RateHistory(10_000, 1_000); // 10 samples
    expect(h.capacity).toBe(10);
    expect(h.latest()).toEqual({ t: 0, read: 0, sent: 0 });
    let t = 1_000_000;
    h.sample(t, 0, 0); // the base
    expect(h.since(0, t)).toEqual([]);
    for (let i = 1; i <= 25; i++) h.sample((t += 1000), i * 10, i * 5);
    expect(h.latest()).toEqual({ t, read: 10, sent: 5 });
    const all = h.since(0, t);
    expect(all).toHaveLength(10); // the ring keeps the last 10 of 25
    expect(all.map((s) => s.t)).toEqual(Array.from({ length: 10 }, (_, i) => t - 9000 + i * 1000));
    expect(h.since(0, t + 1000)).toHaveLength(9); // the oldest is now out of the window
    expect(h.since(t - 2000, t).map((s) => s.t)).toEqual([t - 1000, t]);
    // a counter that went back (never expected) gives 0, not a negative rate; a clock step back is ignored
    h.sample((t += 2000), 0, 0);
    expect(h.latest()).toMatchObject({ read: 0, sent: 0 });
    h.sample(t - 5, 100, 100);
    expect(h.latest().t).toBe(t);
    // samples older than the window drop out even if no newer one came
    expect(h.since(0, t + 60_000)).toEqual([]);
  });
});
