import type { TokenSet } from './tokenSet';

/**
 * A label for the signed-in account: `email`, `preferred_username` or `sub` from the ID token or a JWT
 * access token, else the issuer's host. Decoding is for display only; nothing is trusted from it, and it is
 * done without jose so that the extension's activation bundle stays small.
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

/** The payload of a JWT, decoded without verification (for display); undefined for an opaque token. */
export function claimsOf(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
