import { bearerChallenge, type BearerChallenge } from '../oauth/discovery/challenge';
import { HttpRequestError } from '../oauth/errors';
import type { FetchLike } from '../oauth/http/policyFetch';
import { describeUrl } from '../oauth/http/url';
import { CLIENT_INFO } from './mcpConnection';

/**
 * Asks the server what it wants before an explicit sign-in: an unauthenticated `initialize`, whose 401
 * carries the `WWW-Authenticate` challenge (scope, resource metadata). Servers that let `initialize`
 * through unauthenticated, or answer without a challenge, yield `undefined`; discovery then falls back.
 */
export async function probeChallenge(
  fetch: FetchLike,
  serverUrl: string,
  signal?: AbortSignal,
): Promise<BearerChallenge | undefined> {
  let response: Response;
  try {
    response = await fetch(serverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: CLIENT_INFO },
      }),
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
  await response.body?.cancel().catch(() => undefined);
  return response.status === 401 || response.status === 403 ? bearerChallenge(response.headers) : undefined;
}
