import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { TokenSet } from './tokenSet';

/**
 * A label for the signed-in account: `email`, `preferred_username` or `sub` from the ID token or a JWT
 * access token, else the issuer's host. Decoding is for display only; nothing is trusted from it.
 */
export function describeAccount(tokens: TokenSet): string {
  return accountClaim(tokens) ?? new URL(tokens.issuer).host;
}

/** The account from the tokens' claims alone; undefined when they carry none (opaque tokens, no ID token). */
export function accountClaim(tokens: TokenSet): string | undefined {
  for (const token of [tokens.idToken, tokens.accessToken]) {
    const claims = token ? claimsOf(token) : undefined;
    for (const claim of ['email', 'preferred_username', 'sub'] as const) {
      const value = claims?.[claim];
      if (typeof value === 'string' && value) return value;
    }
  }
  return undefined;
}

/**
 * The one way the product reads a token it holds: jose's decoders, WITHOUT verifying the signature. What they
 * give is for display (the account, "Show Token Details") and for an expiry hint when the token response has
 * no `expires_in`; never for a decision about trust, which is the authorization server's and the resource
 * server's. Tokens longer than this are not decoded at all.
 */
const MAX_DECODED_TOKEN = 256 * 1024;

/** The claims of a JWT (JWS compact form), unverified; undefined for an opaque token, a JWE or a malformed one. */
export function claimsOf(token: string): Record<string, unknown> | undefined {
  if (token.length > MAX_DECODED_TOKEN) return undefined;
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** The protected header of a JWS or a JWE (compact form), unverified; undefined for anything else. */
export function headerOf(token: string): Record<string, unknown> | undefined {
  if (token.length > MAX_DECODED_TOKEN) return undefined;
  try {
    return decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
