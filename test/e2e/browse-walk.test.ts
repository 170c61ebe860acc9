// The walker in-process against a stingy server: tiny Browse and Read limits, small pages and only
// two continuation points per session, so every batching path runs (BrowseNext, retry of the
// nodes the server had no continuation point for, reads split to MaxNodesPerRead).
import { join } from "node:path";
import type { ClientSession, OPCUAClient } from "node-opcua";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpcuaConfig } from "../../src/config/types.js";
import { walk } from "../../src/opcua/browse.js";
import { Glob } from "../../src/opcua/browse-glob.js";
import type { BrowsedVariable } from "../../src/opcua/browse-render.js";
import { closeQuietly, createClient, openSession } from "../../src/opcua/session.js";
import { PlantServer } from "../helpers/addressspace.js";
import { silent, tempDir } from "../helpers/env.js";

const dir = tempDir("browse-walk");
let plant: PlantServer;
let client: OPCUAClient;
let session: ClientSession;

beforeAll(async () => {
  plant = await PlantServer.start(join(dir.path, "server-pki"), {
    lines: 4, machinesPerLine: 60, utilities: 130, maxNodesPerBrowse: 7, maxNodesPerRead: 10, maxBrowseContinuationPoints: 2,
  });
  const cfg: OpcuaConfig = {
    endpoint: plant.endpoint, securityMode: "None", securityPolicy: "None", user: { kind: "anonymous" }, trustServerCertificate: false,
    applicationName: "opcua-ingest", publishingIntervalMs: 1000, sessionTimeoutMs: 60_000, reconnectMaxDelayMs: 30_000,
  };
  client = await createClient(cfg, join(dir.path, "state"), silent, { retryFirstConnect: false });
  session = await openSession(client, cfg, join(dir.path, "state"));
});
afterAll(async () => {
  await closeQuietly(client, session);
  await plant?.stop();
  dir.remove();
});

describe("walk", () => {
  it("finds every variable once within tiny operation limits, following continuation points", async () => {
    const found: BrowsedVariable[] = [];
    let batches = 0;
    const stats = await walk(session, { root: "i=85", maxReferencesPerNode: 25 }, async (vars) => {
      batches++;
      found.push(...vars);
    });
    expect(found.map((v) => v.path).sort()).toEqual(plant.variables.map((v) => v.path).sort());
    expect(new Set(found.map((v) => v.nodeId)).size).toBe(found.length);
    const temp = found.find((v) => v.path === "Plant/Line02/Machine033/Temperature")!;
    expect(temp).toEqual({ path: "Plant/Line02/Machine033/Temperature", nodeId: "nsu=urn:opcua-ingest:test-plant;s=Plant.Line02.Machine033.Temperature", dataType: "Double", unit: "°C", accessLevel: 3 });
    expect(stats.limits).toEqual({ perBrowse: 7, perRead: 10 });
    expect(stats.browseNextRequests).toBeGreaterThan(10); // 60 machines and 130 tags in pages of 25
    expect(stats.browsedAgain).toBeGreaterThan(0); // the server had only two continuation points…
    expect(stats.unbrowsable).toBe(0); // …so the others were browsed again alone
    expect(batches).toBeGreaterThan(10); // streamed, not collected
    expect(stats.variables).toBe(plant.variables.length);
  }, 60_000);

  it("with a filter, browses only branches that can match", async () => {
    const found: BrowsedVariable[] = [];
    const stats = await walk(session, { root: "i=85", filter: new Glob("Plant/Line03/Machine04*/Speed") }, async (vars) => void found.push(...vars));
    expect(found.map((v) => v.path)).toEqual(Array.from({ length: 10 }, (_x, i) => `Plant/Line03/Machine04${i}/Speed`));
    expect(stats.nodes).toBeLessThan(100);
  }, 30_000);

  it("lists properties only when asked, and stops at --depth", async () => {
    const paths = async (o: { includeProperties?: boolean; depth?: number }) => {
      const found: string[] = [];
      await walk(session, { root: "nsu=urn:opcua-ingest:test-plant;s=Plant.Line01", filter: new Glob("Machine001/**"), ...o }, async (vars) => void found.push(...vars.map((v) => v.path)));
      return found;
    };
    const plain = await paths({});
    expect(plain).toEqual(["Machine001/Temperature", "Machine001/Pressure", "Machine001/Speed", "Machine001/Running", "Machine001/State", "Machine001/Counter"]);
    const withProperties = await paths({ includeProperties: true });
    expect(withProperties).toEqual(expect.arrayContaining([...plain, "Machine001/Temperature/EngineeringUnits", "Machine001/Temperature/EURange"]));
    expect(await paths({ depth: 1 })).toEqual([]);
  }, 30_000);
});
