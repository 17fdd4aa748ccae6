import * as oauth from 'oauth4webapi';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import { clientAuthentication, toClient, type ClientCredentials } from '../client/clientAuth';
import type { ClientRegistration } from '../client/registration';
import type { FetchLike } from '../http/policyFetch';
import { oauthStep, requestOptions } from './oauthStep';
import type { Scopes } from '../tokens/scopes';
import { toTokenSet } from './tokenResponse';
import type { TokenSet } from '../tokens/tokenSet';

/** OAuth 2.1 §4.2 client credentials, for machine-to-machine access. Runs again instead of refreshing. */
export async function clientCredentialsGrant(
  fetch: FetchLike,
  as: AuthServerMetadata,
  client: ClientRegistration,
  credentials: ClientCredentials,
  scopes: Scopes,
  resource: string | undefined,
  now: number,
): Promise<TokenSet> {
  const params: Record<string, string> = {};
  if (!scopes.isEmpty) params.scope = scopes.toString();
  if (resource) params.resource = resource;
  const oauthClient = toClient(client);
  const response = await oauthStep('The client credentials request', 'token_error', () =>
    oauth.clientCredentialsGrantRequest(
      as,
      oauthClient,
      clientAuthentication(client, credentials),
      params,
      requestOptions(fetch),
    ),
  );
  const result = await oauthStep('The client credentials request', 'token_error', () =>
    oauth.processClientCredentialsResponse(as, oauthClient, response),
  );
  return toTokenSet(result, {
    issuer: as.issuer,
    clientId: client.clientId,
    tokenEndpoint: as.token_endpoint!,
    ...(as.revocation_endpoint ? { revocationEndpoint: as.revocation_endpoint } : {}),
    requestedScopes: scopes,
    now,
    grantType: 'client_credentials',
    ...(resource ? { resource } : {}),
  });
}
