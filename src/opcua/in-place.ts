import { createRequire } from "node:module";

// The decoders of this folder take node-opcua's place by assignment: a prototype's method
// (HistoryData, DataChangeNotification) or a module's export that node-opcua calls through the
// module object (the DateTime decoder, the opaque-structure search). One way to do it, so that a
// node-opcua that freezes or moves the target leaves its own code in place instead of failing.

/** The module at the end of a chain of packages, each resolved from the one before. */
export function resolveChain(chain: readonly string[]): string {
  let from = import.meta.url;
  for (const name of chain) from = createRequire(from).resolve(name);
  return from;
}

/**
 * The module node-opcua reaches through `chain` (so a nested copy is the one found), or undefined
 * when a later node-opcua moved it.
 */
export function moduleAt<T>(chain: readonly string[]): T | undefined {
  try {
    return createRequire(import.meta.url)(resolveChain(chain)) as T;
  } catch {
    return undefined;
  }
}

/**
 * Puts `replacement` at `target[key]`; idempotent. True when it is there now; false when the target
 * refuses it (frozen, or a getter without a setter), node-opcua's own staying in place.
 */
export function putInPlace<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): boolean {
  if (target[key] === replacement) return true;
  try {
    target[key] = replacement;
  } catch {
    return false;
  }
  return target[key] === replacement;
}
