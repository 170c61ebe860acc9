import { request, type Dispatcher } from "undici";
import type { Clock } from "../core/clock.js";
import { ConnectorError } from "../core/errors.js";

export interface TokenSettings {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  requestTimeoutMs: number;
}

/** The token endpoint failed. The message never carries the secret or the token. */
export class TokenError extends ConnectorError {
  constructor(message: string, readonly status?: number) {
    super("TOKEN_FAILED", message);
  }
}

/**
 * Client-credentials token, cached and refreshed ahead of expires_in (public clients refresh
 * 300 s early; short-lived tokens refresh at 80 % of their life). Concurrent callers share one request.
 */
export class TokenCache {
  private token: string | undefined;
  private refreshAt = 0;
  private expiresAt = 0;
  private inflight: Promise<string> | undefined;
  private nextBackgroundTry = 0;
  /** Tokens obtained (metrics). */
  refreshes = 0;

  constructor(
    private readonly settings: TokenSettings,
    private readonly dispatcher: Dispatcher,
    private readonly clock: Clock,
  ) {}

  /** The cached token while it needs no refresh, else undefined (then get()): the usual request does not wait on a promise. */
  fresh(): string | undefined {
    return this.token !== undefined && this.clock.now() < this.refreshAt ? this.token : undefined;
  }

  async get(): Promise<string> {
    const fresh = this.fresh();
    if (fresh !== undefined) return fresh;
    const now = this.clock.now();
    if (this.token && now < this.expiresAt) {
      // Still valid: refresh in the background and keep sending meanwhile; a failing token
      // endpoint is asked again after a pause, not on every request.
      if (now >= this.nextBackgroundTry) {
        this.fetchShared().catch(() => (this.nextBackgroundTry = this.clock.now() + 5_000));
      }
      return this.token;
    }
    return this.fetchShared();
  }

  /** The API answered 401 with this token: forget it, unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.token === token) this.token = undefined;
  }

  private fetchShared(): Promise<string> {
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetch(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, audience, requestTimeoutMs } = this.settings;
    const started = this.clock.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(tokenUrl, {
        method: "POST",
        dispatcher: this.dispatcher,
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, audience, grant_type: "client_credentials" }),
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
      });
    } catch (err) {
      throw new TokenError(`token endpoint ${tokenUrl} unreachable: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new TokenError(`token endpoint ${tokenUrl} answered ${res.statusCode}: ${oauthError(text)}`, res.statusCode);
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new TokenError(`token endpoint ${tokenUrl} answered 200 without JSON`, 200);
    }
    if (typeof body.access_token !== "string" || body.access_token === "") {
      throw new TokenError(`token endpoint ${tokenUrl} answered 200 without access_token`, 200);
    }
    const lifeMs = (typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600) * 1000;
    this.token = body.access_token;
    this.expiresAt = started + lifeMs;
    this.refreshAt = started + Math.max(lifeMs - 300_000, lifeMs * 0.8);
    this.refreshes++;
    return this.token;
  }
}

/** The OAuth error fields only: a token endpoint may echo the request, which holds the secret. */
function oauthError(text: string): string {
  try {
    const e = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    const parts = [e.error, e.error_description].filter((x) => typeof x === "string");
    if (parts.length) return parts.join(": ");
  } catch {
    // not JSON
  }
  return "no OAuth error in the body";
}
