import type { Logger } from "pino";
import { setFlagsFromString } from "node:v8";

/** From this many points on, the heap is mostly the points' own state. */
const LARGE = 25_000;
/** How far the old generation may grow past its live size before a full collection, for a large mapping. */
const LARGE_GROWING_PERCENT = 10;

/**
 * V8 lets the old generation grow to about 1.6 times its live size before the next full collection
 * (at the image's 1 GB cap). With a large mapping most of the live heap is the points' own state
 * (node-opcua's monitored items, the mapping, queues, counters: 216 MB at 100,000 points), which does
 * not turn over, so that slack is memory that buys nothing: at 100,000 points a limit of 20 % past
 * the live size took the process from 490 to 412 MB RSS at the same CPU, 10 % a further 378/390 →
 * 368/374 MB peak (alternating pairs) for 4-5 % more CPU a value (measured at 100,000 points only;
 * the more of the heap the points hold, the less a tighter limit costs). With fewer points
 * the values, not the points, fill the heap, and V8's own policy costs less CPU (a limit of 20 or 30 %
 * cost 9-19 % more CPU at 10,000 points), so it stays.
 *
 * The heap controller reads the flag at every collection, so setting it at run time works (measured:
 * the same RSS as on the command line); it stays for the life of the process, a reload that shrinks
 * the mapping included. Node does not take the flag in NODE_OPTIONS: an operator's own goes on the
 * command line (`node --heap-growing-percent=N dist/cli/main.js run ...`) and wins.
 */
export function tuneHeap(
  points: number,
  log: Logger,
  nodeArgs = process.execArgv.join(" "),
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  if (points < LARGE || /--heap[-_]growing[-_]percent/.test(nodeArgs)) return false;
  setFlags(`--heap-growing-percent=${LARGE_GROWING_PERCENT}`);
  log.info({ event: "heap_tuned", points, heapGrowingPercent: LARGE_GROWING_PERCENT }, `a large mapping: the old generation may grow ${LARGE_GROWING_PERCENT} % past its live size before a full collection`);
  return true;
}
