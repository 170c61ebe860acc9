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
