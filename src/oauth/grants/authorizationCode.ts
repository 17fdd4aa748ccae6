import * as oauth from 'oauth4webapi';
import { assertPkceS256, type AuthServerMetadata } from '../discovery/authServerMetadata';
import type { ClientRegistration } from '../client/registration';
import { InvalidResponseError, McpOAuthError, OAuthResponseError, quote } from '../errors';
import { issuedBy, oauthClient, tokenRequest, type GrantContext } from './grantContext';
import { oauthStep } from './oauthStep';
import { randomToken, type RandomBytes } from '../http/random';
import type { Scopes } from '../tokens/scopes';
import { toTokenSet } from './tokenResponse';
import type { TokenSet } from '../tokens/tokenSet';
import { describeUrl } from '../http/url';
import { authorizationParamProblem } from '../session/authOptionRules';

/** An authorization request in flight. Holds the PKCE verifier: keep it in memory only. */
export interface PendingAuthorization {
  readonly url: string;
  readonly state: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly scopes: Scopes;
  readonly resource?: string;
}

export interface AuthorizationRequestInput {
  readonly as: AuthServerMetadata;
  readonly client: ClientRegistration;
  readonly redirectUri: string;
  readonly scopes: Scopes;
  readonly resource?: string;
  readonly random: RandomBytes;
  /** The `authorizationParams` option: added after the protocol's own parameters, never replacing one. */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** RFC 9449 §10: the thumbprint of the DPoP key the code is to be redeemed with, which binds the code to it. */
  readonly dpopJkt?: string;
}

/**
 * Builds the authorization URL with PKCE S256, `state`, the RFC 8707 `resource`, then the extra parameters.
 * An extra parameter that the rule refuses, or that is already in the URL (the protocol's, or the endpoint's
 * own query), is a configuration error: the settings and the CLI refuse the same names, this is the last line.
 */
export async function createAuthorizationRequest(input: AuthorizationRequestInput): Promise<PendingAuthorization> {
  const { as, client, redirectUri, scopes, resource } = input;
  assertPkceS256(as);
  if (!as.authorization_endpoint) {
    throw new McpOAuthError(
      'unsupported_flow',
      `The authorization server ${describeUrl(as.issuer)} has no authorization endpoint; use the device code or client credentials flow`,
    );
  }
  const codeVerifier = randomToken(input.random);
  const state = randomToken(input.random);
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (!scopes.isEmpty) url.searchParams.set('scope', scopes.toString());
  if (resource) url.searchParams.set('resource', resource);
  if (input.dpopJkt) url.searchParams.set('dpop_jkt', input.dpopJkt);
  for (const [name, value] of Object.entries(input.authorizationParams ?? {})) {
    const problem =
      authorizationParamProblem(name, value) ??
      (url.searchParams.has(name) ? `gives "${name}", which the request has already` : undefined);
    if (problem) throw new McpOAuthError('invalid_config', `auth.authorizationParams ${problem}; sign-in refused`);
    url.searchParams.set(name, value);
  }
  return { url: url.href, state, codeVerifier, redirectUri, scopes, ...(resource ? { resource } : {}) };
}

/**
 * Checks the callback (`state`, RFC 9207 `iss`, `error`) before anything is redeemed, then exchanges the
 * code with the PKCE verifier and the same `resource`. Callback values are attacker-controlled: they are
 * compared, and only ever shown through `quote()`.
 */
export async function redeemAuthorizationCallback(
  ctx: GrantContext,
  pending: PendingAuthorization,
  callbackUrl: URL,
): Promise<TokenSet> {
  const { as } = ctx;
  const params = callbackUrl.searchParams;
  if (params.get('state') !== pending.state) {
    throw new InvalidResponseError(
      'state_mismatch',
      'The authorization response does not belong to this sign-in (state mismatch); sign in again',
    );
  }
  const iss = params.get('iss');
  if (iss !== null ? iss !== as.issuer : as.authorization_response_iss_parameter_supported === true) {
    throw new InvalidResponseError(
      'iss_mismatch',
      iss === null
        ? 'The authorization response has no "iss" although the authorization server promises one (RFC 9207); sign-in refused'
        : `The authorization response came from another issuer (RFC 9207 "iss" ${quote(iss)}); sign-in refused`,
    );
  }
  const error = params.get('error');
  if (error !== null) {
    const denied = error === 'access_denied';
    throw new OAuthResponseError(
      denied ? 'authorization_denied' : 'authorization_failed',
      denied
        ? 'The authorization was denied. Sign in again and approve the request to continue.'
        : `The authorization server returned ${quote(error, 64)}; sign in again`,
      error,
      undefined,
    );
  }
  if (!params.get('code')) {
    throw new InvalidResponseError('invalid_response', 'The authorization response carries no code; sign in again');
  }
  const { client, auth } = oauthClient(ctx);
  const validated = await oauthStep('The authorization response', 'authorization_failed', () =>
    oauth.validateAuthResponse(as, client, params, pending.state),
  );
  const requestedAt = ctx.now();
  const result = await tokenRequest(
    ctx,
    { what: 'The token request', code: 'token_error' },
    (options) =>
      oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        validated,
        pending.redirectUri,
        pending.codeVerifier,
        options,
      ),
    (response) => oauth.processAuthorizationCodeResponse(as, client, response),
    pending.resource ? { additionalParameters: { resource: pending.resource } } : {},
  );
  return toTokenSet(result, issuedBy(ctx, { scopes: pending.scopes, resource: pending.resource, now: requestedAt }));
}
