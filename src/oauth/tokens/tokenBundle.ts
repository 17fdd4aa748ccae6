import { InvalidResponseError, McpOAuthError } from '../errors';
import { claimsOf } from './claims';
import { Fields } from '../http/fields';
import { Scopes } from './scopes';
import { isDpopBound, type TokenSet } from './tokenSet';
import { resourceCovers } from '../http/url';
import { canonicalServerUrl } from '../http/url';

/**
 * A token obtained elsewhere ("sideloading"): `mcp-oauth export` writes one, `mcp-oauth import` and the
 * extension's "Import Token…" take one. It carries what a refresh needs (issuer, token endpoint, client id).
 */
export interface TokenBundle {
  readonly type: typeof BUNDLE_TYPE;
  readonly version: 1;
  readonly serverUrl: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** ISO 8601; absent when the AS gave no expiry. */
  readonly expiresAt?: string;
  readonly scopes: readonly string[];
  readonly resource?: string;
}

export const BUNDLE_TYPE = 'mcp-oauth-token-bundle';

/** A bundle is a few KB; anything near this is not one (the extension's import has the same limit). */
const MAX_BUNDLE_CHARS = 1024 * 1024;
/** Tokens go into an Authorization header: far below this, and printable ASCII (RFC 6749 Appendix A). */
const MAX_TOKEN_CHARS = 64 * 1024;

/**
 * The bundle of a session. A DPoP-bound one (RFC 9449) is refused with `not_exportable`: its tokens are
 * useless without the key, and the key never leaves the machine it was made on.
 */
export function toBundle(serverUrl: string, tokens: TokenSet): TokenBundle {
  if (isDpopBound(tokens)) {
    throw new McpOAuthError(
      'not_exportable',
      'This session is bound to a DPoP key (RFC 9449) that never leaves this machine, so its tokens cannot be exported: they would be useless anywhere else. Sign in on the other machine instead (with a device code where no browser can come back)',
    );
  }
  return {
    type: BUNDLE_TYPE,
    version: 1,
    serverUrl: canonicalServerUrl(serverUrl),
    issuer: tokens.issuer,
    tokenEndpoint: tokens.tokenEndpoint,
    clientId: tokens.clientId,
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    ...(tokens.expiresAt !== undefined ? { expiresAt: new Date(tokens.expiresAt).toISOString() } : {}),
    scopes: tokens.scopes,
    ...(tokens.resource ? { resource: tokens.resource } : {}),
  };
}

/**
 * Validates a bundle for `serverUrl` and turns it into a token set. Refuses a malformed bundle, one for
 * another server or resource, and an expired access token that cannot be refreshed. A JWT access token's
 * own `exp` and `aud` are checked too (decoded with jose; the resource server verifies the signature).
 */
export function fromBundle(text: string, serverUrl: string, now: number): TokenSet {
  if (text.length > MAX_BUNDLE_CHARS)
    throw new InvalidResponseError('invalid_bundle', 'The token bundle is larger than 1 MB; refused');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidResponseError('invalid_bundle', 'The token bundle is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidResponseError('invalid_bundle', 'The token bundle must be a JSON object');
  const f = new Fields(value as Record<string, unknown>, 'token bundle', 'invalid_bundle');
  if (f.optionalString('type') !== BUNDLE_TYPE) f.fail('type', `must be ${JSON.stringify(BUNDLE_TYPE)}`);
  if ((value as Record<string, unknown>).version !== 1) f.fail('version', 'must be 1');
  const server = canonicalServerUrl(serverUrl);
  const bundleServer = f.url('serverUrl');
  if (canonicalServerUrl(bundleServer) !== server) f.fail('serverUrl', 'is for another server');
  f.url('issuer');
  const issuer = f.string('issuer');
  const tokenEndpoint = f.url('tokenEndpoint');
  const clientId = f.string('clientId');
  const accessToken = f.string('accessToken');
  const refreshToken = f.optionalString('refreshToken');
  for (const [field, token] of [
    ['accessToken', accessToken],
    ['refreshToken', refreshToken],
  ] as const) {
    if (token !== undefined && (token.length > MAX_TOKEN_CHARS || !/^[\x20-\x7e]+$/.test(token)))
      f.fail(field, `must be printable ASCII of at most ${MAX_TOKEN_CHARS} characters`);
  }
  const scopes = Scopes.of(f.optionalStringArray('scopes') ?? []);
  const resource = f.optionalString('resource');
  if (resource !== undefined && !resourceCovers(resource, server)) f.fail('resource', 'names another resource');
  let expiresAt: number | undefined;
  const expiresText = f.optionalString('expiresAt');
  if (expiresText !== undefined) {
    expiresAt = Date.parse(expiresText);
    if (!Number.isFinite(expiresAt)) f.fail('expiresAt', 'must be an ISO 8601 date');
  }
  const claims = jwtClaims(accessToken);
  if (claims) {
    if (typeof claims.exp === 'number') expiresAt = Math.min(expiresAt ?? Infinity, claims.exp * 1000);
    const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (
      audiences.length &&
      !audiences.some((aud) => typeof aud === 'string' && (resourceCovers(aud, server) || aud === resource))
    ) {
      throw new InvalidResponseError(
        'invalid_bundle',
        'The access token in the bundle is for another resource (its "aud" claim does not name this server)',
      );
    }
    if (typeof claims.iss === 'string' && claims.iss !== issuer) {
      throw new InvalidResponseError(
        'invalid_bundle',
        'The access token in the bundle was issued by another authorization server than the bundle names',
      );
    }
  }
  if (expiresAt !== undefined && expiresAt <= now && !refreshToken) {
    throw new InvalidResponseError(
      'invalid_bundle',
      'The access token in the bundle has expired and there is no refresh token; export a fresh one',
    );
  }
  return {
    accessToken,
    tokenType: 'Bearer',
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    scopes: scopes.values,
    issuer,
    clientId,
    tokenEndpoint,
    ...(resource ? { resource } : {}),
    obtainedAt: now,
  };
}

/** The unverified claims of a JWS-shaped access token (see claimsOf), undefined for an opaque one. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  if (token.split('.').length !== 3) return undefined;
  const claims = claimsOf(token);
  if (!claims) {
    throw new InvalidResponseError(
      'invalid_bundle',
      'The access token in the bundle looks like a JWT but cannot be decoded',
    );
  }
  return claims;
}
