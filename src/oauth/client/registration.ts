import * as oauth from 'oauth4webapi';
import type { AuthOptions, TokenEndpointAuthMethod } from '../session/authOptions';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import { McpOAuthError } from '../errors';
import { Fields } from '../http/fields';
import { readJsonObject, type FetchLike } from '../http/policyFetch';
import { oauthStep, requestOptions } from '../grants/oauthStep';
import { Scopes } from '../tokens/scopes';
import { describeUrl, secureUrl } from '../http/url';

/** A client identity at one authorization server. Kept per issuer and never used with another AS. */
export interface ClientRegistration {
  readonly issuer: string;
  readonly clientId: string;
  /** Only for DCR clients the AS made confidential; pre-registered secrets stay in the secret source. */
  readonly clientSecret?: string;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly method: 'preregistered' | 'cimd' | 'dcr';
  readonly redirectUris: readonly string[];
  readonly grantTypes: readonly string[];
  /** Scopes the AS limited a dynamic registration to, when it said so. */
  readonly scope?: string;
  readonly registeredAt: number;
}

/** DCR registrations, keyed by issuer. The extension keeps them in SecretStorage, the CLI in a 0600 file. */
export interface ClientStore {
  get(issuer: string): Promise<ClientRegistration | undefined>;
  set(issuer: string, registration: ClientRegistration): Promise<void>;
  delete(issuer: string): Promise<void>;
}

export interface ClientNeeds {
  readonly redirectUri?: string;
  readonly grantTypes: readonly string[];
  /** The scopes about to be requested; a registration limited to fewer is not reused. */
  readonly scopes?: Scopes;
}

export const DEFAULT_CLIENT_NAME = 'MCP OAuth';

/**
 * Chooses the client in the spec's order: a pre-registered client from settings, then a Client ID Metadata
 * Document when the AS supports it, then a stored or new dynamic registration. Refuses clearly when none
 * is possible.
 */
export async function resolveClient(
  fetch: FetchLike,
  as: AuthServerMetadata,
  options: AuthOptions,
  needs: ClientNeeds,
  store: ClientStore,
  now: number,
  hasSecret: boolean,
): Promise<ClientRegistration> {
  const redirectUris = needs.redirectUri ? [needs.redirectUri] : [];
  if (options.clientId) {
    return {
      issuer: as.issuer,
      clientId: options.clientId,
      method: 'preregistered',
      redirectUris,
      grantTypes: needs.grantTypes,
      registeredAt: now,
      tokenEndpointAuthMethod: options.tokenEndpointAuthMethod ?? (hasSecret ? 'client_secret_basic' : 'none'),
    };
  }
  if (options.clientMetadataUrl && as.client_id_metadata_document_supported === true) {
    const url = secureUrl(options.clientMetadataUrl, 'auth.clientMetadataUrl');
    if (url.protocol !== 'https:' || url.pathname === '/') {
      throw new McpOAuthError('invalid_config', 'auth.clientMetadataUrl must be an https URL with a path');
    }
    return {
      issuer: as.issuer,
      clientId: url.href,
      method: 'cimd',
      redirectUris,
      grantTypes: needs.grantTypes,
      registeredAt: now,
      tokenEndpointAuthMethod: 'none',
    };
  }
  const stored = await store.get(as.issuer);
  if (stored && stored.issuer === as.issuer && fits(stored, needs)) return stored;
  if (!as.registration_endpoint) {
    throw new McpOAuthError(
      'registration_unavailable',
      `The authorization server ${describeUrl(as.issuer)} offers no dynamic client registration. Register a client there and set auth.clientId (and, for a confidential client, its secret).`,
    );
  }
  const registration = await registerClient(fetch, as, needs, now);
  await store.set(as.issuer, registration);
  return registration;
}

/** Whether a stored registration can serve these needs. Redirect URIs must match exactly: not every AS
 * honours RFC 8252's any-port rule for loopback, so callers reuse the registered port when they can. */
function fits(registration: ClientRegistration, needs: ClientNeeds): boolean {
  if (!needs.grantTypes.every((g) => registration.grantTypes.includes(g))) return false;
  if (registration.scope !== undefined && needs.scopes && !Scopes.parse(registration.scope).covers(needs.scopes))
    return false;
  return !needs.redirectUri || registration.redirectUris.includes(needs.redirectUri);
}

/** RFC 7591 dynamic client registration as a native public client. */
export async function registerClient(
  fetch: FetchLike,
  as: AuthServerMetadata,
  needs: ClientNeeds,
  now: number,
): Promise<ClientRegistration> {
  const metadata = {
    client_name: DEFAULT_CLIENT_NAME,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [...needs.grantTypes],
    response_types: needs.grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(needs.redirectUri ? { redirect_uris: [needs.redirectUri] } : {}),
  };
  const response = await oauthStep('Client registration', 'registration_failed', () =>
    oauth.dynamicClientRegistrationRequest(as, metadata as Partial<oauth.Client>, requestOptions(fetch)),
  );
  if (response.status !== 201 && response.status !== 200) {
    await oauthStep('Client registration', 'registration_failed', () =>
      oauth.processDynamicClientRegistrationResponse(response),
    );
  }
  const body = new Fields(
    await readJsonObject(response, 'client registration response'),
    'client registration response',
    'invalid_response',
  );
  const clientId = body.string('client_id');
  const clientSecret = body.optionalString('client_secret');
  const scope = body.optionalString('scope');
  const method = (body.optionalString('token_endpoint_auth_method') ??
    (clientSecret ? 'client_secret_basic' : 'none')) as TokenEndpointAuthMethod;
  if (!['none', 'client_secret_basic', 'client_secret_post'].includes(method))
    body.fail('token_endpoint_auth_method', 'is not a method this client supports');
  if (method !== 'none' && !clientSecret)
    body.fail('client_secret', `is missing although "token_endpoint_auth_method" is ${method}`);
  return {
    issuer: as.issuer,
    clientId,
    ...(clientSecret ? { clientSecret } : {}),
    tokenEndpointAuthMethod: method,
    method: 'dcr',
    redirectUris: needs.redirectUri ? [needs.redirectUri] : [],
    grantTypes: needs.grantTypes,
    registeredAt: now,
    ...(scope ? { scope } : {}),
  };
}
