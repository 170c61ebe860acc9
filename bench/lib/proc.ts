// Child processes of the benchmark and what /proc says about them. Every child is registered and
// killed (by its pid, SIGKILL) when the benchmark exits, fails or is interrupted; each child also
// preloads procs/guard.js, which ends it if the benchmark disappears without cleaning up.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
/** dist-bench/bench */
export const BENCH_DIR = join(here, "..");
const GUARD = pathToFileURL(join(BENCH_DIR, "procs", "guard.js")).href;

/** Kernel clock ticks per second: the unit of utime/stime in /proc/<pid>/stat. */
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const TAIL = 200;

export class Child {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private readonly tail: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();
  private exitCode: number | null | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    if (proc.pid === undefined) throw new Error(`${name}: could not start`);
    this.pid = proc.pid;
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        children.delete(this);
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code ?? signal}) before answering\n${this.lastLines()}`));
        this.pending.clear();
        resolve(code);
      });
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) this.line(line);
      });
    }
    proc.on("message", (msg: { id?: number; error?: string }) => {
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg);
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > TAIL) this.tail.shift();
    for (const l of this.listeners) l(line);
  }

  lastLines(n = 20): string {
    return this.tail.slice(-n).map((l) => `  [${this.name}] ${l.length > 400 ? `${l.slice(0, 400)}…` : l}`).join("\n");
  }

  onLine(fn: (line: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The first output line (stdout or stderr) matching `re`, from now on or among the kept tail. */
  waitForLine(re: RegExp, timeoutMs: number, what = String(re)): Promise<string> {
    const seen = this.tail.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: no ${what} within ${timeoutMs / 1000} s\n${this.lastLines()}`)), timeoutMs);
      const off = this.onLine((l) => {
        if (re.test(l)) done(undefined, l);
      });
      const onExit = () => done(new Error(`${this.name} exited before ${what}\n${this.lastLines()}`));
      this.proc.once("exit", onExit);
      const done = (err?: Error, line?: string) => {
        clearTimeout(timer);
        off();
        this.proc.off("exit", onExit);
        if (err) reject(err);
        else resolve(line!);
      };
    });
  }

  /** The first IPC message with id 0: a bench script's "ready" announcement. */
  ready<T>(timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: not ready within ${timeoutMs / 1000} s\n${this.lastLines()}`)), timeoutMs);
      const onMessage = (msg: { id?: number }) => {
        if (msg.id === 0) done(undefined, msg as T);
      };
      const onExit = () => done(new Error(`${this.name} exited before it was ready\n${this.lastLines()}`));
      this.proc.on("message", onMessage);
      this.proc.once("exit", onExit);
      const done = (err?: Error, msg?: T) => {
        clearTimeout(timer);
        this.proc.off("message", onMessage);
        this.proc.off("exit", onExit);
        if (err) reject(err);
        else resolve(msg!);
      };
    });
  }

  /** Request/answer over the IPC channel (bench scripts only). */
  rpc<T>(msg: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${String(msg.cmd)} within ${timeoutMs / 1000} s\n${this.lastLines()}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.send({ ...msg, id });
    });
  }

  /** SIGTERM (or `signal`), then SIGKILL after graceMs; resolves with the exit code. */
  async stop(graceMs = 15_000, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (!this.running) return this.exited;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.running) this.proc.kill("SIGKILL");
  }
}

const children = new Set<Child>();

let runDir: string | undefined;

/**
 * This run's temporary folder; children get it as BENCH_TMP for theirs. Removed when the benchmark
 * exits, however it exits, so a killed child leaves nothing behind either.
 */
export function benchTmp(): string {
  installCleanup();
  runDir ??= mkdtempSync(join(tmpdir(), "opcua-ingest-bench-run-"));
  return runDir;
}

/** SIGKILL every child still running, each by its own pid. Synchronous: safe in an 'exit' handler. */
export function killAll(): void {
  for (const c of children) {
    try {
      c.kill();
    } catch {
      // already gone
    }
  }
}

let installed = false;
function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    killAll();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}: stopping every child process`);
      killAll();
      process.exit(130);
    });
  }
  process.on("uncaughtException", (err) => {
    console.error("bench: uncaught exception:", err);
    killAll();
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    console.error("bench: unhandled rejection:", err);
    killAll();
    process.exit(1);
  });
}

export interface SpawnOptions {
  /** Node flags before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  ipc?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `node --import guard.js [nodeArgs] script args`, output captured line by line. */
export function spawnNode(name: string, script: string, args: string[], opts: SpawnOptions = {}): Child {
  installCleanup();
  const proc = spawn(process.execPath, ["--import", GUARD, ...(opts.nodeArgs ?? []), script, ...args], {
    stdio: ["ignore", "pipe", "pipe", ...(opts.ipc ? (["ipc"] as const) : [])],
    env: { ...process.env, BENCH_TMP: benchTmp(), ...opts.env },
    cwd: opts.cwd,
  });
  const child = new Child(name, proc);
  children.add(child);
  return child;
}

// --- /proc ----------------------------------------------------------------------------------------

/** user + system CPU time of a process so far, in µs (from utime + stime in /proc/<pid>/stat). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // comm (field 2) may hold spaces and parentheses: fields are counted after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1e6) / CLK_TCK;
}

/** Resident set size now and its high-water mark, in MB (VmRSS and VmHWM of /proc/<pid>/status). */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Samples a process's RSS every intervalMs until stopped; tolerant of the process exiting. */
export class RssSampler {
  readonly samples: { t: number; rss: number }[] = [];
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 1_000,
  ) {
    const sample = () => {
      try {
        const m = memoryMb(this.pid);
        this.samples.push({ t: Date.now(), rss: m.rss });
        this.peak = Math.max(this.peak, m.peak);
      } catch {
        // exited
      }
    };
    sample();
    this.timer = setInterval(sample, intervalMs);
  }

  /** Mean RSS of the samples taken in [from, to]. */
  mean(from: number, to: number): number {
    const inside = this.samples.filter((s) => s.t >= from && s.t <= to);
    return inside.length ? inside.reduce((a, s) => a + s.rss, 0) / inside.length : Number.NaN;
  }

  stop(): void {
    clearInterval(this.timer);
    try {
      this.peak = Math.max(this.peak, memoryMb(this.pid).peak);
    } catch {
      // exited
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
