import { startEmulator } from "../dev/emulator.js";
import { EXIT } from "./errors.js";
import { onceTerminated } from "./signals.js";

export async function emulatorCommand(opts: { port?: number; host: string; tokenLifetimeS?: number; latencyMs?: number }): Promise<number> {
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
