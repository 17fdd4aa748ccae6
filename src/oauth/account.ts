import { decodeJwt } from 'jose';
import type { TokenSet } from './tokenSet';

/**
 * A label for the signed-in account: `email`, `preferred_username` or `sub` from the ID token or a JWT
 * access token, else the issuer's host. Decoding is for display only; nothing is trusted from it.
 */
export function describeAccount(tokens: TokenSet): string {
  for (const token of [tokens.idToken, tokens.accessToken]) {
    const claims = token ? claimsOf(token) : undefined;
    for (const claim of ['email', 'preferred_username', 'sub'] as const) {
      const value = claims?.[claim];
      if (typeof value === 'string' && value) return value;
    }
  }
  return new URL(tokens.issuer).host;
}

function claimsOf(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
