import { bearerChallenge, type BearerChallenge } from '../oauth/discovery/challenge';
import { HttpRequestError, McpOAuthError } from '../oauth/errors';
import { describeUrl } from '../oauth/http/url';
import type { FetchLike } from '../oauth/http/policyFetch';
import type { TokenManager } from '../oauth/tokens/tokenManager';
import { RetryPolicy } from './retryPolicy';

export interface AuthorizedFetchOptions {
  readonly fetch: FetchLike;
  readonly tokens: TokenManager;
  /**
   * Runs an interactive sign-in (or, with `stepUp`, a re-authorization for the wider scope the challenge
   * names). Absent where none may happen, such as a background tool listing; then a needed sign-in
   * surfaces as the server's 401.
   */
  readonly signIn?: (challenge: BearerChallenge | undefined, stepUp: boolean) => Promise<void>;
}

/**
 * A fetch for talking to a protected MCP server. It sends the current access token and follows the
 * product's one {@link RetryPolicy} on a 401 or 403. Only a resource's own origin gets the token.
 */
export function authorizedFetch(options: AuthorizedFetchOptions): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const policy = new RetryPolicy({ signIn: !!options.signIn, stepUp: !!options.signIn });
    let token = await currentToken(options.tokens);
    for (;;) {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      else headers.delete('authorization');
      const response = await send(options.fetch, url, { ...init, headers, redirect: 'manual' });
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
      let retry = policy.next(response.status, challenge, !!token);
      if (retry === 'refresh') {
        const next = await options.tokens.forceRefresh(token).catch(() => undefined);
        if (next && next.accessToken !== token) {
          await drain(response);
          token = next.accessToken;
          continue;
        }
        retry = policy.next(response.status, challenge, false); // nothing new to retry with: sign in instead
      }
      if (retry === undefined || !options.signIn) return response;
      await drain(response);
      await options.signIn(challenge, retry === 'stepUp');
      token = await currentToken(options.tokens);
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

async function currentToken(tokens: TokenManager): Promise<string | undefined> {
  try {
    return await tokens.getAccessToken();
  } catch (error) {
    if (error instanceof McpOAuthError && error.code === 'not_signed_in') return undefined;
    throw error;
  }
}

async function drain(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
