import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import type { ClientRegistration } from '../client/registration';
import type { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';
import { issuedBy, oauthClient, tokenRequest, type GrantContext } from './grantContext';
import { toTokenSet } from './tokenResponse';

/** RFC 7523 §2.1: a JWT used as an authorization grant. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerRequest {
  /** The JWT: an ID-JAG from the enterprise IdP, or the platform's workload token. A secret. */
  readonly assertion: string;
  readonly scopes: Scopes;
  readonly resource?: string | undefined;
}

/**
 * The ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §4.4) redeemed at the MCP server's
 * authorization server, by the client registered there, which authenticates as usual (a pre-registered
 * confidential client: its secret or private_key_jwt). No refresh token comes back: the session renews by
 * getting a new ID-JAG.
 */
export function idJagGrant(ctx: GrantContext, request: JwtBearerRequest): Promise<TokenSet> {
  return jwtBearer(ctx, request, oauthClient(ctx).auth, 'The ID-JAG token request', 'id_jag');
}

/**
 * Workload identity federation (SEP-1933): the platform's workload JWT as the grant, with no client
 * registration, no `client_id` and no client authentication at all (the JWT is the only credential). The
 * authorization server's errors (`invalid_grant`, `invalid_scope`, `unauthorized_client`) are its own answer.
 */
export function workloadIdentityGrant(ctx: GrantContext, request: JwtBearerRequest): Promise<TokenSet> {
  return jwtBearer(ctx, request, noClientAuthentication, 'The workload identity token request', 'workload_identity');
}

/**
 * The "client" of a workload identity session: none is registered, so it stands for the workload itself,
 * named by its JWT's `sub` (as the authorization server names it in the access token's `client_id`). It is
 * never sent: the grant authenticates no client.
 */
export function workloadClient(issuer: string, assertion: string): ClientRegistration {
  let subject: unknown;
  try {
    subject = decodeJwt(assertion).sub;
  } catch {
    subject = undefined; // the authorization server judges the JWT; this is only a name for the session
  }
  return {
    issuer,
    clientId: typeof subject === 'string' && subject ? subject : 'workload',
    method: 'preregistered',
    redirectUris: [],
    grantTypes: [JWT_BEARER_GRANT],
    registeredAt: 0,
    tokenEndpointAuthMethod: 'none',
  };
}

/** Adds nothing to the token request: not even the `client_id` oauth4webapi's `None()` would send. */
const noClientAuthentication: oauth.ClientAuth = () => undefined;

async function jwtBearer(
  ctx: GrantContext,
  request: JwtBearerRequest,
  auth: oauth.ClientAuth,
  what: string,
  grantType: NonNullable<TokenSet['grantType']>,
): Promise<TokenSet> {
  const { assertion, scopes, resource } = request;
  const params: Record<string, string> = { assertion };
  if (!scopes.isEmpty) params.scope = scopes.toString();
  if (resource) params.resource = resource;
  const { client } = oauthClient(ctx);
  const requestedAt = ctx.now();
  const result = await tokenRequest(
    ctx,
    { what, code: 'token_error', secrets: [assertion] },
    (options) => oauth.genericTokenEndpointRequest(ctx.as, client, auth, JWT_BEARER_GRANT, params, options),
    (response) => oauth.processGenericTokenEndpointResponse(ctx.as, client, response),
  );
  // RFC 7523 §3.1 lets the authorization server issue a refresh token, yet renewing never uses one: the
  // session renews with a new assertion, so none is kept (and a renewal never depends on one).
  const { refresh_token: _ignored, ...answer } = result;
  return {
    ...toTokenSet(answer as oauth.TokenEndpointResponse, issuedBy(ctx, { scopes, resource, now: requestedAt })),
    grantType,
  };
}
