import type { EnterpriseIdpOptions } from '../../oauth/session/authOptions';
import { canonicalServerUrl } from '../../oauth/http/url';
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
