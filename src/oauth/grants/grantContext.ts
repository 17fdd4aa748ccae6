import * as oauth from 'oauth4webapi';
import { clientAuthentication, toClient, type ClientCredentials } from '../client/clientAuth';
import type { ClientRegistration } from '../client/registration';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import type { DpopProver } from '../dpop/dpopProver';
import type { FetchLike } from '../http/policyFetch';
import type { Secrets } from '../http/requestSecrets';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import { requestOptions, toMcpOAuthError, type StepCode } from './oauthStep';
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
  /**
   * The session's DPoP key (RFC 9449), when it uses DPoP: every token request made through {@link tokenRequest}
   * then carries a proof, and the tokens come back bound to it.
   */
  readonly dpop?: DpopProver;
}

/** oauth4webapi's client and client authentication for a context. */
export function oauthClient(ctx: GrantContext): { client: oauth.Client; auth: oauth.ClientAuth } {
  return { client: toClient(ctx.client), auth: clientAuthentication(ctx.client, ctx.credentials) };
}

/**
 * One token endpoint request and the processing of its answer, as every grant makes it: oauth4webapi's request
 * with our transport (`extra` are its options), a DPoP proof when the context has a key, and, when the
 * authorization server answers `use_dpop_nonce` (400 with `DPoP-Nonce`, RFC 9449 §8), one retry with its nonce
 * (the handle keeps the latest nonce per origin). Failures become ours (`code`), never repeating `secrets`.
 */
export async function tokenRequest<T>(
  ctx: GrantContext,
  step: { readonly what: string; readonly code: StepCode; readonly secrets?: Secrets },
  send: (options: ReturnType<typeof requestOptions>) => Promise<Response>,
  process: (response: Response) => Promise<T>,
  extra: Record<string, unknown> = {},
): Promise<T> {
  const options = requestOptions(ctx.fetch, { ...extra, ...(ctx.dpop ? { DPoP: ctx.dpop.handle } : {}) });
  for (let attempt = 0; ; attempt++) {
    try {
      return await process(await send(options));
    } catch (error) {
      if (ctx.dpop && attempt === 0 && oauth.isDPoPNonceError(error)) continue;
      throw toMcpOAuthError(error, step.what, step.code, step.secrets);
    }
  }
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
    ...(ctx.dpop ? { dpopJkt: ctx.dpop.jkt } : {}),
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
