import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseMapping } from "../../src/config/index.js";
import type { Mapping } from "../../src/config/types.js";
import type { Emulator } from "../../src/dev/emulator.js";
import type { SimServer } from "../../src/dev/simserver.js";

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `opcua-ingest-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface MappingOptions {
  points: { name: string; pointId: string }[];
  maxValues?: number;
  maxDelay?: string;
  extraIngest?: string;
  defaults?: string;
  /** Default off: many connectors share one test process. */
  opsListen?: string;
}

/** A mapping file for the SimServer and the emulator, as a plant engineer would write it. */
export function mappingYaml(server: SimServer, emulator: Emulator, stateDir: string, o: MappingOptions): string {
  return `opcua:
  endpoint: ${server.endpoint}
  publishingInterval: 100ms
ingest:
  baseUrl: ${emulator.baseUrl}
  tokenUrl: ${emulator.tokenUrl}
  partitionId: test-partition
  clientId: demo-client
  clientSecret: demo-secret
${o.extraIngest ?? ""}
batch:
  maxValues: ${o.maxValues ?? 100}
  maxDelay: ${o.maxDelay ?? "200ms"}
state: ${stateDir}
ops:
  listen: ${o.opsListen ?? "off"}
defaults:
  samplingInterval: 0
  queueSize: 10000
${o.defaults ?? ""}
points:
${o.points.map((p) => `  - nodeId: "${server.nodeId(p.name)}"\n    pointId: ${p.pointId}`).join("\n")}
`;
}

export function writeMapping(dir: string, yaml: string, name = "mapping.yaml"): { file: string; mapping: Mapping } {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return { file, mapping: parseMapping(yaml, file, {}) };
}
