import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import type { FetchLike } from '../oauth/http/policyFetch';
import type { ServerAuth, SignInRequest } from '../oauth/session/serverAuth';
import type { SignInHost } from '../oauth/session/host';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import { authorizedFetch } from './authorizedFetch';
import { probeChallenge } from './challengeProbe';
import { connectMcp } from './mcpConnection';

/**
 * The sign-in every host calls: asks the MCP server what it wants first (an unauthenticated request whose
 * 401 carries the `WWW-Authenticate` challenge: scope, resource metadata), then runs the core's sign-in.
 */
export async function signInToServer(
  auth: ServerAuth,
  host: SignInHost,
  request: SignInRequest = {},
  fetch: FetchLike = globalThis.fetch,
): Promise<TokenSet> {
  const challenge = request.challenge ?? (await probeChallenge(fetch, auth.serverUrl, host.signal));
  return auth.signIn(host, { ...request, ...(challenge ? { challenge } : {}) });
}

/**
 * An MCP client for the server whose requests carry the session's token. With a `host`, a 401 leads to a
 * sign-in and a 403 `insufficient_scope` to a step-up through it; without one, a needed sign-in is an error.
 */
export function connectToServer(
  auth: ServerAuth,
  host?: SignInHost,
  fetch: FetchLike = globalThis.fetch,
): Promise<Client> {
  const signIn = host
    ? async (challenge: BearerChallenge | undefined, stepUp: boolean) => {
        await auth.signIn(host, {
          ...(challenge ? { challenge } : {}),
          ...(stepUp ? { extraScopes: challenge?.scopes ?? [], stepUp } : {}),
        });
      }
    : undefined;
  return connectMcp(
    auth.serverUrl,
    authorizedFetch({
      fetch,
      tokens: auth.tokenManager(),
      dpop: (tokens) => auth.dpopProver(tokens),
      ...(signIn ? { signIn } : {}),
    }),
  );
}
