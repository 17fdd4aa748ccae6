import * as oauth from 'oauth4webapi';
import { clientAuthentication, toClient, type ClientCredentials } from '../client/clientAuth';
import type { ClientRegistration } from '../client/registration';
import { McpOAuthError } from '../errors';
import type { FetchLike } from '../http/policyFetch';
import { oauthStep, requestOptions } from './oauthStep';
import { Scopes } from '../tokens/scopes';
import { toTokenSet } from './tokenResponse';
import type { TokenSet } from '../tokens/tokenSet';

/**
 * Redeems a refresh token. Needs no discovery: the token set remembers its issuer and token endpoint. A
 * rotated refresh token replaces the old one; an unrotated one is kept.
 */
export async function refreshTokens(
  fetch: FetchLike,
  tokens: TokenSet,
  client: ClientRegistration,
  credentials: ClientCredentials,
  now: () => number,
): Promise<TokenSet> {
  if (!tokens.refreshToken) throw new McpOAuthError('not_signed_in', 'The session has no refresh token; sign in again');
  const as: oauth.AuthorizationServer = { issuer: tokens.issuer, token_endpoint: tokens.tokenEndpoint };
  const oauthClient = toClient(client);
  const requestedAt = now();
  const response = await oauthStep('The token refresh', 'refresh_failed', () =>
    oauth.refreshTokenGrantRequest(
      as,
      oauthClient,
      clientAuthentication(client, credentials),
      tokens.refreshToken!,
      requestOptions(fetch, tokens.resource ? { additionalParameters: { resource: tokens.resource } } : {}),
    ),
  );
  const result = await oauthStep('The token refresh', 'refresh_failed', () =>
    oauth.processRefreshTokenResponse(as, oauthClient, response),
  );
  return toTokenSet(result, {
    issuer: tokens.issuer,
    clientId: tokens.clientId,
    tokenEndpoint: tokens.tokenEndpoint,
    requestedScopes: Scopes.of(tokens.scopes),
    now: requestedAt,
    previous: tokens,
    ...(tokens.resource ? { resource: tokens.resource } : {}),
  });
}
