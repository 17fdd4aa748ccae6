import * as oauth from 'oauth4webapi';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import { issuedBy, oauthClient, type GrantContext } from './grantContext';
import { oauthStep, requestOptions } from './oauthStep';
import { toTokenSet } from './tokenResponse';

/** OAuth 2.1 §4.2 client credentials, for machine-to-machine access. Runs again instead of refreshing. */
export async function clientCredentialsGrant(
  ctx: GrantContext,
  request: { readonly scopes: Scopes; readonly resource?: string | undefined },
): Promise<TokenSet> {
  const { scopes, resource } = request;
  const params: Record<string, string> = {};
  if (!scopes.isEmpty) params.scope = scopes.toString();
  if (resource) params.resource = resource;
  const { client, auth } = oauthClient(ctx);
  const requestedAt = ctx.now();
  const response = await oauthStep('The client credentials request', 'token_error', () =>
    oauth.clientCredentialsGrantRequest(ctx.as, client, auth, params, requestOptions(ctx.fetch)),
  );
  const result = await oauthStep('The client credentials request', 'token_error', () =>
    oauth.processClientCredentialsResponse(ctx.as, client, response),
  );
  return toTokenSet(result, issuedBy(ctx, { scopes, resource, now: requestedAt }, { grantType: 'client_credentials' }));
}
