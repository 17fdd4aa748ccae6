import type { BearerChallenge } from '../../oauth/discovery/challenge';
import type { DpopProver } from '../../oauth/dpop/dpopProver';
import { McpOAuthError } from '../../oauth/errors';
import type { TokenManager } from '../../oauth/tokens/tokenManager';
import { isDpopBound, type TokenSet } from '../../oauth/tokens/tokenSet';

/**
 * A token as the gateway presents it upstream: a DPoP-bound one (RFC 9449) comes with the prover of its key,
 * and every request then carries `Authorization: DPoP <token>` and a fresh proof for its method and URL.
 */
export interface GatewayCredential {
  readonly accessToken: string;
  readonly dpop?: DpopProver | undefined;
}

/** Where the gateway gets the tokens of one server. A plain string is a bearer token. */
export interface GatewayTokenSource {
  /** A fresh access token. Throws `McpOAuthError` `not_signed_in` when only a sign-in can help. */
  getAccessToken(): Promise<string | GatewayCredential>;
  /** A new access token after the server rejected `rejectedAccessToken` with a 401. Single-flight is the source's job. */
  refresh(rejectedAccessToken: string): Promise<string | GatewayCredential>;
  /**
   * After a 403 `insufficient_scope`: asks the user to grant the wider scope. Resolves `true` once
   * re-authorized (the request is then retried once), `false` when declined.
   */
  stepUp?(challenge: BearerChallenge): Promise<boolean>;
}

/**
 * A token source over the core's token manager, with the step-up the VS Code layer provides and the DPoP
 * prover of DPoP-bound sessions (ServerAuth.dpopProver). A DPoP-bound set without a prover is `not_signed_in`:
 * it is never sent as a bearer token.
 */
export function tokenManagerSource(
  manager: TokenManager,
  stepUp?: (challenge: BearerChallenge) => Promise<boolean>,
  dpop?: (tokens: TokenSet) => Promise<DpopProver | undefined>,
): GatewayTokenSource {
  const present = async (tokens: TokenSet): Promise<GatewayCredential> => {
    if (!isDpopBound(tokens)) return { accessToken: tokens.accessToken };
    const prover = await dpop?.(tokens);
    if (!prover) {
      throw new McpOAuthError('not_signed_in', 'The session is DPoP-bound and its key is not at hand; sign in again');
    }
    return { accessToken: tokens.accessToken, dpop: prover };
  };
  return {
    getAccessToken: async () => present(await manager.getTokens()),
    refresh: async (rejected) => present(await manager.forceRefresh(rejected)),
    ...(stepUp ? { stepUp } : {}),
  };
}

/** A source's answer as a credential: a plain string is a bearer token. */
export function asCredential(value: string | GatewayCredential): GatewayCredential {
  return typeof value === 'string' ? { accessToken: value } : value;
}
