import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import { loadMapping, MappingError } from "../config/index.js";
import type { Mapping } from "../config/types.js";

/**
 * Re-reads the mapping on SIGHUP or when its file changes (debounced: editors write in several
 * steps). A valid mapping is handed to `apply`; an invalid one is logged, every problem, and the
 * connector keeps running on the old one.
 */
export function watchMapping(file: string, log: Logger, apply: (m: Mapping) => Promise<void>, debounceMs = 500): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = (why: string) => {
    running = running.then(async () => {
      let next: Mapping;
      try {
        next = loadMapping(file);
      } catch (err) {
        const problems = err instanceof MappingError ? err.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.key}: ${p.message}`) : [String(err)];
        log.error({ file, why, problems }, "mapping reload refused: the new mapping is invalid; still running on the previous one");
        return;
      }
      try {
        await apply(next);
      } catch (err) {
        log.error({ file, err: (err as Error).message }, "mapping reload failed");
      }
    });
  };
  const schedule = (why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(why), debounceMs);
  };
  const onHup = () => schedule("SIGHUP");
  process.on("SIGHUP", onHup);
  // Watch the folder, not the file: editors and ConfigMap updates replace the file by renaming.
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      // Kubernetes swaps a ConfigMap's files through a "..data" symlink.
      if (name === basename(file) || name?.startsWith("..")) schedule("file changed");
    });
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, "cannot watch the mapping file; reload with SIGHUP");
  }
  return {
    close() {
      clearTimeout(timer);
      process.off("SIGHUP", onHup);
      watcher?.close();
    },
  };
}
