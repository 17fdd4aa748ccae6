import { LATEST_PROTOCOL_VERSION, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { bearerChallenge, type BearerChallenge } from '../oauth/discovery/challenge';
import { HttpRequestError } from '../oauth/errors';
import type { FetchLike } from '../oauth/http/policyFetch';
import { describeUrl } from '../oauth/http/url';
import { isModernErrorCode, withEnvelope } from './modern/envelope';
import { jsonRpcError } from './modern/postRequest';
import { standardHeaders } from './modern/requestHeaders';
import { CLIENT_INFO } from './mcpConnection';

/**
 * Asks the server what it wants before an explicit sign-in: an unauthenticated request whose 401 carries
 * the `WWW-Authenticate` challenge (scope, resource metadata). The request is a well-formed 2026-07-28
 * `tools/list` (envelope and headers), so a modern server has no reason to refuse it but the missing token;
 * `tools/list` rather than `server/discover`, which a server may well answer without one. A server that
 * answers it with a 4xx and no modern error is an older one that may check the session before the token:
 * it gets the `initialize` the earlier revisions open with. Servers that let the request through
 * unauthenticated, or answer without a challenge, yield `undefined`; discovery then falls back.
 */
export async function probeChallenge(
  fetch: FetchLike,
  serverUrl: string,
  signal?: AbortSignal,
): Promise<BearerChallenge | undefined> {
  const modern = withEnvelope({ jsonrpc: '2.0', id: 0, method: 'tools/list', params: {} }, CLIENT_INFO);
  const first = await probe(fetch, serverUrl, modern, standardHeaders(modern), signal);
  if (first.status === 401 || first.status === 403) return bearerChallenge(first.headers);
  if (first.status < 400 || first.status > 499 || first.modernError) return undefined;
  const legacy: JSONRPCRequest = {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO },
  };
  const second = await probe(fetch, serverUrl, legacy, {}, signal);
  return second.status === 401 || second.status === 403 ? bearerChallenge(second.headers) : undefined;
}

interface ProbeReply {
  readonly status: number;
  readonly headers: Headers;
  /** Whether the body is a JSON-RPC error only a 2026-07-28 server sends. */
  readonly modernError: boolean;
}

async function probe(
  fetch: FetchLike,
  serverUrl: string,
  request: JSONRPCRequest,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<ProbeReply> {
  let response: Response;
  try {
    response = await fetch(serverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(request),
      redirect: 'manual',
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw new HttpRequestError(
      'network_error',
      `Could not reach ${describeUrl(serverUrl)}; check the URL and that the server is running`,
      { cause: error },
    );
  }
  const refused =
    response.status >= 400 && response.status <= 499 && response.status !== 401 && response.status !== 403;
  const error = refused ? jsonRpcError(await response.text().catch(() => '')) : undefined;
  if (!refused) await response.body?.cancel().catch(() => undefined);
  return {
    status: response.status,
    headers: response.headers,
    modernError: error !== undefined && isModernErrorCode(error.error.code),
  };
}
