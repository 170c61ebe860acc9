import { pino, type DestinationStream, type Logger } from "pino";

/** Anything that may carry a secret, wherever it appears in a log object. */
export const REDACT_PATHS = [
  "clientSecret", "*.clientSecret", "*.*.clientSecret",
  "client_secret", "*.client_secret",
  "password", "*.password", "*.*.password",
  "token", "*.token", "access_token", "*.access_token",
  "authorization", "*.authorization", "*.headers.authorization",
  "privateKey", "*.privateKey", "*.*.privateKey",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: "opcua-ingest" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
