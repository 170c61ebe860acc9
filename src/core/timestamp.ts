/**
 * The API's timestamp form: YYYY-MM-DDTHH:mm:ss.sssZ. Samples carry whole milliseconds
 * (floored in convert), so toISOString never rounds here.
 */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}
