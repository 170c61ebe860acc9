import type { Logger } from "pino";
import { EXIT } from "./errors.js";

/**
 * First SIGINT/SIGTERM: run the graceful stop. A second one: the operator insists, exit at once.
 * Resolves with the signal's name once the first arrives.
 */
export function onceTerminated(onSecond: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const handler = (signal: NodeJS.Signals) => {
      if (seen) return onSecond();
      seen = true;
      resolve(signal);
    };
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
  });
}

/**
 * onceTerminated for a command that stops between units of work (backfill, reconcile): the first
 * signal logs `stopping` and aborts the returned signal; a second one logs `second_signal` with
 * what is left where, and exits 1 at once.
 */
export function abortOnTermination(log: Logger, stopping: string, exitingNow: string): AbortSignal {
  const stop = new AbortController();
  void onceTerminated(() => {
    log.error({ event: "second_signal" }, `second signal: exiting at once; ${exitingNow}`);
    process.exit(EXIT.failure);
  }).then((signal) => {
    log.warn({ event: "stopping", signal }, `stopping: ${stopping}`);
    stop.abort();
  });
  return stop.signal;
}
