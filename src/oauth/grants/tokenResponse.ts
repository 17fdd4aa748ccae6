import type * as oauth from 'oauth4webapi';
import { InvalidResponseError } from '../errors';
import { claimsOf } from '../tokens/claims';
import { Scopes } from '../tokens/scopes';
import type { TokenSet } from '../tokens/tokenSet';

export interface TokenContext {
  readonly issuer: string;
  readonly clientId: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint?: string;
  readonly grantType?: 'client_credentials';
  readonly resource?: string;
  /** What was requested: RFC 6749 §5.1 says an omitted `scope` means exactly these were granted. */
  readonly requestedScopes: Scopes;
  readonly now: number;
  /** On refresh, the previous set: its refresh token is kept when the AS does not rotate it. */
  readonly previous?: TokenSet;
  /** Set when the request carried a DPoP proof: the thumbprint of the key that signed it (RFC 9449 §5). */
  readonly dpopJkt?: string;
}

/** Ten years: anything longer is not a real expiry. */
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

/** Turns a token endpoint response that oauth4webapi already validated into our TokenSet, checking the rest. */
export function toTokenSet(response: oauth.TokenEndpointResponse, context: TokenContext): TokenSet {
  const tokenType = response.token_type.toLowerCase();
  // DPoP only when this request carried a proof: a DPoP token never asked for is not one this client can use.
  const bound = tokenType === 'dpop' && context.dpopJkt !== undefined;
  if (tokenType !== 'bearer' && !bound) {
    throw new InvalidResponseError(
      'invalid_token_response',
      `token response "token_type" must be Bearer${context.dpopJkt !== undefined ? ' or DPoP' : ''}`,
    );
  }
  if (response.expires_in !== undefined && (!Number.isFinite(response.expires_in) || response.expires_in <= 0)) {
    throw new InvalidResponseError('invalid_token_response', 'token response "expires_in" must be a positive number');
  }
  // RFC 6749 Appendix A.12 and A.17: tokens are printable ASCII; anything else would break the header.
  for (const [field, value] of [
    ['access_token', response.access_token],
    ['refresh_token', response.refresh_token],
  ] as const) {
    if (value !== undefined && !/^[\x20-\x7e]+$/.test(value)) {
      throw new InvalidResponseError('invalid_token_response', `token response "${field}" must be printable ASCII`);
    }
  }
  if (response.expires_in !== undefined && response.expires_in > MAX_EXPIRES_IN) {
    throw new InvalidResponseError(
      'invalid_token_response',
      `token response "expires_in" must be at most ${MAX_EXPIRES_IN} seconds`,
    );
  }
  const expiresAt =
    response.expires_in !== undefined ? context.now + response.expires_in * 1000 : jwtExpiry(response.access_token);
  const scopes =
    response.scope !== undefined
      ? Scopes.parse(response.scope)
      : context.previous
        ? Scopes.of(context.previous.scopes)
        : context.requestedScopes;
  const refreshToken = response.refresh_token ?? context.previous?.refreshToken;
  const idToken = response.id_token ?? context.previous?.idToken;
  return {
    accessToken: response.access_token,
    ...(bound ? { tokenType: 'DPoP', dpopJkt: context.dpopJkt } : { tokenType: 'Bearer' }),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    ...(idToken ? { idToken } : {}),
    scopes: scopes.values,
    issuer: context.issuer,
    clientId: context.clientId,
    tokenEndpoint: context.tokenEndpoint,
    ...((context.revocationEndpoint ?? context.previous?.revocationEndpoint)
      ? { revocationEndpoint: context.revocationEndpoint ?? context.previous?.revocationEndpoint }
      : {}),
    ...(context.grantType ? { grantType: context.grantType } : {}),
    ...(context.resource ? { resource: context.resource } : {}),
    // A refresh renews the session in place: it stays bound to its server and keeps its registration kind.
    ...(context.previous?.serverUrl ? { serverUrl: context.previous.serverUrl } : {}),
    ...(context.previous?.registration ? { registration: context.previous.registration } : {}),
    ...(context.previous?.supersededRefreshTokens
      ? { supersededRefreshTokens: context.previous.supersededRefreshTokens }
      : {}),
    ...(context.previous?.retiringRegistration ? { retiringRegistration: context.previous.retiringRegistration } : {}),
    obtainedAt: context.now,
  };
}

/** The `exp` of a JWT access token, when it is one (unverified: a hint, see claimsOf); opaque tokens have none. */
export function jwtExpiry(token: string): number | undefined {
  const exp = claimsOf(token)?.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}
