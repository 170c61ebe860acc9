/** One point's comparison of the historian with the API, millisecond by millisecond. */
export interface Comparison {
  matched: number;
  /** In the historian, not in the API. */
  missing: number;
  /** At the same millisecond with another value. */
  different: number;
  /** In the API, not in the historian. */
  extra: number;
  firstMismatch?: number;
  lastMismatch?: number;
}

export interface Timed {
  ts: number;
  value: string;
}

export function emptyComparison(): Comparison {
  return { matched: 0, missing: 0, different: 0, extra: 0 };
}

/**
 * Merge-compare two streams sorted by timestamp (one value per ms each: the historian side is
 * ms-deduplicated as live mode would, first kept). Pure and incremental: feed windows in order;
 * `onMismatch` receives what a repair would send.
 */
export class Comparer {
  readonly result = emptyComparison();

  constructor(private readonly onMismatch?: (kind: "missing" | "different" | "extra", historian: Timed | undefined, api: Timed | undefined) => void) {}

  /** Compare one window: both arrays hold exactly the values of the same time range, sorted. */
  window(historian: readonly Timed[], api: readonly Timed[]): void {
    let i = 0;
    let j = 0;
    const r = this.result;
    while (i < historian.length || j < api.length) {
      const h = historian[i];
      const a = api[j];
      if (h && a && h.ts === a.ts) {
        if (h.value === a.value) r.matched++;
        else this.mismatch("different", h, a, h.ts);
        i++;
        j++;
      } else if (h && (!a || h.ts < a.ts)) {
        this.mismatch("missing", h, undefined, h.ts);
        i++;
      } else {
        this.mismatch("extra", undefined, a!, a!.ts);
        j++;
      }
    }
  }

  private mismatch(kind: "missing" | "different" | "extra", h: Timed | undefined, a: Timed | undefined, ts: number): void {
    this.result[kind]++;
    this.result.firstMismatch ??= ts;
    this.result.lastMismatch = ts;
    this.onMismatch?.(kind, h, a);
  }
}
