/**
 * The API's timestamp form: YYYY-MM-DDTHH:mm:ss.sssZ. Samples carry whole milliseconds
 * (floored in convert), so toISOString never rounds here. The text up to the second is kept from
 * the previous call: consecutive values of a batch nearly always share it, and this runs per value.
 */
let lastSecond = Number.NaN;
let lastPrefix = "";

export function formatTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond || ms < 0) {
    const iso = new Date(ms).toISOString();
    // Years beyond 9999 or before 0 have another length: no prefix reuse for them.
    if (iso.length !== 24) return iso;
    lastSecond = second;
    lastPrefix = iso.slice(0, 20);
    return iso;
  }
  const frac = ms - second * 1000;
  return lastPrefix + (frac < 10 ? "00" : frac < 100 ? "0" : "") + frac + "Z";
}
