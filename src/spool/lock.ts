// One writer per state folder. The spool, the backfill checkpoints, the reconcile spool and the dead
// letters live in the state folder; two processes writing them at once would delete each other's rows
// on acknowledgement. Every command that writes there (run, backfill, reconcile --repair,
// deadletter retry|purge) holds this lock for its lifetime; read-only commands do not take it.

import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export const LOCK_FILE = "opcua-ingest.lock";

/** What the lock file holds (JSON). */
export interface LockOwner {
  pid: number;
  /** The command line, e.g. "opcua-ingest run --config m.yaml". */
  command: string;
  /** When the lock was taken, ISO 8601. */
  startedAt: string;
  host: string;
}

/** A second writer on a held state folder: the CLI exits 1 with this message. */
export class StateFolderInUseError extends Error {
  readonly code = "STATE_FOLDER_IN_USE";
  constructor(readonly dir: string, readonly owner: LockOwner | undefined, detail = "", localHost = hostname()) {
    super(
      `state folder ${dir} is in use by ${owner ? describe(owner, localHost) : "an unknown process (unreadable lock file)"}${detail}; ` +
        `stop it first or give this command another state folder`,
    );
  }
}

export interface StateLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Deletes the lock file if it is still ours. Idempotent; also runs on exit. */
  release(): void;
}

export interface LockOptions {
  /** The holder's command line, shown to whoever finds the folder in use. */
  command: string;
  /** A stale lock taken over is logged as a warning. */
  log?: { warn(obj: object, msg: string): void };
  /** Injected for tests; defaults are this process's. */
  host?: string;
  pid?: number;
  now?: () => number;
  /** Is this pid (on this host) the process that wrote the lock? Default: kill(pid, 0) and its start time. */
  isHolder?: (owner: LockOwner) => boolean;
  /**
   * The holder touches the file this often, so that a lock written on another host (a shared volume,
   * a pod rescheduled under another name), whose pid cannot be checked, counts as stale once it has
   * not been touched for `staleAfterMs`.
   */
  heartbeatMs?: number;
  staleAfterMs?: number;
}

const HEARTBEAT_MS = 10_000;
const STALE_AFTER_MS = 120_000;
/** A lock file that cannot be parsed is only a crash's leftover once it is older than this. */
const UNREADABLE_GRACE_MS = 2_000;
/** Clock granularity between the lock's startedAt and /proc's start time (btime is in seconds). */
const START_SLACK_MS = 5_000;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** Locks this process holds: its own pid in a lock file is stale only if it is not one of these. */
const heldHere = new Map<string, LockOwner>();

function describe(o: LockOwner, localHost = hostname()): string {
  return `PID ${o.pid}${o.host !== localHost ? ` on host ${o.host}` : ""} (${o.command}, since ${o.startedAt})`;
}

/**
 * Takes the lock of `dir` (created if missing) or throws StateFolderInUseError naming its holder. A
 * lock whose process is gone (kill -9, a crash, a power cut) is taken over with a warning.
 *
 * The file appears atomically with its full content: written to a private temporary file, then
 * hard-linked to the lock's name (link fails with EEXIST like O_EXCL, and no reader ever sees a
 * half-written file). Filesystems without hard links fall back to an O_EXCL create.
 */
export function lockStateFolder(dir: string, opts: LockOptions): StateLock {
  const host = opts.host ?? hostname();
  const pid = opts.pid ?? process.pid;
  const now = opts.now ?? Date.now;
  const isHolder = opts.isHolder ?? ((o: LockOwner) => holderAlive(o, pid));
  const staleAfterMs = opts.staleAfterMs ?? STALE_AFTER_MS;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid, command: opts.command, startedAt: new Date(now()).toISOString(), host };
  const content = `${JSON.stringify(owner)}\n`;

  const mine = heldHere.get(file);
  if (mine) throw new StateFolderInUseError(dir, mine, " (this process)", host);

  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(file, content)) return hold(file, owner, content, opts.heartbeatMs ?? HEARTBEAT_MS);
    const seen = readRaw(file);
    if (seen === undefined) continue; // released between our create and our read: try again
    const found = parseOwner(seen.text);
    const ageMs = now() - seen.mtimeMs;
    let reason: string;
    if (!found) {
      if (ageMs < UNREADABLE_GRACE_MS) throw new StateFolderInUseError(dir, undefined);
      reason = "its content is unreadable";
    } else if (found.host !== host) {
      if (ageMs < staleAfterMs) {
        throw new StateFolderInUseError(dir, found, `, last heartbeat ${Math.round(ageMs / 1000)} s ago; a lock from another host counts as stale ${staleAfterMs / 1000} s after its last heartbeat`, host);
      }
      reason = `it was written on host ${found.host} and not renewed for ${Math.round(ageMs / 1000)} s`;
    } else if (found.pid === pid) {
      // Our own pid on our own host, and we do not hold it: a restarted container (pid 1 again).
      reason = "its PID is now this process (the previous holder is gone)";
    } else if (isHolder(found)) {
      throw new StateFolderInUseError(dir, found, "", host);
    } else {
      reason = "that process is gone";
    }
    if (!removeIfUnchanged(file, seen.text)) continue; // someone else replaced it meanwhile: look again
    opts.log?.warn(
      { event: "state_lock_taken_over", dir, stale: found ?? seen.text.slice(0, 200), reason },
      `took over the stale lock of state folder ${dir}${found ? ` from ${describe(found, host)}` : ""}: ${reason}`,
    );
  }
  throw new StateFolderInUseError(dir, parseOwner(readRaw(file)?.text ?? ""), ", and the lock kept changing while this command tried to take it", host);
}

/** Atomic create with content; false when the lock exists. */
function create(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, content, { flag: "wx", mode: 0o644 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
    try {
      writeFileSync(file, content, { flag: "wx", mode: 0o644 }); // no hard links here: O_EXCL
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw e;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // gone already
    }
  }
}

function readRaw(file: string): { text: string; mtimeMs: number } | undefined {
  try {
    const mtimeMs = statSync(file).mtimeMs;
    return { text: readFileSync(file, "utf8"), mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.command === "string" && typeof o.startedAt === "string" && typeof o.host === "string") {
      return { pid: o.pid, command: o.command, startedAt: o.startedAt, host: o.host };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Reads the lock of `dir` without taking it, e.g. to show who holds it; undefined if none. */
export function readLock(dir: string): LockOwner | undefined {
  const raw = readRaw(join(dir, LOCK_FILE));
  return raw ? parseOwner(raw.text) : undefined;
}

/**
 * Removes the stale lock only if it is still the one we judged: renamed aside first (atomic, so two
 * processes taking over at once cannot both succeed), then compared; a lock that changed in between
 * (another process took it over and holds it) is put back.
 */
function removeIfUnchanged(file: string, judged: string): boolean {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  const moved = readRaw(aside)?.text;
  if (moved !== judged) {
    try {
      linkSync(aside, file); // give the new holder its lock back
    } catch {
      // a third process created one meanwhile: that one stands
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

/** Is the lock's pid alive and the process that wrote it (not a later process with a reused pid)? */
function holderAlive(o: LockOwner, self: number): boolean {
  if (o.pid === self) return false;
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    // EPERM: alive, another user's process
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const started = processStartMs(o.pid);
  const lockedAt = Date.parse(o.startedAt);
  // A process that started after the lock was written cannot have written it: its pid was reused.
  if (started !== undefined && Number.isFinite(lockedAt) && started > lockedAt + START_SLACK_MS) return false;
  return true;
}

/** Linux: the process's start time from /proc (ticks since boot + boot time); undefined elsewhere. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    return btime * 1000 + ticks * 10; // USER_HZ is 100 on every Linux ABI
  } catch {
    return undefined;
  }
}

/** The held lock: a heartbeat, and release on return, exit (normal, process.exit, uncaught) and signal. */
function hold(file: string, owner: LockOwner, content: string, heartbeatMs: number): StateLock {
  let released = false;
  const heartbeat = setInterval(() => {
    try {
      const t = new Date();
      utimesSync(file, t, t);
    } catch {
      // the folder went away: nothing to renew; the command's own writes will fail and say why
    }
  }, heartbeatMs);
  heartbeat.unref();
  heldHere.set(file, owner);
  const release = () => {
    if (released) return;
    released = true;
    heldHere.delete(file);
    clearInterval(heartbeat);
    process.off("exit", release);
    for (const s of SIGNALS) process.off(s, onSignal);
    try {
      // Only our own lock: after a takeover (we were judged stale) the file is another's.
      if (readFileSync(file, "utf8") === content) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  // A signal nobody else handles would kill the process without an "exit" event: release, then let
  // the signal do what it does by default. A command with its own handler (run, backfill) exits
  // through process.exit or a return, which the "exit" listener covers.
  function onSignal(signal: NodeJS.Signals) {
    if (process.listenerCount(signal) > 1) return;
    release();
    process.kill(process.pid, signal);
  }
  process.once("exit", release);
  for (const s of SIGNALS) process.on(s, onSignal);
  return { file, owner, release };
}
