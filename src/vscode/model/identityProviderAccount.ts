import type { EnterpriseIdpOptions } from '../../oauth/session/authOptions';
import { McpOAuthError } from '../../oauth/errors';
import { canonicalServerUrl, secureUrl } from '../../oauth/http/url';
import type { ServerEntry } from './serverConfig';

/**
 * The session id of the enterprise identity provider (`mcpOAuth.enterpriseIdp`): its session (ID token and
 * refresh token) lives in the one session store next to the servers', under this id, and shows in the
 * Accounts menu as a session of its own. No server id can be it: those start with a letter or a digit.
 */
export const IDENTITY_PROVIDER_ID = '@identity-provider';

/**
 * The identity provider as an entry of the session store: what binds its session (the issuer's URL) and
 * names it in the Accounts menu, so the user sees it is the identity provider and not a server.
 */
export function identityProviderEntry(idp: EnterpriseIdpOptions): ServerEntry {
  return {
    id: IDENTITY_PROVIDER_ID,
    name: `Identity provider ${new URL(idp.issuer).host}`,
    url: canonicalServerUrl(idp.issuer),
    transport: 'http',
    auth: { redirect: 'auto' },
  };
}

/**
 * Validates `mcpOAuth.enterpriseIdp` (`{ issuer, clientId, scopes? }`); undefined when it is not set. Throws
 * `invalid_config` naming the field. (The settings surface owns the one parser of this setting; this reads
 * the same shape.)
 */
export function parseEnterpriseIdp(value: unknown): EnterpriseIdpOptions | undefined {
  if (value === undefined || value === null) return undefined;
  const fail = (message: string): never => {
    throw new McpOAuthError('invalid_config', `mcpOAuth.enterpriseIdp: ${message}`);
  };
  if (typeof value !== 'object' || Array.isArray(value)) return fail('must be an object with issuer and clientId');
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!['issuer', 'clientId', 'scopes'].includes(key)) fail(`${JSON.stringify(key)} is not one of its fields`);
  if (typeof o.issuer !== 'string' || !o.issuer) return fail('"issuer" must be the identity provider\'s issuer URL');
  try {
    secureUrl(o.issuer, '"issuer"');
  } catch (error) {
    fail((error as Error).message);
  }
  if (typeof o.clientId !== 'string' || !o.clientId.trim()) return fail('"clientId" must be a non-empty string');
  const scopes = o.scopes;
  if (
    scopes !== undefined &&
    !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)))
  )
    fail('"scopes" must be an array of scope strings');
  return { issuer: o.issuer, clientId: o.clientId, ...(scopes ? { scopes: scopes as string[] } : {}) };
}
