import { claimsOf, headerOf } from '../../oauth/tokens/claims';
import type { TokenSet } from '../../oauth/tokens/tokenSet';
import type { ServerEntry } from './serverConfig';
import { renewable, type SessionInfo } from './sessionInfo';
import { registrationText, timeLeft } from './treeModel';

/** What the document shows. Holds no token, no signature and no secret. */
export function tokenDetails(
  entry: ServerEntry,
  info: SessionInfo | undefined,
  tokens: TokenSet,
  now: number,
): Record<string, unknown> {
  const left = timeLeft(tokens.expiresAt, now);
  return {
    $comment: 'Decoded for display only and not verified. The raw tokens and their signatures are never shown.',
    server: { name: entry.name, id: entry.id, url: entry.url },
    account: info?.account,
    issuer: tokens.issuer,
    clientId: tokens.clientId,
    registration: info ? registrationText(info.registration) : undefined,
    tokenType: tokens.tokenType,
    ...(tokens.dpopJkt
      ? {
          dpop: {
            keyThumbprint: tokens.dpopJkt,
            $comment:
              'Bound to this DPoP key (RFC 9449): the token is of no use without it. The private key stays in SecretStorage and is never shown.',
          },
        }
      : {}),
    grant: tokens.grantType,
    scopes: tokens.scopes,
    resource: tokens.resource,
    obtainedAt: isoTime(tokens.obtainedAt),
    expiresAt: tokens.expiresAt === undefined ? null : isoTime(tokens.expiresAt),
    expiresIn: left === undefined ? 'no expiry reported' : left,
    refreshable: renewable(tokens),
    hasRefreshToken: !!tokens.refreshToken,
    accessToken: describeToken(tokens.accessToken),
    ...(tokens.idToken ? { idToken: describeToken(tokens.idToken) } : {}),
  };
}

/**
 * A token's decoded header and claims when it is a JWS (header.payload.signature: the signature is dropped),
 * the header alone for a JWE, and only its kind for an opaque token.
 */
export function describeToken(token: string): Record<string, unknown> {
  const header = headerOf(token);
  const claims = claimsOf(token);
  if (header && claims) return { format: 'JWT', header, claims, ...claimTimes(claims) };
  if (header && !claims && token.split('.').length === 5)
    return { format: 'JWE (encrypted; only the server can read the claims)', header };
  return { format: 'opaque (not a JWT; only the authorization server can read it)' };
}

/** `exp`, `iat` and `nbf` as readable times. */
function claimTimes(claims: Record<string, unknown>): Record<string, unknown> {
  const times: Record<string, string> = {};
  for (const claim of ['iat', 'nbf', 'exp'] as const) {
    const value = claims[claim];
    if (typeof value === 'number' && Number.isFinite(value)) {
      const text = isoTime(value * 1000);
      if (text) times[claim] = text;
    }
  }
  return Object.keys(times).length ? { times } : {};
}

function isoTime(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
