// Values an OpcuaSource / SourceSet delivers, converted as the live flow converts them, for the
// plant-reality e2e tests. Waits are event-driven: each value re-checks the waiting conditions.
import { convert } from "../../src/transform/convert.js";
import type { PointConfig } from "../../src/config/types.js";
import type { RawDataValue } from "../../src/core/types.js";
import type { SourcePoint, SourceState } from "../../src/opcua/source.js";

export interface TestPoint extends SourcePoint {
  readonly config: PointConfig;
}

export class Collector {
  readonly values = new Map<string, { ts: number; value: string }[]>();
  readonly states: SourceState[] = [];
  readonly gaps: { from: number; to: number; source?: string }[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly handlers = {
    value: (point: TestPoint, raw: RawDataValue) => {
      const r = convert(point.config.pointId, raw, point.config, point.enumLabels);
      if (!r.ok) return;
      let list = this.values.get(point.config.pointId);
      if (!list) this.values.set(point.config.pointId, (list = []));
      list.push({ ts: r.sample.ts, value: r.sample.value });
      this.wake();
    },
    state: (s: SourceState) => {
      this.states.push(s);
      this.wake();
    },
    gap: (from: number, to: number, source?: string) => {
      this.gaps.push({ from, to, ...(source !== undefined && { source }) });
      this.wake();
    },
  };

  of(pointId: string): string[] {
    return (this.values.get(pointId) ?? []).map((v) => v.value);
  }

  last(pointId: string): string | undefined {
    return this.values.get(pointId)?.at(-1)?.value;
  }

  /** Resolves when `check` holds (checked now and after every value, state or gap), or fails after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}

export const points = (configs: readonly PointConfig[]): TestPoint[] => configs.map((config) => ({ config }));
