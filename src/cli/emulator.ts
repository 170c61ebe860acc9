import { defineCommand } from "./command.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

export const emulatorSpec = defineCommand({
  name: "emulator",
  synopsis: "[--port 8480] [--host 127.0.0.1] [--token-lifetime S] [--latency MS]",
  summary: "run the local Ingest API emulator",
  description: `Runs the local, strict Ingest API emulator (token endpoint, POST/GET values) for dry runs.
Credentials: client id demo-client, secret demo-secret. Prints its URLs; runs until Ctrl-C.`,
  flags: {
    port: { type: "string", arg: "N", default: "8480", help: "TCP port" },
    host: { type: "string", arg: "ADDR", default: "127.0.0.1", help: "address to listen on (0.0.0.0 in a container)" },
    "token-lifetime": { type: "string", arg: "SECONDS", help: "expires_in of the tokens it issues (default 86400)" },
    latency: { type: "string", arg: "MS", help: "delay before answering each values POST (default 0)" },
  },
  run: (a) => emulatorCommand({ port: a.integer("port"), host: a.string("host")!, tokenLifetimeS: a.integer("token-lifetime"), latencyMs: a.integer("latency") }),
});

export async function emulatorCommand(opts: { port?: number; host: string; tokenLifetimeS?: number; latencyMs?: number }): Promise<number> {
  const { startEmulator } = await import("../dev/emulator.js");
  const emulator = await startEmulator({
    port: opts.port,
    host: opts.host,
    ...(opts.tokenLifetimeS !== undefined && { tokenLifetimeS: opts.tokenLifetimeS }),
    ...(opts.latencyMs !== undefined && { latencyMs: opts.latencyMs }),
  });
  console.log(`Ingest API emulator listening
  baseUrl:  ${emulator.baseUrl}
  tokenUrl: ${emulator.tokenUrl}
  clientId: demo-client   clientSecret: demo-secret
  stats:    ${emulator.url}/_emulator/stats
Ctrl-C to stop.`);
  await onceTerminated(() => process.exit(EXIT.failure));
  await emulator.close();
  return EXIT.ok;
}
