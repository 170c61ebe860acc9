/**
 * The API's timestamp form: YYYY-MM-DDTHH:mm:ss.sssZ. Samples carry whole milliseconds
 * (floored in convert), so toISOString never rounds here. The text up to the minute is kept from
 * the previous call: consecutive values of a batch nearly always share it (live values within a
 * second, history values within a minute), and this runs for every value sent.
 */
let lastMinute = Number.NaN;
let lastPrefix = "";

const pad2 = (n: number) => (n < 10 ? "0" : "") + n;
const pad3 = (n: number) => (n < 10 ? "00" : n < 100 ? "0" : "") + n;

export function formatTimestamp(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  if (minute !== lastMinute) {
    const iso = new Date(ms).toISOString();
    // Years beyond 9999 or before 0 have another length: no prefix reuse for them.
    if (iso.length !== 24) return iso;
    lastMinute = minute;
    lastPrefix = iso.slice(0, 17);
    return iso;
  }
  const rest = ms - minute * 60_000;
  const second = Math.floor(rest / 1000);
  return `${lastPrefix}${pad2(second)}.${pad3(rest - second * 1000)}Z`;
}
