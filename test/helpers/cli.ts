import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.js";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
  /** Resolves with the first stdout line that matches. */
  line(match: (l: string) => boolean, timeoutMs: number): Promise<string>;
}

/** The built CLI as a child process (`npm test` builds first), with its output collected line by line. */
export function startCli(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const watchers = new Set<(l: string) => void>();
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop()!;
    for (const l of parts) {
      stdout.push(l);
      watchers.forEach((w) => w(l));
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const line = (match: (l: string) => boolean, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const found = stdout.find(match);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        watchers.delete(w);
        reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${stdout.join("\n")}\nstderr:\n${stderr.join("")}`));
      }, timeoutMs);
      const w = (l: string) => {
        if (!match(l)) return;
        clearTimeout(timer);
        watchers.delete(w);
        resolve(l);
      };
      watchers.add(w);
    });
  return { child, stdout, stderr, exit, line };
}

/** SIGINT, then a second one once the command logged its graceful stop (event `stopping`); resolves with the exit code. */
export async function interruptTwice(r: Running): Promise<number | null> {
  r.child.kill("SIGINT");
  await waitFor(() => r.stderr.join("").includes('"event":"stopping"'), 30_000, "the first signal's stop");
  r.child.kill("SIGINT");
  return r.exit;
}
