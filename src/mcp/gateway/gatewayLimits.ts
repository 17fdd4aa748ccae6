import type { ServerOptions } from 'node:http';
import { McpOAuthError } from '../../oauth/errors';

/**
 * How much of the gateway another local user can hold. Its port is open to every process on the machine, and
 * only the gateway key tells the user's MCP client from the rest; these bound what a process without the key
 * can take, so that a flood of idle or slow sockets never stops the user's calls.
 */
export interface GatewayLimits {
  /** Open connections at most, the user's included (connectionGuard.ts says which make way). */
  readonly maxConnections: number;
  /** Open connections at most that have not yet carried a request with the gateway key. */
  readonly maxUnproven: number;
  /**
   * From a connection's opening to its first byte, and from a request's first byte to the end of its headers
   * (Node starts counting again when a request begins: a socket that idles, then trickles, gets twice this).
   */
  readonly headersTimeoutMs: number;
  /** Likewise, to the end of a request's body. The response's time never counts. */
  readonly requestTimeoutMs: number;
  /** How long a keep-alive connection may wait for its next request (Node adds 1 s before closing). */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the two timeouts above; they take effect up to this much late. */
  readonly timeoutCheckIntervalMs: number;
  /** Warnings a flood can cause are logged once per kind, then counted and summed up once per this window. */
  readonly warningWindowMs: number;
}

/**
 * The numbers, and why:
 * - 256 connections: VS Code's MCP client (Node's fetch, keep-alive) opens one per request in flight plus one
 *   per open GET stream, so a handful per server. 256 bounds the file descriptors a flood can take from the
 *   extension host, which shares them with everything else it runs (the gateway's own upstream requests too).
 * - 64 unproven: a connection of the user's is unproven only from its opening to its first request's headers,
 *   a few milliseconds on loopback; 64 leaves room for many of those at once, and the oldest make way for new
 *   ones, so the flood ages out and never holds the door shut.
 * - 10 s for the headers: a real client sends them in one write as soon as it connects; 10 s forgives an
 *   extension host stalled by a garbage collection or a busy machine, and closes idle sockets after 10 to
 *   11 s and slowloris ones (a byte now and then) at most 10 s after their first byte.
 * - 60 s for a request: the body is at most 4 MB, milliseconds on loopback. Node stops counting when the
 *   request has arrived, so a response that takes minutes (a POST's SSE answer) or hours (the GET stream) is
 *   never cut; no rule here looks at a connection whose response is under way.
 * - 30 s between requests: longer than Node's 5 s, so the user's client keeps its proven connections across
 *   the pauses between tool calls instead of opening new ones that must get in past a flood. The client
 *   learns it from `Keep-Alive: timeout=30` and lets go of an idle connection a little before the gateway
 *   closes it (Node waits 1 s more), so it never sends a request on a socket being closed.
 * - a check every second: Node checks the timeouts only this often (its default is 30 s, which would let an
 *   idle socket live 40 s instead of 10 to 11).
 * - 10 s warning window: the first warning of each kind is logged at once, then one line per kind and window.
 *
 * Left at Node's defaults: the 16 KB header size limit (which bounds the cost of one request's headers) and
 * `maxHeadersCount` (which drops headers past the count instead of refusing the request); no socket
 * inactivity timeout (`server.timeout`, which would cut a quiet SSE stream) and no `maxRequestsPerSocket`
 * (which would make the user's client open new connections).
 */
export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = Object.freeze({
  maxConnections: 256,
  maxUnproven: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  timeoutCheckIntervalMs: 1_000,
  warningWindowMs: 10_000,
});

/** The defaults with `overrides` applied; `invalid_config` for a value that is not a positive integer or a contradiction. */
export function gatewayLimits(overrides: Partial<GatewayLimits> = {}): GatewayLimits {
  const limits = { ...DEFAULT_GATEWAY_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new McpOAuthError('invalid_config', `The gateway limit ${name} must be a positive integer`);
  }
  if (limits.maxUnproven > limits.maxConnections)
    throw new McpOAuthError('invalid_config', 'The gateway limit maxUnproven must not exceed maxConnections');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new McpOAuthError('invalid_config', 'The gateway limit headersTimeoutMs must not exceed requestTimeoutMs');
  return Object.freeze(limits);
}

/** The `node:http` server options that carry the timeouts. */
export function serverTimeouts(limits: GatewayLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
  };
}
