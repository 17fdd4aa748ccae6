import { resourceCovers } from '../http/url';
/** The tokens held for one (server, account). Times are epoch milliseconds from the injected clock. */
export interface TokenSet {
  readonly accessToken: string;
  /** `Bearer`, or `DPoP` for tokens bound to a DPoP key (RFC 9449); see {@link isDpopBound}. */
  readonly tokenType: string;
  /**
   * For DPoP-bound tokens: the RFC 7638 thumbprint of the key they are bound to (their `cnf.jkt`). The key
   * itself is kept where the host keeps secrets, never here.
   */
  readonly dpopJkt?: string;
  /** Absolute expiry of the access token, when the AS said (`expires_in`) or the JWT's `exp` tells. */
  readonly expiresAt?: number;
  readonly refreshToken?: string;
  readonly idToken?: string;
  /** Granted scopes, sorted; empty when the AS did not say. */
  readonly scopes: readonly string[];
  /** The AS issuer that issued these tokens, and the client they were issued to. */
  readonly issuer: string;
  readonly clientId: string;
  readonly tokenEndpoint: string;
  /** RFC 7009 endpoint, remembered so that sign-out needs no discovery. */
  readonly revocationEndpoint?: string;
  /**
   * Set for sessions that renew by running their grant again rather than refreshing: client credentials, an
   * ID-JAG from the enterprise IdP (enterprise-managed authorization), a workload JWT (workload identity).
   */
  readonly grantType?: 'client_credentials' | 'id_jag' | 'workload_identity';
  /** The RFC 8707 resource the tokens were requested for, when one was sent. */
  readonly resource?: string;
  /**
   * The canonical URL of the MCP server the tokens were issued for: a session is used only by an entry
   * with this URL (see {@link sessionBinding}). Absent in sessions stored by older versions.
   */
  readonly serverUrl?: string;
  /**
   * Refresh tokens of earlier sign-ins to this server at the same client, which this session replaced: revoked
   * when it signs out, not when they were replaced, because the AS may have issued them on the same grant as
   * this session's and revoking one token may end its whole grant (RFC 7009 §2.1), this session included.
   */
  readonly supersededRefreshTokens?: readonly string[];
  /**
   * This session's dynamic registration once the client store stopped keeping it (Reset Client Registration, a
   * new registration) while the session still used it: deleted at the AS (RFC 7592) once nothing uses it, when a
   * sign-in replaces this session or at its sign-out. Kept with the session, so that a restart in between keeps it.
   */
  readonly retiringRegistration?: RetiringRegistration;
  /**
   * How the client was registered (for display): `preregistered`, `cimd`, `dcr`, `imported` from a bundle, or
   * `none` (workload identity: the workload's JWT is its only credential).
   */
  readonly registration?: 'preregistered' | 'cimd' | 'dcr' | 'imported' | 'none';
  readonly obtainedAt: number;
}

/** What deleting a dynamic registration takes (RFC 7592 §2.3): its management URI and access token (a secret). */
export interface RetiringRegistration {
  readonly clientId: string;
  readonly management: { readonly uri: string; readonly accessToken: string };
}

/**
 * Whether a stored session belongs to the server at `serverUrl` (canonical). A session records the URL it
 * was issued for; one stored before it did is accepted when its RFC 8707 resource names that server.
 */
export function sessionBinding(tokens: TokenSet, serverUrl: string): 'bound' | 'otherServer' {
  if (tokens.serverUrl !== undefined) return tokens.serverUrl === serverUrl ? 'bound' : 'otherServer';
  return tokens.resource !== undefined && resourceCovers(tokens.resource, serverUrl) ? 'bound' : 'otherServer';
}

/** Every secret a stored set holds, for the registry of live secrets. */
export function tokenSecrets(tokens: TokenSet): string[] {
  return [
    tokens.accessToken,
    tokens.refreshToken,
    tokens.idToken,
    ...(tokens.supersededRefreshTokens ?? []),
    tokens.retiringRegistration?.management.accessToken,
  ].filter((value): value is string => !!value);
}

/** Whether two sets were issued to the same client of the same authorization server. */
export function sameClient(a: TokenSet, b: TokenSet): boolean {
  return a.issuer === b.issuer && a.clientId === b.clientId;
}

/** Whether the tokens are bound to a DPoP key: every use needs a proof signed by it, and they never leave. */
export function isDpopBound(tokens: TokenSet): boolean {
  return tokens.tokenType.toLowerCase() === 'dpop';
}

/** Whether the access token is past (or within `skewMs` of) its expiry. No expiry means it is taken as valid. */
export function isExpired(tokens: TokenSet, now: number, skewMs = 0): boolean {
  return tokens.expiresAt !== undefined && now + skewMs >= tokens.expiresAt;
}

/** Whether a value read back from storage has the shape of a {@link TokenSet}. */
export function isTokenSet(value: unknown): value is TokenSet {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    isNonEmptyString(v.accessToken) &&
    isNonEmptyString(v.tokenType) &&
    // A DPoP-bound set names its key; a Bearer one names none.
    (String(v.tokenType).toLowerCase() === 'dpop' ? isNonEmptyString(v.dpopJkt) : v.dpopJkt === undefined) &&
    isOptional(v.expiresAt, isFiniteNumber) &&
    isOptional(v.refreshToken, isNonEmptyString) &&
    isOptional(v.idToken, isNonEmptyString) &&
    Array.isArray(v.scopes) &&
    v.scopes.every((scope) => typeof scope === 'string') &&
    isNonEmptyString(v.issuer) &&
    isNonEmptyString(v.clientId) &&
    isNonEmptyString(v.tokenEndpoint) &&
    isOptional(v.resource, isNonEmptyString) &&
    isOptional(v.serverUrl, isNonEmptyString) &&
    isOptional(v.supersededRefreshTokens, (list) => Array.isArray(list) && list.every(isNonEmptyString)) &&
    isOptional(v.retiringRegistration, isRetiringRegistration) &&
    isOptional(v.registration, (r) => typeof r === 'string' && REGISTRATIONS.includes(r)) &&
    isFiniteNumber(v.obtainedAt)
  );
}

const REGISTRATIONS: readonly string[] = ['preregistered', 'cimd', 'dcr', 'imported', 'none'];

function isRetiringRegistration(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { clientId, management } = value as Record<string, unknown>;
  if (!isNonEmptyString(clientId) || typeof management !== 'object' || management === null) return false;
  const { uri, accessToken } = management as Record<string, unknown>;
  return isNonEmptyString(uri) && isNonEmptyString(accessToken);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isOptional(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || check(value);
}
