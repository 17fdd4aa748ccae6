// Wiring for the enterprise-managed authorization tests (SEP-990): an enterprise IdP, the ID-JAG authorization
// server of the MCP servers, and MCP servers trusting it; the core's environment with an IdentityProvider.
import type { ClientMetadata } from 'oidc-provider';
import type { ClientCredentials } from '../../../src/oauth/client/clientAuth';
import type { CredentialStore } from '../../../src/oauth/client/credentials';
import type { FetchLike } from '../../../src/oauth/http/policyFetch';
import type { AuthEnvironment } from '../../../src/oauth/session/environment';
import { IdentityProvider, type IdentityProviderConfig } from '../../../src/oauth/session/identityProvider';
import { IDP_CLIENT, startEnterpriseIdp, type EnterpriseIdp } from '../../fixtures/enterpriseIdp';
import { AS_CLIENT, startIdJagAuthServer, type IdJagAuthServer } from '../../fixtures/idJagAuthServer';
import { startSplitDomainServer, type McpServerFixture } from '../../fixtures/mcpServers';
import { coreEnvironment, type HarnessOptions } from './coreHarness';

/**
 * The MCP client as registered at the IdP, authenticating with client_secret_basic: what the product uses
 * when the IdP's metadata offers it (IDP_CLIENT itself is registered for client_secret_post).
 */
export const IDP_BASIC_CLIENT: ClientMetadata = {
  ...IDP_CLIENT,
  client_id: 'enterprise-mcp-client-basic',
  client_secret: 'enterprise-mcp-client-basic-secret',
  token_endpoint_auth_method: 'client_secret_basic',
};

export const AS_SECRET = AS_CLIENT.client_secret as string;
export const IDP_SECRET = IDP_BASIC_CLIENT.client_secret as string;

export interface EnterprisePeers {
  idp: EnterpriseIdp;
  as: IdJagAuthServer;
  /** MCP servers trusting `as`, all connected at the IdP for IDP_BASIC_CLIENT → AS_CLIENT. */
  servers: McpServerFixture[];
  /** Added to the ID-JAG AS's clock (to expire ID-JAGs). */
  asClock: { ms: number };
  close(): Promise<void>;
}

export async function startEnterprisePeers(count = 3): Promise<EnterprisePeers> {
  const idp = await startEnterpriseIdp({ clients: [IDP_CLIENT, IDP_BASIC_CLIENT] });
  const asClock = { ms: 0 };
  const as = await startIdJagAuthServer({ idp, now: () => Date.now() + asClock.ms });
  const servers: McpServerFixture[] = [];
  for (let i = 0; i < count; i++) servers.push(await startSplitDomainServer({ as }));
  for (const client of [IDP_CLIENT, IDP_BASIC_CLIENT]) {
    idp.connect({
      clientId: client.client_id,
      audience: as.issuer,
      resources: servers.map((s) => s.url),
      targetClientId: AS_CLIENT.client_id,
    });
  }
  return {
    idp,
    as,
    servers,
    asClock,
    async close() {
      for (const server of servers) await server.close();
      await as.close();
      await idp.close();
    },
  };
}

export interface EnterpriseEnvOptions extends HarnessOptions {
  /** The IdP client's stored credentials (default: IDP_BASIC_CLIENT's secret). */
  readonly idpCredentials?: ClientCredentials;
  /** Over the default config (IDP_BASIC_CLIENT at `idp`). */
  readonly idp?: Partial<IdentityProviderConfig>;
  /** The IdP's own credential store, instead of a fixed lookup. */
  readonly idpCredentialStore?: CredentialStore;
  readonly readTextFile?: (path: string) => Promise<string>;
  /** The transport of every request, the IdP's included. */
  readonly fetch?: FetchLike;
}

/**
 * A core environment whose pre-registered client at the MCP server's AS is AS_CLIENT (its secret stored),
 * with one IdentityProvider for all the servers, keeping its session in the same token store.
 */
export function enterpriseEnvironment(
  idp: { issuer: string },
  options: EnterpriseEnvOptions = {},
): ReturnType<typeof coreEnvironment> & { identityProvider: IdentityProvider } {
  const base = coreEnvironment({ credentials: { clientSecret: AS_SECRET }, ...options });
  const env = options.fetch ? { ...base, http: { ...base.http, fetch: options.fetch } } : base;
  const identityProvider = new IdentityProvider(
    { issuer: idp.issuer, clientId: IDP_BASIC_CLIENT.client_id, ...options.idp },
    {
      ...env,
      credentials: options.idpCredentialStore ?? {
        lookup: async () => options.idpCredentials ?? { clientSecret: IDP_SECRET },
      },
      ...(options.readTextFile ? { readTextFile: options.readTextFile } : {}),
    },
  );
  return { ...env, identityProvider, ...(options.readTextFile ? { readTextFile: options.readTextFile } : {}) };
}

/** The auth options of an enterprise-managed server entry. */
export const ENTERPRISE_AUTH = { flow: 'enterpriseManaged', clientId: AS_CLIENT.client_id } as const;

export type { AuthEnvironment };
