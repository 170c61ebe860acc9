// Reading the raw YAML value defensively: cross-key checks run even where the schema failed, so
// every problem is reported in one pass.

export type RawRecord = Record<string, unknown>;

/** The value as a YAML mapping, or undefined when it is anything else. */
export function asRecord(value: unknown): RawRecord | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as RawRecord) : undefined;
}

export function nonEmptyText(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
