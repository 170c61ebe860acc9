// Retry policy, pure: which answers are transient and how long to wait before the next attempt.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so many points
 * retrying after one outage spread out but none retries immediately.
 */
export function backoffMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Retry-After as delta-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Transient: worth sending the same batch again later. 401 is handled before this (token refresh). */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The API does not publish the field that lists dropped indices in a 202, so look for it:
 * the first array of in-range integers anywhere in the body. Never throws.
 */
export function parseConflictIndices(body: string, batchSize: number): number[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return [];
  }
  const isIndexList = (x: unknown): x is number[] =>
    Array.isArray(x) && x.length > 0 && x.every((i) => Number.isInteger(i) && i >= 0 && i < batchSize);
  const queue: unknown[] = [doc];
  for (let n = 0; n < queue.length && n < 1000; n++) {
    const x = queue[n];
    if (isIndexList(x)) return x;
    if (Array.isArray(x)) queue.push(...x);
    else if (x && typeof x === "object") queue.push(...Object.values(x));
  }
  return [];
}
