import { join } from "node:path";
import { DemoPlant } from "../dev/plant.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

/** `opcua-ingest plant`: the demo's simulated plant alone, e.g. as a compose service beside the connector. */
export async function plantCommand(opts: { port: number; host: string; state: string }): Promise<number> {
  const plant = await DemoPlant.start(join(opts.state, "plant-pki"), opts.port, opts.host);
  console.log(`simulated plant (OPC UA, security None, anonymous) at ${plant.server.endpoint}
namespace urn:opcua-ingest:demo-plant; mappings/demo.yaml maps its signals. Ctrl-C to stop.`);
  await onceTerminated(() => process.exit(EXIT.failure));
  await plant.stop();
  return EXIT.ok;
}
