import { existsSync } from "node:fs";
import { loadMapping } from "../config/index.js";
import { spoolFile } from "../app/files.js";
import { formatTimestamp } from "../core/timestamp.js";
import { DeadLetterStore } from "../spool/deadletters.js";
import { EXIT, UsageError } from "./errors.js";

/** `opcua-ingest deadletter list|retry|purge --config FILE [--id N]... [--json]` */
export function deadletterCommand(action: string | undefined, configFile: string, ids: number[], json: boolean): number {
  if (!action || !["list", "retry", "purge"].includes(action)) {
    throw new UsageError(`deadletter needs an action: list, retry or purge (got ${action ? `"${action}"` : "none"})`);
  }
  const mapping = loadMapping(configFile);
  const file = spoolFile(mapping.state);
  if (!existsSync(file)) {
    console.log(`no spool at ${file}: nothing was ever refused`);
    return EXIT.ok;
  }
  // A second connection beside a running connector is fine: WAL, and the connector notices changes.
  const store = DeadLetterStore.open(file);
  try {
    if (action === "list") {
      const letters = store.list(ids);
      if (json) {
        console.log(JSON.stringify(letters, null, 2));
      } else if (letters.length === 0) {
        console.log("no dead letters");
      } else {
        for (const l of letters) {
          const first = l.samples[0];
          const last = l.samples[l.samples.length - 1];
          console.log(
            `#${l.id}  ${formatTimestamp(l.at)}  point ${l.pointId}  HTTP ${l.status || "-"}  ${l.samples.length} value(s)` +
              (first && last ? ` ${formatTimestamp(first[0])} .. ${formatTimestamp(last[0])}` : "") +
              `\n     ${l.detail}`,
          );
        }
        console.log(`${letters.length} batch(es). Retry with: opcua-ingest deadletter retry --config ${configFile} [--id N]`);
      }
    } else if (action === "retry") {
      const n = store.retry(ids);
      console.log(`${n} value(s) put back into the spool; a running connector sends them within seconds, otherwise the next start does`);
    } else {
      const n = store.purge(ids);
      console.log(`${n} dead letter batch(es) deleted`);
    }
  } finally {
    store.close();
  }
  return EXIT.ok;
}
