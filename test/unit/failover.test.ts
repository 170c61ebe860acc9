import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { FailoverPolicy } from "../../src/opcua/failover.js";
import { RetrySchedule } from "../../src/opcua/retry-schedule.js";

describe("FailoverPolicy", () => {
  const make = () => {
    const clock = new ManualClock(1_000);
    return { clock, policy: new FailoverPolicy(3, 200, 30_000, clock) };
  };

  it("stays while the active server is fine and nobody is higher", () => {
    const { policy } = make();
    policy.observe(0, 255);
    policy.observe(1, 255);
    policy.observe(2, 200);
    expect(policy.decide()).toBeUndefined();
    expect(policy.canImprove).toBe(false);
  });

  it("switches at once to the best reachable backup when the connection is lost (ties: mapping order)", () => {
    const { policy } = make();
    policy.observe(0, 255);
    policy.observe(1, 230);
    policy.observe(2, 230);
    policy.lost();
    expect(policy.decide()).toEqual({ to: 1, reason: "connection lost" });
    policy.observe(1, null);
    expect(policy.decide()).toEqual({ to: 2, reason: "connection lost" });
    policy.observe(2, 0); // 0: no data / maintenance is no better than nothing
    expect(policy.decide()).toBeUndefined();
  });

  it("switches when the level drops below failoverServiceLevel, only to a higher one", () => {
    const { policy } = make();
    policy.observe(0, 150);
    policy.observe(1, 120);
    policy.observe(2, undefined);
    expect(policy.unhealthy).toBe(true);
    expect(policy.decide()).toBeUndefined(); // the only known backup is lower still
    policy.observe(2, 180);
    expect(policy.decide()).toEqual({ to: 2, reason: "service level below threshold" });
  });

  it("switches back to a higher level only after it held for holdMs, without flapping", () => {
    const { clock, policy } = make();
    policy.setActive(1); // on the backup after a failover
    policy.observe(1, 200);
    policy.observe(0, 255);
    expect(policy.decide()).toBeUndefined();
    clock.advance(29_999);
    expect(policy.decide()).toBeUndefined();
    policy.observe(0, 190); // dipped: the hold starts again
    clock.advance(10_000);
    policy.observe(0, 255);
    clock.advance(29_000);
    expect(policy.decide()).toBeUndefined();
    clock.advance(1_000);
    expect(policy.decide()).toEqual({ to: 0, reason: "higher service level" });
    policy.setActive(0);
    expect(policy.decide()).toBeUndefined(); // the one we left is lower now
  });

  it("the active level rising cancels a pending switch back", () => {
    const { clock, policy } = make();
    policy.setActive(1);
    policy.observe(1, 220);
    policy.observe(0, 250);
    clock.advance(20_000);
    policy.observe(1, 250); // equal: no longer higher
    clock.advance(20_000);
    expect(policy.decide()).toBeUndefined();
  });
});

describe("RetrySchedule", () => {
  it("tries first after 10 s, doubling up to the maximum, and is quiet between tries", () => {
    const clock = new ManualClock(0);
    const due: string[][] = [];
    const schedule = new RetrySchedule(clock, 60_000, (ids) => due.push(ids));
    expect(schedule.schedule("a")).toBe(10_000);
    clock.advance(9_999);
    expect(due).toEqual([]);
    clock.advance(1);
    expect(due).toEqual([["a"]]);
    // The try failed: 20 s, 40 s, then capped at 60 s.
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const at = schedule.schedule("a");
      times.push(at - clock.now());
      clock.advance(at - clock.now());
    }
    expect(times).toEqual([20_000, 40_000, 60_000, 60_000]);
    expect(due.length).toBe(5);
    // Not re-fired while a try is under way (until schedule or remove).
    clock.advance(600_000);
    expect(due.length).toBe(5);
    expect(schedule.nextAt("a")).toBe(Infinity);
    schedule.remove("a");
    expect(schedule.size).toBe(0);
  });

  it("keeps one timer for many points, each on its own backoff", () => {
    const clock = new ManualClock(0);
    const due: string[][] = [];
    const schedule = new RetrySchedule(clock, 300_000, (ids) => due.push(ids), 1_000);
    schedule.schedule("a");
    clock.advance(500);
    schedule.schedule("b");
    clock.advance(500);
    expect(due).toEqual([["a"]]);
    clock.advance(500);
    expect(due).toEqual([["a"], ["b"]]);
    expect(schedule.dueNow().sort()).toEqual(["a", "b"]);
    schedule.stop();
    expect(schedule.size).toBe(0);
  });
});
