/**
 * The base of every error a user can act on: a stable code with one prefix (`OI_`, as undici's
 * `UND_ERR_`), so scripts and logs can tell ours apart, and a message that says what is wrong and
 * what is allowed. Programming errors stay plain Errors.
 */
export class ConnectorError extends Error {
  readonly code: `OI_${string}`;

  constructor(code: string, message: string) {
    super(message);
    this.code = `OI_${code}`;
    this.name = new.target.name;
  }
}
