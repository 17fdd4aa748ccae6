import type * as oauth from 'oauth4webapi';
import { clientAuthentication, toClient, type ClientCredentials } from '../client/clientAuth';
import type { ClientRegistration } from '../client/registration';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import type { FetchLike } from '../http/policyFetch';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import type { TokenContext } from './tokenResponse';

/** What every grant request needs: one object instead of a row of positional parameters. */
export interface GrantContext {
  /** The policy fetch (https, timeouts, size limits, redirects). */
  readonly fetch: FetchLike;
  /**
   * The authorization server, from validated metadata (or, for a renewal, the endpoints the session
   * recorded from it): client credentials are only ever sent to its endpoints.
   */
  readonly as: AuthServerMetadata;
  readonly client: ClientRegistration;
  /** The client's secret or key, when it has one; never from the settings. */
  readonly credentials: ClientCredentials;
  readonly now: () => number;
}

/** oauth4webapi's client and client authentication for a context. */
export function oauthClient(ctx: GrantContext): { client: oauth.Client; auth: oauth.ClientAuth } {
  return { client: toClient(ctx.client), auth: clientAuthentication(ctx.client, ctx.credentials) };
}

/** The token-set context of a grant's answer: who issued it, to which client, for what was asked. */
export function issuedBy(
  ctx: GrantContext,
  requested: { readonly scopes: Scopes; readonly resource?: string | undefined; readonly now: number },
  extra: Partial<Pick<TokenContext, 'grantType' | 'previous'>> = {},
): TokenContext {
  const { as } = ctx;
  return {
    issuer: as.issuer,
    clientId: ctx.client.clientId,
    tokenEndpoint: as.token_endpoint!,
    ...(as.revocation_endpoint ? { revocationEndpoint: as.revocation_endpoint } : {}),
    requestedScopes: requested.scopes,
    now: requested.now,
    ...(requested.resource ? { resource: requested.resource } : {}),
    ...extra,
  };
}

/** The authorization server as a stored session knows it: enough to renew or revoke without discovery. */
export function sessionAuthServer(tokens: TokenSet): AuthServerMetadata {
  return {
    issuer: tokens.issuer,
    token_endpoint: tokens.tokenEndpoint,
    ...(tokens.revocationEndpoint ? { revocation_endpoint: tokens.revocationEndpoint } : {}),
  };
}
