// The token the bench's bare HTTP clients (procs/send, procs/backfill-floor) send: fetched once from
// the emulator's token endpoint, before anything is measured.
import { request, type Agent } from "undici";

/** Where a bare client posts: the mapping's ingest settings, as the harness passes them. */
export interface IngestTarget {
  baseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  partitionId: string;
}

/** A client-credentials token from the emulator. */
export async function fetchToken(agent: Agent, o: Omit<IngestTarget, "baseUrl" | "partitionId">): Promise<string> {
  const res = await request(o.tokenUrl, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ client_id: o.clientId, client_secret: o.clientSecret, audience: o.audience, grant_type: "client_credentials" }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`token endpoint: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}
