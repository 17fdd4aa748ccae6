import * as oauth from 'oauth4webapi';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import { issuedBy, oauthClient, tokenRequest, type GrantContext } from './grantContext';
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
  const result = await tokenRequest(
    ctx,
    { what: 'The client credentials request', code: 'token_error' },
    (options) => oauth.clientCredentialsGrantRequest(ctx.as, client, auth, params, options),
    (response) => oauth.processClientCredentialsResponse(ctx.as, client, response),
  );
  return toTokenSet(result, issuedBy(ctx, { scopes, resource, now: requestedAt }, { grantType: 'client_credentials' }));
}
