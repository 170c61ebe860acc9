// The one table `npm run bench` prints, the targets under it, and the machine it ran on.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, totalmem } from "node:os";

export interface Row {
  scenario: string;
  /** Monitored items. */
  items?: number;
  producedPerS?: number;
  /** Counted by the emulator (live scenarios), or values processed (micro). */
  deliveredPerS?: number;
  /** Connector process user+sys CPU per value over the steady window (micro: this process). */
  cpuUsPerValue?: number;
  /** The receive floor: the bare node-opcua client's CPU per notification, same items, same run (backfill: the bare HistoryRead client's per value). */
  bareUsPerValue?: number;
  /** The send floor: the bare undici client's CPU replaying the connector's requests of the window, per value the connector received in it. */
  sendUsPerValue?: number;
  rssPeakMb?: number;
  rssSteadyMb?: number;
  bareRssMb?: number;
  bareRssPeakMb?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  note?: string;
  /** Everything else that was measured: written to the JSON only. */
  details?: Record<string, unknown>;
}

export interface Target {
  scenario: string;
  target: string;
  measured: string;
  /** null: not measured (scenario skipped or failed). */
  met: boolean | null;
}

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
  memoryGiB: number;
  kernel: string;
}

/**
 * How busy the machine was apart from us: the 1-minute load average and the CPU pressure (PSI "some",
 * the share of time runnable tasks waited for a CPU over the last 60 s). Other jobs on the machine
 * inflate every figure of the table.
 */
export function contention(): { load1: number; cpuPressure60: number | undefined } {
  let cpuPressure60: number | undefined;
  try {
    const some = /^some .*avg60=([\d.]+)/m.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    if (some) cpuPressure60 = Number(some[1]);
  } catch {
    // no PSI
  }
  return { load1: loadavg()[0]!, cpuPressure60 };
}

export function machine(): Machine {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || nproc;
  } catch {
    // no coreutils
  }
  let kernel = "";
  try {
    kernel = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {
    // no uname
  }
  return { nproc, cpu, node: process.version, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel };
}

const int = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "-" : Math.round(n).toLocaleString("en-US"));
const fix = (n: number | undefined, d: number) => (n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(d));

/** The floor of CPU per value: bare receive + bare send; undefined unless both were measured. */
export function floor(r: Row): number | undefined {
  return r.bareUsPerValue !== undefined && r.sendUsPerValue !== undefined ? r.bareUsPerValue + r.sendUsPerValue : undefined;
}

/** The ratio of the connector's CPU per value to the floor (bare receive + bare send). */
export function ratio(r: Row): number | undefined {
  const f = floor(r);
  return r.cpuUsPerValue !== undefined && f ? r.cpuUsPerValue / f : undefined;
}

/** The ratio of the connector's CPU per value to the bare receive alone. */
export function ratioToReceive(r: Row): number | undefined {
  return r.cpuUsPerValue !== undefined && r.bareUsPerValue ? r.cpuUsPerValue / r.bareUsPerValue : undefined;
}

const times = (x: number | undefined) => (x === undefined ? "-" : `${x.toFixed(1)}x`);

const COLUMNS: { head: string; right?: boolean; cell(r: Row): string }[] = [
  { head: "scenario", cell: (r) => r.scenario },
  { head: "items", right: true, cell: (r) => int(r.items) },
  { head: "produced/s", right: true, cell: (r) => int(r.producedPerS) },
  { head: "delivered/s", right: true, cell: (r) => int(r.deliveredPerS) },
  { head: "CPU µs/value", right: true, cell: (r) => fix(r.cpuUsPerValue, 2) },
  { head: "recv floor µs", right: true, cell: (r) => fix(r.bareUsPerValue, 2) },
  { head: "send floor µs", right: true, cell: (r) => fix(r.sendUsPerValue, 2) },
  { head: "x floor", right: true, cell: (r) => times(ratio(r)) },
  { head: "x recv", right: true, cell: (r) => times(ratioToReceive(r)) },
  { head: "RSS MB peak/steady", right: true, cell: (r) => (r.rssPeakMb === undefined && r.rssSteadyMb === undefined ? "-" : `${int(r.rssPeakMb)}/${int(r.rssSteadyMb)}`) },
  { head: "bare RSS peak/steady", right: true, cell: (r) => (r.bareRssPeakMb === undefined && r.bareRssMb === undefined ? "-" : `${int(r.bareRssPeakMb)}/${int(r.bareRssMb)}`) },
  { head: "latency ms p50/p99", right: true, cell: (r) => (r.latencyP50Ms === undefined ? "-" : `${int(r.latencyP50Ms)}/${int(r.latencyP99Ms)}`) },
  { head: "notes", cell: (r) => r.note ?? "" },
];

/** A plain-text table that pastes into Markdown as is (pipes). */
export function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => `| ${values.map((v, i) => (COLUMNS[i]!.right ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (COLUMNS[i]!.right ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [line(COLUMNS.map((c) => c.head)), rule, ...cells.map(line)].join("\n");
}

export function targetLines(targets: readonly Target[]): string {
  const mark = (t: Target) => (t.met === null ? "n/a   " : t.met ? "met   " : "MISSED");
  return targets.map((t) => `  ${mark(t)} ${t.scenario}: ${t.target} (measured ${t.measured})`).join("\n");
}
