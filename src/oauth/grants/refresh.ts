import * as oauth from 'oauth4webapi';
import { McpOAuthError } from '../errors';
import { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import { issuedBy, oauthClient, tokenRequest, type GrantContext } from './grantContext';
import { toTokenSet } from './tokenResponse';

/**
 * Redeems a refresh token. Needs no discovery: the context's authorization server is the one the session
 * recorded (`sessionAuthServer`). A rotated refresh token replaces the old one; an unrotated one is kept.
 */
export async function refreshTokens(ctx: GrantContext, tokens: TokenSet): Promise<TokenSet> {
  if (!tokens.refreshToken) throw new McpOAuthError('not_signed_in', 'The session has no refresh token; sign in again');
  const { client, auth } = oauthClient(ctx);
  const requestedAt = ctx.now();
  const result = await tokenRequest(
    ctx,
    { what: 'The token refresh', code: 'refresh_failed' },
    (options) => oauth.refreshTokenGrantRequest(ctx.as, client, auth, tokens.refreshToken!, options),
    (response) => oauth.processRefreshTokenResponse(ctx.as, client, response),
    tokens.resource ? { additionalParameters: { resource: tokens.resource } } : {},
  );
  const requested = { scopes: Scopes.of(tokens.scopes), resource: tokens.resource, now: requestedAt };
  return toTokenSet(result, { ...issuedBy(ctx, requested, { previous: tokens }), clientId: tokens.clientId });
}
