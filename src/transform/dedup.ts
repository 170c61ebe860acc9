/**
 * The API stores one value per millisecond: inside one request a repeated millisecond would be the
 * request's own conflict. Keep what the API would keep — the first, or the last with overwrite —
 * in arrival order, and report how many were merged away.
 */
export function dedupeMs<T extends { ts: number }>(rows: readonly T[], overwrite: boolean): { kept: T[]; duplicates: number } {
  // The common case, strictly increasing timestamps, needs no map (this runs for every batch).
  let increasing = true;
  for (let i = 1; i < rows.length && increasing; i++) increasing = rows[i]!.ts > rows[i - 1]!.ts;
  if (increasing) return { kept: rows as T[], duplicates: 0 };
  const byMs = new Map<number, number>();
  const kept: T[] = [];
  for (const r of rows) {
    const seen = byMs.get(r.ts);
    if (seen === undefined) {
      byMs.set(r.ts, kept.length);
      kept.push(r);
    } else if (overwrite) {
      kept[seen] = r;
    }
  }
  return { kept, duplicates: rows.length - kept.length };
}
