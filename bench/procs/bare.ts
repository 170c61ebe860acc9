// The limit the connector is measured against: a bare node-opcua client in a process of its own,
// subscribed to the same items with the same subscription and monitoring parameters as the connector
// (one subscription, ClientMonitoredItemGroup chunks of 5,000, TimestampsToReturn.Both), which only
// counts the notifications. Driven over IPC:
//   { cmd: "start", endpoint, namespaceUri, items, publishingIntervalMs, samplingIntervalMs, queueSize }
//   { cmd: "count" } · { cmd: "stop" }
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AttributeIds, ClientMonitoredItemGroup, MessageSecurityMode, OPCUACertificateManager, OPCUAClient, SecurityPolicy,
  TimestampsToReturn, type ClientSession, type ClientSubscription,
} from "node-opcua";
import "../../src/opcua/logging.js";
import { serveIpc } from "../lib/ipc-proc.js";

interface Start {
  endpoint: string;
  namespaceUri: string;
  items: number;
  publishingIntervalMs: number;
  samplingIntervalMs: number;
  queueSize: number;
}

const pkiDir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "bare-"));
let client: OPCUAClient | undefined;
let session: ClientSession | undefined;
let subscription: ClientSubscription | undefined;
let notifications = 0;

async function start(o: Start): Promise<{ created: number; failed: number; setupMs: number }> {
  const t0 = performance.now();
  const clientCertificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
  await clientCertificateManager.initialize();
  client = OPCUAClient.create({
    applicationName: "opcua-ingest-bench-bare",
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    endpointMustExist: false,
    keepSessionAlive: true,
    clientCertificateManager,
    connectionStrategy: { initialDelay: 500, maxDelay: 5_000, maxRetry: 3 },
  });
  await client.connect(o.endpoint);
  session = await client.createSession();
  const ns = (await session.readNamespaceArray()).indexOf(o.namespaceUri);
  if (ns < 0) throw new Error(`namespace ${o.namespaceUri} not on the server`);
  subscription = await session.createSubscription2({
    requestedPublishingInterval: o.publishingIntervalMs,
    requestedMaxKeepAliveCount: 10,
    requestedLifetimeCount: 100,
    maxNotificationsPerPublish: 0,
    publishingEnabled: true,
    priority: 1,
  });
  const params = { samplingInterval: o.samplingIntervalMs, queueSize: o.queueSize, discardOldest: true, filter: null };
  let failed = 0;
  const perCall = 5_000;
  for (let first = 0; first < o.items; first += perCall) {
    const nodes = [];
    for (let i = first; i < Math.min(o.items, first + perCall); i++) nodes.push({ nodeId: `ns=${ns};s=v${i}`, attributeId: AttributeIds.Value });
    const group = ClientMonitoredItemGroup.create(subscription, nodes, params, TimestampsToReturn.Both);
    group.on("changed", () => {
      notifications += 1;
    });
    await new Promise<void>((resolve, reject) => {
      group.once("initialized", resolve);
      group.once("terminated", (err) => reject(err ?? new Error("monitored item group terminated")));
    });
    for (const item of group.monitoredItems) if (item.statusCode.isNotGood()) failed += 1;
  }
  return { created: o.items - failed, failed, setupMs: performance.now() - t0 };
}

async function stop(): Promise<void> {
  await Promise.race([subscription?.terminate().catch(() => {}), new Promise((r) => setTimeout(r, 3_000).unref())]);
  await session?.close().catch(() => {});
  await client?.disconnect().catch(() => {});
  rmSync(pkiDir, { recursive: true, force: true });
}

serveIpc({ start: (msg) => start(msg as unknown as Start), count: () => ({ notifications }) }, stop);
