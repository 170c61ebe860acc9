import { ConnectorError } from "../core/errors.js";
/** Exit codes of the CLI contract. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Wrong flags or arguments: exit 2 with a message that says what is allowed. */
export class UsageError extends ConnectorError {
  constructor(message: string) {
    super("USAGE", message);
  }
}
