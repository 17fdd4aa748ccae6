import * as oauth from 'oauth4webapi';
import type { AuthOptions, TokenEndpointAuthMethod } from '../session/authOptions';
import { clientKind } from './clientKind';
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
  /** The local port of its loopback redirect URI, so that the next sign-in listens there again. */
  readonly loopbackPort?: number;
  /** RFC 7592 client configuration endpoint and its access token (a secret), for deleting the registration. */
  readonly management?: { readonly uri: string; readonly accessToken: string };
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
  /** The local port behind `redirectUri` when it is a loopback one. */
  readonly loopbackPort?: number;
  readonly grantTypes: readonly string[];
  /** The scopes about to be requested; a registration limited to fewer is not reused. */
  readonly scopes?: Scopes;
}

export const DEFAULT_CLIENT_NAME = 'MCP OAuth';

/** What resolving a client needs besides the settings: where to register and keep registrations. */
export interface ClientContext {
  readonly fetch: FetchLike;
  readonly as: AuthServerMetadata;
  readonly store: ClientStore;
  readonly now: number;
  /** Whether a secret or key is kept for the pre-registered client (so it is a confidential one). */
  readonly hasSecret: boolean;
  /** A dynamic registration this one replaces: the caller deletes it at the AS when nothing uses it. */
  readonly replaced?: (registration: ClientRegistration) => Promise<void>;
}

/** Chooses the client by {@link clientKind}, reusing a stored registration that fits, registering otherwise. */
export async function resolveClient(
  ctx: ClientContext,
  options: AuthOptions,
  needs: ClientNeeds,
): Promise<ClientRegistration> {
  const { as, now } = ctx;
  const redirectUris = needs.redirectUri ? [needs.redirectUri] : [];
  const base = { issuer: as.issuer, redirectUris, grantTypes: needs.grantTypes, registeredAt: now };
  switch (clientKind(options, as)) {
    case 'preregistered':
      return {
        ...base,
        clientId: options.clientId!,
        method: 'preregistered',
        tokenEndpointAuthMethod: options.tokenEndpointAuthMethod ?? (ctx.hasSecret ? 'client_secret_basic' : 'none'),
      };
    case 'cimd': {
      const url = secureUrl(options.clientMetadataUrl, 'auth.clientMetadataUrl');
      if (url.protocol !== 'https:' || url.pathname === '/') {
        throw new McpOAuthError('invalid_config', 'auth.clientMetadataUrl must be an https URL with a path');
      }
      return { ...base, clientId: url.href, method: 'cimd', tokenEndpointAuthMethod: 'none' };
    }
    case 'dcr': {
      const stored = await ctx.store.get(as.issuer);
      const usable = stored && stored.issuer === as.issuer ? stored : undefined;
      if (usable && fits(usable, needs)) return usable;
      // Only the redirect URI changed (VS Code for the web hands out a new callback URI for every sign-in):
      // where the AS lets the client manage its registration (RFC 7592), update it instead of adding one.
      const updated =
        usable && fits(usable, { ...needs, redirectUri: undefined })
          ? await updateRegistration(ctx.fetch, as, usable, needs, now)
          : undefined;
      const registration = updated ?? (await registerClient(ctx.fetch, as, needs, now));
      await ctx.store.set(as.issuer, registration);
      if (usable && !updated) await ctx.replaced?.(usable);
      return registration;
    }
    case 'needsClientId':
      throw new McpOAuthError(
        'registration_unavailable',
        `The authorization server ${describeUrl(as.issuer)} offers no dynamic client registration. Register a client there and set auth.clientId (and, for a confidential client, its secret).`,
      );
  }
}

/** Whether a stored registration can serve these needs. Redirect URIs must match exactly: not every AS
 * honours RFC 8252's any-port rule for loopback, so callers reuse the registered port when they can. */
function fits(registration: ClientRegistration, needs: ClientNeeds): boolean {
  if (!needs.grantTypes.every((g) => registration.grantTypes.includes(g))) return false;
  if (registration.scope !== undefined && needs.scopes && !Scopes.parse(registration.scope).covers(needs.scopes))
    return false;
  return !needs.redirectUri || registration.redirectUris.includes(needs.redirectUri);
}

/** The client metadata the product registers with: a native public client for these needs. */
function clientMetadata(needs: ClientNeeds): Record<string, unknown> {
  return {
    client_name: DEFAULT_CLIENT_NAME,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [...needs.grantTypes],
    response_types: needs.grantTypes.includes('authorization_code') ? ['code'] : [],
    ...(needs.redirectUri ? { redirect_uris: [needs.redirectUri] } : {}),
  };
}

/** RFC 7591 dynamic client registration as a native public client. */
export async function registerClient(
  fetch: FetchLike,
  as: AuthServerMetadata,
  needs: ClientNeeds,
  now: number,
): Promise<ClientRegistration> {
  const response = await oauthStep('Client registration', 'registration_failed', () =>
    oauth.dynamicClientRegistrationRequest(as, clientMetadata(needs) as Partial<oauth.Client>, requestOptions(fetch)),
  );
  return processRegistration(response, as, needs, now);
}

/**
 * RFC 7592 §2.2: changes a registration's redirect URI in place, keeping its client id. `undefined` when the
 * AS does not allow it (no management endpoint, or it refuses): the caller registers anew then.
 */
async function updateRegistration(
  fetch: FetchLike,
  as: AuthServerMetadata,
  current: ClientRegistration,
  needs: ClientNeeds,
  now: number,
): Promise<ClientRegistration | undefined> {
  if (!current.management) return undefined;
  try {
    const response = await fetch(current.management.uri, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${current.management.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ ...clientMetadata(needs), client_id: current.clientId }),
    });
    if (response.status !== 200) return undefined;
    const updated = await processRegistration(response, as, needs, now, current.management);
    return updated.clientId === current.clientId ? updated : undefined;
  } catch {
    return undefined; // registering anew works with any AS
  }
}

async function processRegistration(
  response: Response,
  as: AuthServerMetadata,
  needs: ClientNeeds,
  now: number,
  previousManagement?: ClientRegistration['management'],
): Promise<ClientRegistration> {
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
  // RFC 7592: where the AS lets the client manage (update, delete) its registration.
  const managementUri = body.optionalUrl('registration_client_uri');
  const managementToken = body.optionalString('registration_access_token');
  // Its token goes only where the registration itself was made.
  const sameOrigin = managementUri && new URL(managementUri).origin === new URL(as.registration_endpoint!).origin;
  const management =
    sameOrigin && managementToken ? { uri: managementUri, accessToken: managementToken } : previousManagement;
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
    ...(needs.loopbackPort !== undefined ? { loopbackPort: needs.loopbackPort } : {}),
    grantTypes: needs.grantTypes,
    registeredAt: now,
    ...(scope ? { scope } : {}),
    ...(management ? { management } : {}),
  };
}

/**
 * RFC 7592: deletes a dynamic registration the product no longer uses, where the AS gave the means to. Never
 * throws: the registration is forgotten locally whatever the AS answers, and the outcome is returned.
 */
export async function deleteRegistration(
  fetch: FetchLike,
  management: NonNullable<ClientRegistration['management']>,
): Promise<'deleted' | 'failed'> {
  try {
    const response = await fetch(management.uri, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${management.accessToken}` },
    });
    return response.status === 204 || response.status === 200 || response.status === 404 ? 'deleted' : 'failed';
  } catch {
    return 'failed';
  }
}
