// Bearer tokens of the Ingest API emulator: JWT-shaped (HS256 with a random key per emulator), so clients
// handle a realistic opaque token while only the emulator that issued it can tell whether it is valid.

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { isObject } from "./emulator-validate.js";

export type TokenVerdict = "valid" | "unknown" | "expired";

export class TokenAuthority {
  private readonly key = randomBytes(32);

  constructor(
    private readonly issuer: string,
    private readonly audience: string,
    private readonly now: () => number,
  ) {}

  issue(clientId: string, lifetimeS: number): string {
    const iat = Math.floor(this.now() / 1000);
    const header = encodeSegment({ alg: "HS256", typ: "JWT" });
    const payload = encodeSegment({
      iss: this.issuer,
      sub: `${clientId}@clients`,
      aud: this.audience,
      iat,
      exp: iat + lifetimeS,
      gty: "client-credentials",
      jti: randomUUID(),
    });
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  verify(token: string): TokenVerdict {
    // The key never changes, so a signature checked once stays good: every request carries the same
    // token for its lifetime, and the HMAC per request was a measurable part of the emulator's CPU.
    const exp = this.checked.get(token) ?? this.check(token);
    if (exp === undefined) return "unknown";
    return this.now() >= exp * 1000 ? "expired" : "valid";
  }

  /** Tokens whose signature was verified, with their expiry (s); bounded, oldest forgotten first. */
  private readonly checked = new Map<string, number>();

  /** The expiry of a well-signed token, or undefined. */
  private check(token: string): number | undefined {
    const [header, payload, signature, ...rest] = token.split(".");
    if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) return undefined;
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const exp = isObject(claims) ? claims["exp"] : undefined;
    if (typeof exp !== "number") return undefined;
    if (this.checked.size >= 64) this.checked.delete(this.checked.keys().next().value!);
    this.checked.set(token, exp);
    return exp;
  }

  private sign(input: string): string {
    return createHmac("sha256", this.key).update(input).digest("base64url");
  }
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
