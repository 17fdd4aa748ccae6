import { bearerChallenge, type BearerChallenge } from '../oauth/discovery/challenge';
import type { DpopProver } from '../oauth/dpop/dpopProver';
import { HttpRequestError, McpOAuthError } from '../oauth/errors';
import { describeUrl } from '../oauth/http/url';
import type { FetchLike } from '../oauth/http/policyFetch';
import type { TokenManager } from '../oauth/tokens/tokenManager';
import { isDpopBound, type TokenSet } from '../oauth/tokens/tokenSet';
import { RetryPolicy } from './retryPolicy';

export interface AuthorizedFetchOptions {
  readonly fetch: FetchLike;
  readonly tokens: TokenManager;
  /**
   * The DPoP prover of a DPoP-bound token set (ServerAuth.dpopProver): every request then carries
   * `Authorization: DPoP <token>` and a fresh proof for its method and URL. Without it a DPoP-bound set is
   * never sent (as a Bearer token it would be refused anyway).
   */
  readonly dpop?: (tokens: TokenSet) => Promise<DpopProver | undefined>;
  /**
   * Runs an interactive sign-in (or, with `stepUp`, a re-authorization for the wider scope the challenge
   * names). Absent where none may happen, such as a background tool listing; then a needed sign-in
   * surfaces as the server's 401.
   */
  readonly signIn?: (challenge: BearerChallenge | undefined, stepUp: boolean) => Promise<void>;
}

/** The token a request presents, and the prover of its key when it is DPoP-bound. */
interface Credential {
  readonly token: string;
  readonly prover?: DpopProver | undefined;
}

/**
 * A fetch for talking to a protected MCP server. It sends the current access token (as a Bearer token, or
 * as a DPoP-bound one with a fresh proof, RFC 9449 §7) and follows the product's one {@link RetryPolicy} on a
 * 401 or 403, a DPoP server's nonce included. Only a resource's own origin gets the token.
 */
export function authorizedFetch(options: AuthorizedFetchOptions): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const policy = new RetryPolicy({ signIn: !!options.signIn, stepUp: !!options.signIn });
    let held = await current(options);
    for (;;) {
      const headers = new Headers(init.headers);
      headers.delete('dpop');
      if (held) {
        headers.set('authorization', `${held.prover ? 'DPoP' : 'Bearer'} ${held.token}`);
        if (held.prover) headers.set('dpop', await held.prover.proof(method, url, held.token));
      } else headers.delete('authorization');
      const response = await send(options.fetch, url, { ...init, headers, redirect: 'manual' });
      const nonce = held?.prover ? response.headers.get('dpop-nonce') : null;
      if (nonce) held!.prover!.keepNonce(url, nonce); // a server may rotate it on any answer (§8.2)
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        if (location && new URL(location, url).origin !== url.origin) {
          throw new HttpRequestError(
            'cross_origin_redirect',
            'The MCP server redirected to another origin; the request was not followed so the token stays with its server',
          );
        }
        return response;
      }
      if (response.status !== 401 && response.status !== 403) return response;
      const challenge = bearerChallenge(response.headers);
      let retry = policy.next(response.status, challenge, !!held, !!nonce);
      if (retry === 'nonce') {
        await drain(response);
        continue;
      }
      if (retry === 'refresh') {
        const next = await options.tokens
          .forceRefresh(held!.token)
          .then((tokens) => credential(options, tokens))
          .catch(() => undefined);
        if (next && next.token !== held!.token) {
          await drain(response);
          held = next;
          continue;
        }
        retry = policy.next(response.status, challenge, false); // nothing new to retry with: sign in instead
      }
      if (retry === undefined || !options.signIn) return response;
      await drain(response);
      await options.signIn(challenge, retry === 'stepUp');
      held = await current(options);
    }
  };
}

async function send(fetch: FetchLike, url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new HttpRequestError(
      'network_error',
      `Could not reach the MCP server at ${describeUrl(url)}; check the URL and that the server is running`,
      { cause: error },
    );
  }
}

/** The session's credential, or `undefined` when only a sign-in can give one. */
async function current(options: AuthorizedFetchOptions): Promise<Credential | undefined> {
  try {
    return await credential(options, await options.tokens.getTokens());
  } catch (error) {
    if (error instanceof McpOAuthError && error.code === 'not_signed_in') return undefined;
    throw error;
  }
}

async function credential(options: AuthorizedFetchOptions, tokens: TokenSet): Promise<Credential> {
  if (!isDpopBound(tokens)) return { token: tokens.accessToken };
  const prover = await options.dpop?.(tokens);
  if (!prover) {
    throw new McpOAuthError('not_signed_in', 'The session is DPoP-bound and its key is not at hand; sign in again');
  }
  return { token: tokens.accessToken, prover };
}

async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
