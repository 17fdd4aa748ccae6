import { bearerChallenge, type BearerChallenge } from '../oauth/discovery/challenge';
import { HttpRequestError, McpOAuthError } from '../oauth/errors';
import { describeUrl } from '../oauth/http/url';
import type { FetchLike } from '../oauth/http/policyFetch';
import type { TokenManager } from '../oauth/tokens/tokenManager';

export interface AuthorizedFetchOptions {
  readonly fetch: FetchLike;
  readonly tokens: TokenManager;
  /**
   * Runs an interactive sign-in (or step-up, with `extraScopes`). Absent where none may happen, such as
   * the token gateway's hot path; then a needed sign-in surfaces as `not_signed_in`.
   */
  readonly signIn?: (challenge: BearerChallenge | undefined, extraScopes?: readonly string[]) => Promise<void>;
  /** Step-ups allowed for one request before giving up (the server keeps asking for more scope). */
  readonly maxStepUps?: number;
}

/**
 * A fetch for talking to a protected MCP server. It sends the current access token; on a 401 it refreshes
 * once (or signs in) and retries; on a 403 `insufficient_scope` it re-authorizes with the union of the
 * granted and challenged scopes, a bounded number of times. Only a resource's own origin gets the token.
 */
export function authorizedFetch(options: AuthorizedFetchOptions): FetchLike {
  const maxStepUps = options.maxStepUps ?? 2;
  return async (input, init = {}) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    let token = await currentToken(options.tokens);
    let refreshed = false;
    let signedIn = false;
    let stepUps = 0;
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
      if (response.status === 401) {
        const challenge = bearerChallenge(response.headers);
        if (token && !refreshed) {
          refreshed = true;
          const next = await options.tokens.forceRefresh(token).catch(() => undefined);
          if (next && next.accessToken !== token) {
            await drain(response);
            token = next.accessToken;
            continue;
          }
        }
        if (options.signIn && !signedIn) {
          signedIn = true;
          await drain(response);
          await options.signIn(challenge);
          token = await currentToken(options.tokens);
          continue;
        }
        return response;
      }
      if (response.status === 403) {
        const challenge = bearerChallenge(response.headers);
        if (challenge?.error === 'insufficient_scope' && options.signIn && stepUps < maxStepUps) {
          stepUps++;
          await drain(response);
          await options.signIn(challenge, challenge.scopes ?? []);
          token = await currentToken(options.tokens);
          continue;
        }
      }
      return response;
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
