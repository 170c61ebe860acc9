import { Agent, request } from "undici";
import type { IngestConfig } from "../config/types.js";
import type { TokenCache } from "./token.js";
import { ConnectorError } from "../core/errors.js";

export interface ApiValue {
  /** Epoch ms. */
  ts: number;
  value: string;
  qualityOfValue?: number;
}

export class ReadError extends ConnectorError {
  constructor(message: string) {
    super("API_READ_FAILED", message);
  }
}

const JSONAPI = "application/vnd.api+json";

/**
 * Reads a point's stored values back from the API over [fromMs, toMs), page by page:
 * `filter[timestamp][from|to]`, `page[limit]`, and `links.next` — relative to the base URL, so it
 * is appended to the configured base URL, not resolved against the host.
 */
export async function* readApiValues(
  cfg: IngestConfig, tokens: TokenCache, agent: Agent, pointId: string, fromMs: number, toMs: number, pageLimit = 1000,
): AsyncGenerator<ApiValue[]> {
  const first = `/partitions/${encodeURIComponent(cfg.partitionId)}/points/${encodeURIComponent(pointId)}/values?` +
    `filter[timestamp][from]=${encodeURIComponent(new Date(fromMs).toISOString())}&filter[timestamp][to]=${encodeURIComponent(new Date(toMs).toISOString())}&page[limit]=${pageLimit}`;
  for (let path: string | undefined = first, retried = false; path; ) {
    const token = await tokens.get();
    const res = await request(`${cfg.baseUrl}${path}`, {
      method: "GET", dispatcher: agent,
      headers: { accept: JSONAPI, authorization: `Bearer ${token}` },
      headersTimeout: cfg.requestTimeoutMs, bodyTimeout: cfg.requestTimeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode === 401 && !retried) {
      tokens.invalidate(token);
      retried = true;
      continue;
    }
    if (res.statusCode !== 200) throw new ReadError(`GET values of point ${pointId} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    retried = false;
    const doc = JSON.parse(text) as { data?: { attributes?: { timestamp?: string; value?: string; qualityOfValue?: number } }[]; links?: { next?: string | null } };
    const page: ApiValue[] = [];
    for (const item of doc.data ?? []) {
      const a = item.attributes;
      if (!a || typeof a.timestamp !== "string" || typeof a.value !== "string") continue;
      page.push({ ts: Math.floor(Date.parse(a.timestamp)), value: a.value, ...(a.qualityOfValue !== undefined && { qualityOfValue: a.qualityOfValue }) });
    }
    yield page;
    path = doc.links?.next ?? undefined;
  }
}
