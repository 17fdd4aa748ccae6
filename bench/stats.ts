// Small statistics and request-counting helpers shared by the benchmarks.
import type { FetchLike } from '../src/oauth/http/policyFetch';
import type { PeerRequest } from './peers';

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** One request a client made, as its fetch saw it. */
export interface ClientRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
}

/** A fetch that records every request (method, URL, status) before handing back the response. */
export class CountingFetch {
  readonly requests: ClientRequest[] = [];
  constructor(private readonly inner: FetchLike = globalThis.fetch) {}
  readonly fetch: FetchLike = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const response = await this.inner(input, init);
    this.requests.push({ method, url, status: response.status });
    return response;
  };
}

/** A count per kind, as `{ kind: n }` with the kinds sorted. */
export type Kinds = Record<string, number>;

export function countKinds(kinds: readonly string[]): Kinds {
  const counts: Kinds = {};
  for (const kind of [...kinds].sort()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** What an AS request was for (oidc-provider's routes). */
export function asKind(path: string): string {
  if (path.startsWith('/.well-known/')) return `discovery ${path}`;
  if (path === '/reg') return 'registration';
  if (path === '/token') return 'token';
  if (path === '/jwks') return 'jwks';
  return 'authorization (browser)';
}

/** What an MCP server request was: discovery, or the HTTP method with the JSON-RPC method and status. */
export function mcpKind(request: PeerRequest): string {
  if (request.path.startsWith('/.well-known/')) return `discovery ${request.path}`;
  const status = request.status === undefined ? 'open' : String(request.status);
  if (request.method === 'POST') return `POST ${request.rpcMethod ?? '?'} → ${status}`;
  if (request.method === 'GET') return `GET (SSE stream) → ${status}`;
  return `${request.method} → ${status}`;
}

/** A client request's kind, by where it went (the AS or the MCP server) and what it was. */
export function clientKind(request: ClientRequest, asOrigin: string, mcpUrl: string): string {
  const url = new URL(request.url);
  if (url.origin === asOrigin) return `AS ${asKind(url.pathname)}`;
  if (url.pathname.startsWith('/.well-known/')) return `MCP discovery ${url.pathname} → ${request.status}`;
  if (url.href === mcpUrl) return `MCP ${request.method} → ${request.status}`;
  return `other ${request.method} ${url.href}`;
}

export const total = (kinds: Kinds): number => Object.values(kinds).reduce((a, b) => a + b, 0);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
