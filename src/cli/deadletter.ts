import { existsSync } from "node:fs";
import { loadMapping } from "../config/index.js";
import type { Logger } from "pino";
import { spoolFile } from "../app/files.js";
import { formatTimestamp } from "../core/timestamp.js";
import { DeadLetterStore } from "../spool/deadletters.js";
import { didYouMean } from "../config/suggest.js";
import { defineCommand, lockState } from "./command.js";
import { EXIT, UsageError } from "./errors.js";

const ACTIONS = ["list", "retry", "purge"];

export const deadletterSpec = defineCommand({
  name: "deadletter",
  synopsis: "list|retry|purge --config FILE [--id N]... [--json]",
  summary: "batches the API refused for good: show, resend, delete",
  description: `Batches the API refused for good (a 4xx other than 408/429) are kept in the spool as dead letters.
  list    show them: number, time, point, HTTP status, values, the API's answer (read-only)
  retry   put their values back into the spool: the next start of run sends them
  purge   delete them
retry and purge write the state folder: one writer per state folder, so while run, backfill or
reconcile --repair holds it, they exit 1 naming that process; stop it first. list only reads.`,
  flags: {
    config: { type: "string", short: "c", arg: "FILE", help: "the mapping YAML" },
    id: { type: "string", multiple: true, arg: "N", help: "only this dead letter (repeatable; numbers from deadletter list); default all" },
    json: { type: "boolean", help: "list: print them as JSON" },
  },
  positionals: { name: "ACTION", max: 1 },
  run: (a) => {
    const ids = a.list("id").map((x) => {
      if (!/^\d+$/.test(x)) throw new UsageError(`--id must be a dead letter number (see deadletter list), got "${x}"`);
      return Number(x);
    });
    const action = a.positionals[0];
    checkAction(action);
    if (action !== "list" && a.boolean("json")) throw new UsageError(`deadletter ${action} does not take --json: it is a flag of deadletter list`);
    return deadletterCommand(action, a.required("config", "the mapping YAML"), ids, a.boolean("json"), a.logger(process.stderr));
  },
});

function checkAction(action: string | undefined): void {
  if (!action || !ACTIONS.includes(action)) {
    throw new UsageError(`deadletter needs an action: list, retry or purge (got ${action ? `"${action}"${didYouMean(action, ACTIONS)}` : "none"})`);
  }
}

/** `opcua-ingest deadletter list|retry|purge --config FILE [--id N]... [--json]` */
export async function deadletterCommand(action: string | undefined, configFile: string, ids: number[], json: boolean, log: Logger): Promise<number> {
  checkAction(action);
  const mapping = loadMapping(configFile);
  const file = spoolFile(mapping.state);
  if (!existsSync(file)) {
    console.log(`no spool at ${file}: nothing was ever refused`);
    return EXIT.ok;
  }
  // retry and purge write: one writer per state folder. list reads beside a running connector (WAL).
  const lock = action === "list" ? undefined : lockState(mapping.state, log);
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
      console.log(`${n} value(s) put back into the spool; the next start of run sends them`);
    } else {
      const n = store.purge(ids);
      console.log(`${n} dead letter batch(es) deleted`);
    }
  } finally {
    store.close();
    lock?.release();
  }
  return EXIT.ok;
}
