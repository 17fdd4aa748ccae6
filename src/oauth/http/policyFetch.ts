import { CancelledError, HttpRequestError, McpOAuthError } from '../errors';
import { systemResolver, type AddressGuard } from './guardedFetch';
import { noteCarried, safeQuote, secretsInRequest } from './requestSecrets';
import { assertSecureUrl, describeUrl } from './url';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpPolicy {
  /** The transport; injected so tests and the extension can observe or replace it. */
  readonly fetch: FetchLike;
  /** Per request, covering the response body too (a slow body times out). */
  readonly timeoutMs: number;
  /** Bodies larger than this are refused. */
  readonly maxBodyBytes: number;
  /** Same-origin redirects followed for GET; a redirect to another origin is always refused. */
  readonly maxRedirects: number;
  /**
   * The guard against server-side request forgery: for an MCP server that is not on loopback,
   * serverHttpPolicy() (serverPolicy.ts) replaces `fetch` with a transport that resolves every host through
   * it and refuses the addresses that server may not make the client reach. Without it, `fetch` is used for
   * every server.
   */
  readonly addressGuard?: AddressGuard;
}

/**
 * The production policy. When it picks the transport (no `fetchImpl`), it guards it with the system
 * resolver; a caller that passes a transport of its own keeps full control of it.
 */
export const defaultHttpPolicy = (fetchImpl?: FetchLike): HttpPolicy => ({
  fetch: fetchImpl ?? globalThis.fetch,
  timeoutMs: 30_000,
  maxBodyBytes: 1024 * 1024,
  maxRedirects: 3,
  ...(fetchImpl ? {} : { addressGuard: { resolve: systemResolver } }),
});

/**
 * A fetch that enforces the security policy for every request the OAuth core makes: https (loopback
 * excepted), a timeout, a body size limit, and no redirect to another origin. It returns a fully buffered
 * Response, so the processors (ours and oauth4webapi's) never touch a half-read stream.
 */
export function policyFetch(policy: HttpPolicy, signal?: AbortSignal): FetchLike {
  return async (input, init = {}) => {
    let url = assertSecureUrl(new URL(String(input)), 'request URL');
    const method = (init.method ?? 'GET').toUpperCase();
    const timeout = AbortSignal.timeout(policy.timeoutMs);
    const signals = [timeout, init.signal, signal].filter((s): s is AbortSignal => !!s);
    const combined = AbortSignal.any(signals);
    try {
      for (let hop = 0; ; hop++) {
        const response = await policy.fetch(url, { ...init, method, redirect: 'manual', signal: combined });
        const location = response.headers.get('location');
        if (response.status >= 300 && response.status < 400 && location) {
          await response.body?.cancel().catch(() => undefined);
          const next = new URL(location, url);
          if (next.origin !== url.origin) {
            throw new HttpRequestError(
              'cross_origin_redirect',
              `${describeUrl(url)} redirected to another origin (${safeQuote(next.origin, secretsInRequest(url, init))}); refused`,
            );
          }
          if (method !== 'GET' || hop >= policy.maxRedirects) {
            throw new HttpRequestError(
              'too_many_redirects',
              `${describeUrl(url)} redirected ${method === 'GET' ? 'too many times' : `a ${method} request`}; refused`,
            );
          }
          url = assertSecureUrl(next, 'redirect location');
          continue;
        }
        const body = await readLimited(response, policy.maxBodyBytes, url);
        const nullBody = response.status === 204 || response.status === 304;
        const buffered = new Response(nullBody ? null : body, {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
        return noteCarried(buffered, url, init);
      }
    } catch (error) {
      if (error instanceof McpOAuthError) throw error;
      if (timeout.aborted) {
        const limit = policy.timeoutMs >= 1000 ? `${Math.round(policy.timeoutMs / 1000)} s` : `${policy.timeoutMs} ms`;
        throw new HttpRequestError(
          'timeout',
          `${describeUrl(url)} did not answer within ${limit}; check that it is up, or raise mcpOAuth.requestTimeoutSeconds`,
          { cause: error },
        );
      }
      if (combined.aborted) throw new CancelledError();
      throw new HttpRequestError(
        'network_error',
        `Could not reach ${describeUrl(url)}: ${(error as Error)?.message ?? 'network error'}`,
        { cause: error },
      );
    }
  };
}

async function readLimited(response: Response, max: number, url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(url, max);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(url, max);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(url: URL, max: number): HttpRequestError {
  return new HttpRequestError(
    'response_too_large',
    `${describeUrl(url)} sent a response larger than ${max} bytes; refused`,
  );
}

/** Reads a JSON object body, or throws `invalid_json` naming what was being read. */
export async function readJsonObject(response: Response, what: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await response.text());
  } catch {
    throw new HttpRequestError('invalid_json', `${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpRequestError('invalid_json', `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
