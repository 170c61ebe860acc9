import { join } from "node:path";
import { defineCommand } from "./command.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

export const plantSpec = defineCommand({
  name: "plant",
  synopsis: "[--port 4840] [--host 127.0.0.1] [--state ./state]",
  summary: "the demo's simulated plant alone (for compose)",
  description: `Runs the demo's simulated plant (OPC UA, security None, anonymous; namespace
urn:opcua-ingest:demo-plant) alone, e.g. as a compose service beside the connector; mappings/demo.yaml
maps its signals. Runs until Ctrl-C.`,
  flags: {
    port: { type: "string", arg: "N", default: "4840", help: "TCP port" },
    host: { type: "string", arg: "ADDR", default: "127.0.0.1", help: "address to listen on (0.0.0.0 in a container)" },
    state: { type: "string", arg: "DIR", default: "./state", help: "the plant's PKI goes to DIR/plant-pki" },
  },
  run: (a) => plantCommand({ port: a.integer("port")!, host: a.string("host")!, state: a.string("state")! }),
});

/** `opcua-ingest plant`: the demo's simulated plant alone, e.g. as a compose service beside the connector. */
export async function plantCommand(opts: { port: number; host: string; state: string }): Promise<number> {
  const { DemoPlant } = await import("../dev/plant.js");
  const plant = await DemoPlant.start(join(opts.state, "plant-pki"), opts.port, opts.host);
  console.log(`simulated plant (OPC UA, security None, anonymous) at ${plant.server.endpoint}
namespace urn:opcua-ingest:demo-plant; mappings/demo.yaml maps its signals. Ctrl-C to stop.`);
  await onceTerminated(() => process.exit(EXIT.failure));
  await plant.stop();
  return EXIT.ok;
}
