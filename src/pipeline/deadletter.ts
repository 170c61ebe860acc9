import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Batch } from "./batcher.js";
import { formatTimestamp } from "./timestamp.js";

/**
 * Batches the API refused for good (4xx other than 401/408/429) are kept, never silently deleted:
 * one JSON line per batch in state/deadletter.jsonl, with the API's answer, to inspect and resend.
 */
export class DeadLetterFile {
  readonly path: string;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true });
    this.path = join(stateDir, "deadletter.jsonl");
  }

  write(batch: Batch, status: number, detail: string): void {
    const line = {
      at: new Date().toISOString(),
      pointId: batch.pointId,
      status,
      detail,
      values: batch.samples.map((s) => ({ timestamp: formatTimestamp(s.ts), value: s.value, quality: s.quality })),
    };
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
  }
}
