import * as oauth from 'oauth4webapi';
import { InvalidResponseError, quote } from '../errors';
import type { Scopes } from '../tokens/scopes';
import { oauthClient, type GrantContext } from './grantContext';
import { oauthStep, requestOptions } from './oauthStep';

/** RFC 8693 §2.1. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 8693 §3 token type identifiers, and the ID-JAG's (draft-ietf-oauth-identity-assertion-authz-grant §9). */
export const TOKEN_TYPES = {
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
} as const;

export interface IdJagRequest {
  /** The user's ID token from the IdP: the subject token. A secret. */
  readonly idToken: string;
  /** The MCP server's authorization server (its issuer identifier): the ID-JAG's `aud`. */
  readonly audience: string;
  /** The protected resource metadata's `resource`: the MCP server the ID-JAG is for. */
  readonly resource?: string | undefined;
  readonly scopes: Scopes;
}

/**
 * The token exchange at the enterprise IdP (RFC 8693, the ID-JAG draft's §4.3): the ID token for an
 * Identity Assertion JWT Authorization Grant for one authorization server and resource. The context is the
 * IdP's: its metadata and the MCP client as registered there (a confidential client, SEP-990 §7.7).
 * Returns the ID-JAG, a secret kept in memory only for the JWT bearer request that follows.
 */
export async function requestIdJag(ctx: GrantContext, request: IdJagRequest): Promise<string> {
  const what = 'The token exchange at the identity provider';
  const params: Record<string, string> = {
    requested_token_type: TOKEN_TYPES.idJag,
    subject_token: request.idToken,
    subject_token_type: TOKEN_TYPES.idToken,
    audience: request.audience,
  };
  if (request.resource) params.resource = request.resource;
  if (!request.scopes.isEmpty) params.scope = request.scopes.toString();
  const { client, auth } = oauthClient(ctx);
  const response = await oauthStep(
    what,
    'token_error',
    () =>
      oauth.genericTokenEndpointRequest(ctx.as, client, auth, TOKEN_EXCHANGE_GRANT, params, requestOptions(ctx.fetch)),
    [request.idToken],
  );
  // RFC 8693 §2.2.1: an issued token that is no access token has the token_type "N_A".
  const result = await oauthStep(
    what,
    'token_error',
    () =>
      oauth.processGenericTokenEndpointResponse(ctx.as, client, response, {
        recognizedTokenTypes: { n_a: () => undefined },
      }),
    [request.idToken],
  );
  const issued = (result as { issued_token_type?: unknown }).issued_token_type;
  if (issued !== TOKEN_TYPES.idJag) {
    throw new InvalidResponseError(
      'invalid_token_response',
      `${what} answered with ${issued === undefined ? 'no "issued_token_type"' : `"issued_token_type" ${quote(issued, 100)}`}, not an ID-JAG (${TOKEN_TYPES.idJag})`,
    );
  }
  // A JWT (three base64url parts): anything else cannot be the assertion of RFC 7523.
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(result.access_token)) {
    throw new InvalidResponseError('invalid_token_response', `${what} answered with an ID-JAG that is not a JWT`);
  }
  return result.access_token;
}
