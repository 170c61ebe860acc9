import { known, type PointCounters, type Stats } from "../delivery/stats.js";

/** A mapped point as the status page needs it. */
export interface MappedPoint {
  readonly pointId: string;
  readonly nodeId: string;
}

/** `-` first = descending. `-age` is "silent first": never received, then the oldest last value. */
export const POINT_SORTS = ["pointId", "-pointId", "age", "-age", "sent", "-sent"] as const;
export type PointSort = (typeof POINT_SORTS)[number];

export interface PointQuery {
  /** Case-insensitive substring of the pointId or the nodeId; empty = every point. */
  filter: string;
  /** 1-based; clamped to the last page. */
  page: number;
  pageSize: number;
  sort: PointSort;
}

export const MAX_PAGE_SIZE = 500;

export interface PointRow {
  pointId: string;
  nodeId: string;
  /** The last value sent to the spool (as the API gets it), undefined before the first one. */
  value: string | undefined;
  /** Source timestamp (ms) of the last value. */
  ts: number | undefined;
  /** Milliseconds since the last value arrived; undefined before the first one. */
  ageMs: number | undefined;
  received: number;
  sent: number;
  conflicts: number;
  /** Values not sent: Bad status, non-finite, skipped structures, spool full, dead letters. */
  dropped: number;
  overflows: number;
  /** failed: the server refused to monitor it (see `reason`); waiting: no value yet. */
  status: "ok" | "waiting" | "failed";
  reason?: string;
}

export interface PointPage {
  /** Points in the mapping. */
  mapped: number;
  /** Points that match the filter. */
  total: number;
  page: number;
  pageSize: number;
  pages: number;
  sort: PointSort;
  filter: string;
  rows: PointRow[];
}

/** Parses the query string leniently: anything out of range falls back to a default or is clamped. */
export function parsePointQuery(params: URLSearchParams): PointQuery {
  const int = (name: string, fallback: number) => {
    const n = Number.parseInt(params.get(name) ?? "", 10);
    return Number.isFinite(n) ? n : fallback;
  };
  const sort = params.get("sort") ?? "pointId";
  return {
    filter: (params.get("filter") ?? "").trim().slice(0, 200),
    page: Math.max(1, int("page", 1)),
    pageSize: Math.min(MAX_PAGE_SIZE, Math.max(1, int("pageSize", 50))),
    sort: (POINT_SORTS as readonly string[]).includes(sort) ? (sort as PointSort) : "pointId",
  };
}

const NO_FAILURES: ReadonlyMap<string, string> = new Map();

/**
 * The points table behind /api/points, built once per mapping (rebuilt when a reload brings a new
 * points list): ids, lower-cased search text and the counters are resolved once, the pointId order is
 * sorted once. A query then costs one pass over the points for the filter, and for the sorts on live
 * numbers (age, sent) a bounded heap that keeps only the rows up to the requested page instead of
 * sorting everything: O(n log k), k = page × pageSize.
 */
export class PointIndex {
  private readonly ids: string[];
  private readonly nodeIds: string[];
  private readonly haystack: string[];
  private readonly counters: PointCounters[];
  private byIdOrder: Uint32Array | undefined;

  constructor(
    readonly points: readonly MappedPoint[],
    stats: Stats,
  ) {
    const n = points.length;
    this.ids = new Array<string>(n);
    this.nodeIds = new Array<string>(n);
    this.haystack = new Array<string>(n);
    this.counters = new Array<PointCounters>(n);
    for (let i = 0; i < n; i++) {
      const p = points[i]!;
      this.ids[i] = p.pointId;
      this.nodeIds[i] = p.nodeId;
      this.haystack[i] = `${p.pointId}\n${p.nodeId}`.toLowerCase();
      // The live connector made these for every mapped point; the counters object is updated in place.
      this.counters[i] = stats.point(p.pointId);
    }
  }

  get size(): number {
    return this.ids.length;
  }

  query(q: PointQuery, now: number, failed: ReadonlyMap<string, string> = NO_FAILURES): PointPage {
    const n = this.ids.length;
    // 1. the filter: one pass, a list of matching indices (or every index)
    let matches: Uint32Array;
    let total: number;
    const needle = q.filter.toLowerCase();
    if (needle === "") {
      matches = new Uint32Array(0); // unused: every index matches
      total = n;
    } else {
      matches = new Uint32Array(n);
      total = 0;
      for (let i = 0; i < n; i++) if (this.haystack[i]!.includes(needle)) matches[total++] = i;
      matches = matches.subarray(0, total);
    }
    const all = needle === "";
    const pages = Math.max(1, Math.ceil(total / q.pageSize));
    const page = Math.min(q.page, pages);
    const from = (page - 1) * q.pageSize;
    const to = Math.min(total, from + q.pageSize);

    // 2. the page's indices, in order
    let window: number[];
    if (q.sort === "pointId" || q.sort === "-pointId") window = this.byPointId(q.sort === "-pointId", all ? undefined : matches, from, to);
    else window = this.byNumber(q.sort, all ? undefined : matches, total, from, to);

    return {
      mapped: n, total, page, pageSize: q.pageSize, pages, sort: q.sort, filter: q.filter,
      rows: window.map((i) => this.row(i, now, failed)),
    };
  }

  private row(i: number, now: number, failed: ReadonlyMap<string, string>): PointRow {
    const c = this.counters[i]!;
    const pointId = this.ids[i]!;
    const reason = failed.get(pointId);
    return {
      pointId,
      nodeId: this.nodeIds[i]!,
      value: c.lastValue,
      ts: known(c.lastTs),
      ageMs: Number.isNaN(c.lastReceivedAt) ? undefined : Math.max(0, now - c.lastReceivedAt),
      received: c.received,
      sent: c.sent,
      conflicts: c.conflicts,
      dropped: c.dropped,
      overflows: c.overflows,
      status: reason !== undefined ? "failed" : Number.isNaN(c.lastReceivedAt) ? "waiting" : "ok",
      ...(reason !== undefined && { reason }),
    };
  }

  /** pointIds do not change while the index lives: sorted once, then walked. */
  private byPointId(descending: boolean, matches: Uint32Array | undefined, from: number, to: number): number[] {
    if (!this.byIdOrder) {
      const ids = this.ids;
      const order = Uint32Array.from({ length: ids.length }, (_, i) => i);
      order.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
      this.byIdOrder = order;
    }
    const order = this.byIdOrder;
    const out: number[] = [];
    if (from >= to) return out;
    if (!matches) {
      for (let k = from; k < to; k++) out.push(order[descending ? order.length - 1 - k : k]!);
      return out;
    }
    const hit = new Uint8Array(this.ids.length);
    for (const i of matches) hit[i] = 1;
    let seen = 0;
    for (let k = 0; k < order.length && seen < to; k++) {
      const i = order[descending ? order.length - 1 - k : k]!;
      if (!hit[i]) continue;
      if (seen >= from) out.push(i);
      seen++;
    }
    return out;
  }

  /**
   * Sorts on a live number (last arrival, values sent). Keys are taken once into a Float64Array,
   * ascending after negation for the descending sorts; ties go by mapping order, so paging is stable.
   */
  private byNumber(sort: PointSort, matches: Uint32Array | undefined, total: number, from: number, to: number): number[] {
    if (from >= to) return [];
    const n = this.ids.length;
    const key = new Float64Array(n);
    const counters = this.counters;
    // age ascending = freshest first = last arrival descending; never received counts as the oldest.
    if (sort === "age") for (let i = 0; i < n; i++) key[i] = -(known(counters[i]!.lastReceivedAt) ?? -Infinity);
    else if (sort === "-age") for (let i = 0; i < n; i++) key[i] = known(counters[i]!.lastReceivedAt) ?? -Infinity;
    else if (sort === "sent") for (let i = 0; i < n; i++) key[i] = counters[i]!.sent;
    else for (let i = 0; i < n; i++) key[i] = -counters[i]!.sent;
    const before = (a: number, b: number) => key[a]! < key[b]! || (key[a] === key[b] && a < b);
    const after = (a: number, b: number) => before(b, a);
    const candidate = matches ? (j: number) => matches[j]! : (j: number) => j;

    // The page lies within the `to` first rows, and within the `total - from` last: keep the fewer.
    const head = to;
    const tail = total - from;
    if (head <= tail && head * 4 < total) return topK(head, total, candidate, before).slice(from, to);
    if (tail < head && tail * 4 < total) return topK(tail, total, candidate, after).reverse().slice(0, to - from);
    // a page in the middle: a full sort of the candidates costs about the same as a heap
    const all = matches ? Uint32Array.from(matches) : Uint32Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return Array.from(all.subarray(from, to));
  }
}

/**
 * The k first of `total` candidates in the order `before`, sorted: a max-heap of the k best so far
 * (its root the worst of them) that a candidate enters only by beating the root. O(n log k).
 */
function topK(k: number, total: number, candidate: (j: number) => number, before: (a: number, b: number) => boolean): number[] {
  const heap = new Uint32Array(k);
  let size = 0;
  const siftUp = (pos: number) => {
    const x = heap[pos]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!before(heap[parent]!, x)) break;
      heap[pos] = heap[parent]!;
      pos = parent;
    }
    heap[pos] = x;
  };
  const siftDown = (pos: number) => {
    const x = heap[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= size) break;
      if (child + 1 < size && before(heap[child]!, heap[child + 1]!)) child++;
      if (!before(x, heap[child]!)) break;
      heap[pos] = heap[child]!;
      pos = child;
    }
    heap[pos] = x;
  };
  for (let j = 0; j < total; j++) {
    const i = candidate(j);
    if (size < k) {
      heap[size] = i;
      siftUp(size++);
    } else if (before(i, heap[0]!)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const best = heap.subarray(0, size);
  best.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  return Array.from(best);
}
