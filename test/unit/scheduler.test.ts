import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/core/clock.js";
import { Scheduler } from "../../src/delivery/scheduler.js";

function setup(maxValues = 100, maxDelayMs = 1_000) {
  const clock = new ManualClock(10_000);
  let wakes = 0;
  const s = new Scheduler(maxValues, maxDelayMs, clock, () => wakes++);
  const drain = () => {
    const out: string[] = [];
    for (let p = s.next(); p !== undefined; p = s.next()) out.push(p);
    return out;
  };
  return { clock, s, drain, wakes: () => wakes };
}

describe("Scheduler", () => {
  it("makes a point due at maxValues unread values at once", () => {
    const { s, drain, wakes } = setup(100);
    s.update("a", 99, 10_000);
    expect(drain()).toEqual([]);
    s.update("a", 100, 10_000);
    expect(drain()).toEqual(["a"]);
    expect(wakes()).toBe(1);
  });

  it("makes a point due maxDelay after its oldest unread value arrived, not after the newest", () => {
    const { clock, s, drain } = setup(100, 1_000);
    s.update("a", 1, 10_000);
    clock.advance(600);
    s.update("a", 2, 10_000); // same oldest arrival: the deadline stays
    s.update("b", 1, 10_600);
    clock.advance(399);
    expect(drain()).toEqual([]);
    clock.advance(1);
    expect(drain()).toEqual(["a"]);
    clock.advance(599);
    expect(drain()).toEqual([]);
    clock.advance(1);
    expect(drain()).toEqual(["b"]);
  });

  it("is due at once when the oldest value is already older than maxDelay (a backlog after restart)", () => {
    const { s, drain } = setup(100, 1_000);
    s.update("old", 3, 1_000);
    expect(drain()).toEqual(["old"]);
  });

  it("does not queue a point twice, and skips a deadline superseded by a count flush", () => {
    const { clock, s, drain } = setup(5, 1_000);
    s.update("a", 1, 10_000);
    s.update("a", 5, 10_000);
    s.update("a", 6, 10_000);
    expect(drain()).toEqual(["a"]);
    clock.advance(2_000);
    expect(drain()).toEqual([]); // the old deadline of "a" is stale
  });

  it("keeps deadlines in order even when one arrives out of order", () => {
    const { clock, s, drain } = setup(100, 1_000);
    s.update("late", 1, 10_500);
    s.update("early", 1, 10_100);
    clock.advance(1_100);
    expect(drain()).toEqual(["early"]);
    clock.advance(400);
    expect(drain()).toEqual(["late"]);
  });

  it("flushAll makes every pending point due, and later updates too", () => {
    const { s, drain } = setup(100, 60_000);
    s.update("a", 1, 10_000);
    s.flushAll(["a", "b"]);
    expect(drain()).toEqual(["a", "b"]);
    s.update("c", 1, 10_000);
    expect(drain()).toEqual(["c"]);
  });

  it("ignores a point with nothing unread", () => {
    const { clock, s, drain } = setup();
    s.update("a", 0, 10_000);
    clock.advance(5_000);
    expect(drain()).toEqual([]);
  });
});
