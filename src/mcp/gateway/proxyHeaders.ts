import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
];

/**
 * Request headers the gateway never forwards: its own key, the client's credentials (the gateway sets
 * `Authorization`, and `DPoP` for a DPoP-bound token, itself; a cookie for 127.0.0.1 means nothing upstream),
 * the Host (set for the upstream), and the framing it recomputes from the buffered body.
 */
const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'authorization',
  'dpop',
  'cookie',
  'content-length',
  'expect',
  'origin',
  'referer',
]);

/**
 * Response headers the client never gets: cookies (the gateway strips the ones that would come back),
 * challenges (a 401 or 403 never reaches the client; a stray challenge on another status would only confuse it)
 * and DPoP nonces (the gateway makes the proofs, so the nonce is its business).
 */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'set-cookie', 'www-authenticate', 'dpop-nonce']);

/**
 * The headers to send upstream: everything the client sent (the MCP ones such as `Mcp-Session-Id`,
 * `Mcp-Protocol-Version`, `Last-Event-ID`, `Accept` and `Content-Type` included, and 2026-07-28's
 * `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*`, which an intermediary must forward as they are) except those
 * above, the gateway key and any header the client's `Connection` names. `Authorization` is added by the caller.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, keyHeader: string): OutgoingHttpHeaders {
  return copyHeaders(incoming, NOT_FORWARDED, keyHeader);
}

/** The upstream response headers to pass back to the client. */
export function clientResponseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copyHeaders(incoming, NOT_RETURNED);
}

function copyHeaders(
  incoming: IncomingHttpHeaders,
  dropped: ReadonlySet<string>,
  alsoDropped?: string,
): OutgoingHttpHeaders {
  const named = incoming.connection ? connectionOptions(incoming.connection) : undefined;
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(incoming)) {
    if (dropped.has(name) || name === alsoDropped || named?.has(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** The header names listed in a `Connection` header, which are hop-by-hop too. */
function connectionOptions(value: string): Set<string> {
  return new Set(
    value
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}
