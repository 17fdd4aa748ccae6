import type * as vscode from 'vscode';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { TokenGateway } from '../mcp/gateway/tokenGateway';
import { tokenManagerSource } from '../mcp/gateway/gatewayTokens';
import { listAllTools } from '../mcp/mcpConnection';
import { connectToServer, signInToServer } from '../mcp/serverSession';
import type { ClientCredentials } from '../oauth/client/clientAuth';
import type { CredentialStore } from '../oauth/client/credentials';
import { loadPrivateKey } from '../oauth/client/privateKey';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import type { DiscoveredServer } from '../oauth/discovery/discover';
import { McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import { defaultHttpPolicy } from '../oauth/http/policyFetch';
import { cryptoRandom } from '../oauth/http/random';
import type { EnterpriseIdpOptions } from '../oauth/session/authOptions';
import type { AuthEnvironment } from '../oauth/session/environment';
import { IdentityProvider } from '../oauth/session/identityProvider';
import type { SignInHost } from '../oauth/session/host';
import {
  ServerAuth,
  type AuthorizationServerMove,
  type SignInRequest,
  type SignOutResult,
} from '../oauth/session/serverAuth';
import type { TokenStatus } from '../oauth/tokens/tokenManager';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import type { TokenStore } from '../oauth/tokens/tokenStore';
import { IDENTITY_PROVIDER_ID } from './model/identityProviderAccount';
import type { ServerEntry } from './model/serverConfig';
import type { SessionInfo } from './model/sessionInfo';
import { SecretClientStore, SecretDpopKeyStore, SECRET_KEYS } from './secretStores';

/** What the heavy half takes from the light one (ServerManager). */
export interface SessionHost {
  readonly secrets: vscode.SecretStorage;
  /** The token sets, through the extension's one session store. */
  readonly tokens: TokenStore;
  /** Every stored session, to tell whether a client registration is still in use. */
  readonly sessions: () => Readonly<Record<string, SessionInfo>>;
  readonly logger: Logger;
  readonly settings: () => { timeoutMs: number; refreshBeforeMs: number };
  readonly onStatus: (entry: ServerEntry, status: TokenStatus) => void;
  /** The gateway met a 403 insufficient_scope: sign in again for the wider scope (the user confirms). */
  readonly stepUp: (entry: ServerEntry, challenge: BearerChallenge) => Promise<boolean>;
  /** The enterprise identity provider (`mcpOAuth.enterpriseIdp`), now; undefined when none is set. */
  readonly enterpriseIdp?: () => EnterpriseIdpOptions | undefined;
  /** Reads a file for the core (`workspace.fs`): the workload token file, read for every token request. */
  readonly readTextFile?: (path: string) => Promise<string>;
  /** The gateway could not serve a request without a new sign-in (a 401 that a refresh did not fix). */
  readonly onSignInRequired?: (entry: ServerEntry) => void;
}

/**
 * The heavy half of the extension, loaded on first use (dist/core.js): the OAuth core, the MCP SDK and the
 * token gateway, wired to VS Code's SecretStorage, URI handler and UI. One ServerAuth per server entry.
 */
export class SessionService {
  private readonly auths = new Map<string, { config: string; auth: ServerAuth }>();
  private gateway: Promise<TokenGateway> | undefined;
  private readonly clients: SecretClientStore;
  /** The one IdentityProvider of every enterprise-managed server, for the settings it was made from. */
  private idp: { config: string; provider: IdentityProvider } | undefined;
  private readonly dpopKeys: SecretDpopKeyStore;
  /** The entry each gateway route serves, by id. */
  private readonly routes = new Map<string, ServerEntry>();

  constructor(private readonly host: SessionHost) {
    this.clients = new SecretClientStore(host.secrets);
    this.dpopKeys = new SecretDpopKeyStore(host.secrets);
  }

  /** The ServerAuth for an entry; a new one when its settings change (its discovery and client may differ). */
  auth(entry: ServerEntry): ServerAuth {
    const idp = this.identityProvider();
    const config = JSON.stringify([entry, idp?.config ?? null]);
    const cached = this.auths.get(entry.id);
    if (cached?.config === config) return cached.auth;
    const auth = new ServerAuth(this.environment(entry), entry.url, entry.auth, entry.id, (status) =>
      this.host.onStatus(entry, status),
    );
    this.auths.set(entry.id, { config, auth });
    return auth;
  }

  /**
   * The enterprise identity provider shared by every `enterpriseManaged` server (so that they share one
   * sign-in there), its session in the one session store under {@link IDENTITY_PROVIDER_ID}; a new one when
   * the setting changes. Undefined when `mcpOAuth.enterpriseIdp` is not set.
   */
  identityProvider(): IdentityProvider | undefined {
    const options = this.host.enterpriseIdp?.();
    if (!options) {
      this.idp = undefined;
      return undefined;
    }
    const config = JSON.stringify(options);
    if (this.idp?.config === config) return this.idp.provider;
    const settings = this.host.settings();
    const provider = new IdentityProvider(
      options,
      {
        http: { ...defaultHttpPolicy(), timeoutMs: settings.timeoutMs },
        now: Date.now,
        random: cryptoRandom,
        logger: this.host.logger,
        tokens: this.host.tokens,
        credentials: this.identityProviderCredentials(options),
        refreshBeforeMs: settings.refreshBeforeMs,
        ...(this.host.readTextFile ? { readTextFile: this.host.readTextFile } : {}),
      },
      IDENTITY_PROVIDER_ID,
    );
    this.idp = { config, provider };
    return provider;
  }

  /** Signs in to the enterprise identity provider alone (the Accounts menu), unless its session is still good. */
  signInIdentityProvider(host: SignInHost): Promise<TokenSet> {
    const idp = this.identityProvider();
    if (!idp) {
      return Promise.reject(
        new McpOAuthError('invalid_config', 'No enterprise identity provider is set: set mcpOAuth.enterpriseIdp'),
      );
    }
    return idp.signIn(host);
  }

  /** Signs out of the identity provider: revokes its refresh token where it can, and forgets the session. */
  async signOutIdentityProvider(): Promise<SignOutResult> {
    const idp = this.identityProvider();
    if (idp) return idp.signOut();
    // The setting is gone: nothing can be revoked, but the session it left is forgotten.
    const wasSignedIn = !!(await this.host.tokens.get(IDENTITY_PROVIDER_ID).catch(() => undefined));
    await this.host.tokens.delete(IDENTITY_PROVIDER_ID);
    return { wasSignedIn, refreshToken: 'none', accessToken: 'none' };
  }

  /** The one sign-in: the core plans the flow from the settings and the metadata; `host` talks to the user. */
  signIn(entry: ServerEntry, host: SignInHost, request: SignInRequest = {}): Promise<TokenSet> {
    host.progress?.('Contacting the server…');
    return signInToServer(this.auth(entry), host, request);
  }

  discover(entry: ServerEntry, signal: AbortSignal): Promise<DiscoveredServer> {
    return this.auth(entry).discover(undefined, signal);
  }

  signOut(entry: ServerEntry): Promise<SignOutResult> {
    return this.auth(entry).signOut();
  }

  accessToken(entry: ServerEntry): Promise<string> {
    return this.auth(entry).tokenManager().getAccessToken();
  }

  async refresh(entry: ServerEntry): Promise<TokenSet> {
    const manager = this.auth(entry).tokenManager();
    return manager.forceRefresh((await this.host.tokens.get(entry.id))?.accessToken);
  }

  /** Lists tools with the session's token; never prompts (a needed sign-in is an error). */
  async listTools(entry: ServerEntry): Promise<Tool[]> {
    const client = await connectToServer(this.auth(entry));
    try {
      return await listAllTools(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  importToken(entry: ServerEntry, bundle: string): Promise<TokenSet> {
    return this.auth(entry).importBundle(bundle);
  }

  /**
   * Forgets the registration at the server's AS and the secret or key kept for this entry's client, and
   * replaces the entry's DPoP key at that AS (ServerAuth.resetClientRegistration).
   */
  async resetClientRegistration(entry: ServerEntry): Promise<void> {
    await this.auth(entry).resetClientRegistration();
    await this.deleteClientCredentials(entry);
  }

  /**
   * Remove Server, after the sign-out: what the entry kept besides its tokens (its DPoP keys at `issuers` and at
   * the issuers this window knows of, its client secret and private key). Nothing is sent anywhere.
   */
  async forget(entry: ServerEntry, issuers: readonly string[]): Promise<void> {
    await this.auth(entry).forgetKeys(issuers);
    await this.deleteClientCredentials(entry);
    this.auths.delete(entry.id);
  }

  /** The client secret and private key kept for the entry's pre-registered client. */
  private async deleteClientCredentials(entry: ServerEntry): Promise<void> {
    await this.host.secrets.delete(SECRET_KEYS.clientSecret(entry.id));
    await this.host.secrets.delete(SECRET_KEYS.privateKey(entry.id));
  }

  /** The gateway route for an http server: VS Code talks to it, it talks to the server with fresh tokens. */
  async gatewayRoute(entry: ServerEntry): Promise<{ url: string; headers: Record<string, string> }> {
    const gateway = await (this.gateway ??= TokenGateway.start({
      logger: this.host.logger,
      signInHint: (id) => `run "MCP OAuth: Sign In…" and pick ${id}`,
      onSignInRequired: (id) => {
        const routed = this.routes.get(id);
        if (routed) this.host.onSignInRequired?.(routed);
      },
    }));
    this.routes.set(entry.id, entry);
    const auth = this.auth(entry);
    const tokens = tokenManagerSource(
      auth.tokenManager(),
      (challenge) => this.host.stepUp(entry, challenge),
      (tokens) => auth.dpopProver(tokens),
    );
    const route = gateway.register({ id: entry.id, upstreamUrl: entry.url, tokens });
    return { url: route.url, headers: { [gateway.keyHeader]: gateway.key } };
  }

  /**
   * SEP-2352: whether the server now names another authorization server than its session's (asked after the
   * gateway met a 401 that a refresh did not fix, never on a plain reconnect).
   */
  authorizationServerMove(entry: ServerEntry): Promise<AuthorizationServerMove | undefined> {
    return this.auth(entry).authorizationServerMove();
  }

  async dispose(): Promise<void> {
    const gateway = this.gateway;
    this.gateway = undefined;
    await (await gateway)?.close();
  }

  private environment(entry: ServerEntry): AuthEnvironment {
    const settings = this.host.settings();
    return {
      http: { ...defaultHttpPolicy(), timeoutMs: settings.timeoutMs },
      now: Date.now,
      random: cryptoRandom,
      logger: this.host.logger,
      tokens: this.host.tokens,
      clients: this.clients,
      dpopKeys: this.dpopKeys,
      refreshBeforeMs: settings.refreshBeforeMs,
      credentials: this.credentialStore(entry),
      clientInUse: async (issuer, clientId) =>
        Object.values(this.host.sessions()).some((s) => s.issuer === issuer && s.clientId === clientId),
      ...(this.idp ? { identityProvider: this.idp.provider } : {}),
      ...(this.host.readTextFile ? { readTextFile: this.host.readTextFile } : {}),
    };
  }

  /** The IdP client's secret, in SecretStorage under the IdP and client; asked for in a sign-in when missing. */
  private identityProviderCredentials(options: EnterpriseIdpOptions): CredentialStore {
    const secrets = this.host.secrets;
    const key = SECRET_KEYS.identityProviderSecret(options.issuer, options.clientId);
    return {
      async lookup(registration): Promise<ClientCredentials> {
        if (registration.clientId !== options.clientId) return {};
        const secret = await secrets.get(key);
        return secret ? { clientSecret: secret } : {};
      },
      async save(_registration, answer) {
        if ('clientSecret' in answer) await secrets.store(key, answer.clientSecret);
      },
    };
  }

  /** A pre-registered client's secret or key, in SecretStorage under the entry's id. */
  private credentialStore(entry: ServerEntry): CredentialStore {
    const secrets = this.host.secrets;
    return {
      async lookup(registration): Promise<ClientCredentials> {
        if (!entry.auth.clientId || registration.clientId !== entry.auth.clientId) return {};
        if (registration.tokenEndpointAuthMethod === 'private_key_jwt') {
          const pem = await secrets.get(SECRET_KEYS.privateKey(entry.id));
          return pem ? { privateKey: await loadPrivateKey(pem) } : {};
        }
        const secret = await secrets.get(SECRET_KEYS.clientSecret(entry.id));
        return secret ? { clientSecret: secret } : {};
      },
      async save(_registration, answer) {
        if ('privateKeyPem' in answer) await secrets.store(SECRET_KEYS.privateKey(entry.id), answer.privateKeyPem);
        else await secrets.store(SECRET_KEYS.clientSecret(entry.id), answer.clientSecret);
      },
    };
  }
}
