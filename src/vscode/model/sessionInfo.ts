import { accountClaim, describeAccount } from '../../oauth/tokens/claims';
import type { TokenSet } from '../../oauth/tokens/tokenSet';
import type { ServerEntry } from './serverConfig';

/** The non-secret view of a stored session: what the tree and the Accounts menu show. Never a token. */
export interface SessionInfo {
  readonly account: string;
  readonly scopes: readonly string[];
  readonly expiresAt?: number;
  readonly refreshable: boolean;
  readonly issuer: string;
  readonly clientId: string;
  /** How the client was registered: `preregistered`, `cimd`, `dcr` or `imported`. */
  readonly registration: string;
  /** When the tokens were obtained (a new value means new tokens: a refresh, another sign-in). */
  readonly obtainedAt: number;
}

/**
 * The view of `tokens` for `entry`. `previous` is the session it renews: a refresh that brings no ID token
 * and an opaque access token keeps the account it had, rather than falling back to the issuer's host.
 */
export function sessionInfo(entry: ServerEntry, tokens: TokenSet, previous?: SessionInfo): SessionInfo {
  return {
    account:
      accountClaim(tokens) ??
      (previous?.issuer === tokens.issuer ? previous.account : undefined) ??
      describeAccount(tokens),
    scopes: tokens.scopes,
    ...(tokens.expiresAt !== undefined ? { expiresAt: tokens.expiresAt } : {}),
    refreshable: renewable(tokens),
    issuer: tokens.issuer,
    clientId: tokens.clientId,
    registration: tokens.registration ?? legacyRegistration(entry, tokens),
    obtainedAt: tokens.obtainedAt,
  };
}

/** How the client of a session stored before sessions recorded it was registered, as far as the settings tell. */
function legacyRegistration(entry: ServerEntry, tokens: TokenSet): string {
  if (entry.auth.clientId === tokens.clientId) return 'preregistered';
  if (entry.auth.clientMetadataUrl === tokens.clientId) return 'cimd';
  return 'dcr';
}

/** Whether the session renews without the user: with a refresh token, or by running its grant again. */
export function renewable(tokens: TokenSet): boolean {
  return !!tokens.refreshToken || tokens.grantType !== undefined;
}
