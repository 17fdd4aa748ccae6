import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createError, McpOAuthError, quote } from '../errors';
import { classifyAddress, type AddressClass } from './addressClass';
import type { FetchLike } from './policyFetch';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Every address of a host name. Injected so tests can map names to the addresses they need. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system's resolver, as Node's own connections use it: getaddrinfo (so /etc/hosts too), every address. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** What the guarded transport needs from its host. */
export interface AddressGuard {
  readonly resolve: Resolver;
  /**
   * PEM certificates to trust instead of the system's roots. For tests only, which serve https from a
   * certificate of their own; certificates are checked as usual either way.
   */
  readonly ca?: string;
}

/** What one request may connect to. */
export interface RequestBound {
  readonly allowed: ReadonlySet<AddressClass>;
  /**
   * The host was named by the server or its metadata, not by the user: a failure to reach it is one generic
   * error, so that the errors cannot tell a closed port from an open one, or a refused address from either.
   */
  readonly named: boolean;
}

/**
 * A fetch over node:http and node:https that resolves the host itself, refuses the request before any
 * connection when one of the addresses is not in the bound `boundFor` gives for the URL, and then connects
 * to the addresses it checked: Node's own lookup is replaced, so a rebinding DNS server gets no second
 * question it could answer differently. TLS is checked against the host name as usual.
 *
 * It never follows a redirect (policyFetch does, and calls it again for the next hop, which is resolved and
 * checked on its own). It honours the signal, method, headers and body, asks for no content coding (it
 * decodes none), and streams the body of the Response it returns.
 */
export function guardedFetch(guard: AddressGuard, boundFor: (url: URL) => RequestBound): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(String(input));
    const bound = boundFor(url);
    const signal = init.signal ?? undefined;
    const failure = (error: unknown): unknown => {
      if (signal?.aborted) return signal.reason;
      if (error instanceof McpOAuthError || !bound.named) return error;
      return unreachable('network_error', url);
    };
    try {
      const addresses = await resolveAddresses(url.hostname, guard.resolve, signal);
      if (addresses.some(({ address }) => !bound.allowed.has(classifyAddress(address)))) {
        throw bound.named
          ? unreachable('blocked_address', url)
          : createError(
              'blocked_address',
              `Could not reach ${quote(url.hostname)}: it resolves to an address this server may not make the client reach; refused`,
            );
      }
      return await send(url, init, addresses, guard.ca, failure);
    } catch (error) {
      throw failure(error);
    }
  };
}

/** The addresses of `hostname` (an IP literal is its own), through `resolve`. */
export async function resolveAddresses(
  hostname: string,
  resolve: Resolver,
  signal?: AbortSignal,
): Promise<readonly ResolvedAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [{ address: host, family: isIP(host) }];
  const addresses = await abortable(resolve(host), signal);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  return addresses;
}

/** `promise`, or the signal's reason once it fires (a DNS lookup cannot itself be cancelled). */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The same text for an address that is refused and for a host that could not be reached, whatever the
 * reason: no address, no port, no errno.
 */
function unreachable(code: 'blocked_address' | 'network_error', url: URL): McpOAuthError {
  return createError(
    code,
    `Could not reach ${quote(url.hostname)} (named by the server's metadata): it is down, or its address is not allowed for this server. If you trust that host, name it in the settings (auth.authorizationServer or auth.authorizationServerMetadataUrl)`,
  );
}

async function send(
  url: URL,
  init: RequestInit,
  addresses: readonly ResolvedAddress[],
  ca: string | undefined,
  failure: (error: unknown) => unknown,
): Promise<Response> {
  // The Request normalizes the headers and the body as fetch would (a form body gets its content type).
  const request = new Request(url, {
    ...(init.method ? { method: init.method } : {}),
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined && init.body !== null ? { body: init.body } : {}),
  });
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'mcp-oauth', 'accept-encoding': 'identity' };
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (body) headers['content-length'] = String(body.length);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = transport.request(url, {
      method: request.method,
      headers,
      agent: false, // a connection per request: nothing pooled by host name outlives the check
      lookup: pinnedLookup(addresses),
      ...(init.signal ? { signal: init.signal } : {}),
      ...(ca ? { ca } : {}),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      try {
        resolve(toResponse(res, request.method, failure));
      } catch (error) {
        res.destroy();
        reject(error);
      }
    });
    req.end(body);
  });
}

/** A lookup that answers with the addresses already checked, in the form Node asks for. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const usable = addresses.filter((a) => !options.family || a.family === options.family);
    const first = usable[0];
    if (!first) callback(new Error('no address of the requested family'), '', 0);
    else if (options.all) callback(null, [...usable]);
    else callback(null, first.address, first.family);
  };
}

function toResponse(res: http.IncomingMessage, method: string, failure: (error: unknown) => unknown): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const empty = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (empty) res.resume();
  return new Response(empty ? null : bodyStream(res, failure), {
    status,
    statusText: res.statusMessage ?? '',
    headers,
  });
}

/** The body as a web stream, with backpressure; a connection lost before the end is an error, never an end. */
function bodyStream(res: http.IncomingMessage, failure: (error: unknown) => unknown): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        controller.error(failure(error));
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the body ended'));
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      res.destroy();
    },
  });
}
