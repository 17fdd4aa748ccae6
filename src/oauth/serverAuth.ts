import type { AuthEnvironment, AuthorizationUserAgent } from './authEnvironment';
import type { AuthOptions } from './authOptions';
import { createAuthorizationRequest, redeemAuthorizationCallback } from './authorizationCode';
import type { BearerChallenge } from './challenge';
import type { ClientCredentials } from './clientAuth';
import { resolveClient, type ClientRegistration } from './clientRegistration';
import { discover, type DiscoveredServer } from './discovery';
import { CancelledError } from './errors';
import { policyFetch, type FetchLike } from './http';
import { refreshTokens } from './refresh';
import { Scopes, selectScopes } from './scopes';
import { TokenManager, type TokenStatus } from './tokenManager';
import type { TokenSet } from './tokenSet';
import { canonicalServerUrl, describeUrl } from './url';

export interface SignInOptions {
  readonly agent: AuthorizationUserAgent;
  /** The challenge that prompted the sign-in (its `scope` and `resource_metadata`). */
  readonly challenge?: BearerChallenge;
  /** Extra scopes to hold on top of the selected ones (scope step-up). */
  readonly extraScopes?: readonly string[];
  readonly signal?: AbortSignal;
}

/**
 * OAuth for one MCP server and account: discovery (once, then cached), client registration, sign-in,
 * and a token manager for the session. Knows nothing of VS Code or the CLI.
 */
export class ServerAuth {
  readonly serverUrl: string;
  readonly tokenKey: string;
  private discovered: DiscoveredServer | undefined;
  private manager: TokenManager | undefined;

  constructor(
    private readonly env: AuthEnvironment,
    serverUrl: string,
    readonly options: AuthOptions = {},
    tokenKey?: string,
    private readonly onStatus?: (status: TokenStatus) => void,
  ) {
    this.serverUrl = canonicalServerUrl(serverUrl);
    this.tokenKey = tokenKey ?? this.serverUrl;
  }

  private fetch(signal?: AbortSignal): FetchLike {
    return policyFetch(this.env.http, signal);
  }

  /** The server's authorization server; discovered on first use, then served from memory. */
  async discover(challenge?: BearerChallenge, signal?: AbortSignal): Promise<DiscoveredServer> {
    if (this.discovered && !challenge?.resourceMetadataUrl) return this.discovered;
    const found = await discover(this.fetch(signal), this.serverUrl, this.options, challenge);
    this.env.logger.info(`[discovery] [${describeUrl(this.serverUrl)}] authorization server ${describeUrl(found.authServer.issuer)} (via ${found.via})`);
    this.discovered = found;
    return found;
  }

  /** The RFC 8707 resource to send: the override, nothing when turned off, else the metadata's or the URL. */
  resource(found: DiscoveredServer): string | undefined {
    if (this.options.resource === false) return undefined;
    return this.options.resource ?? found.resourceMetadata?.resource ?? this.serverUrl;
  }

  /** Interactive authorization-code sign-in with PKCE. Stores the tokens and returns them. */
  async signIn(options: SignInOptions): Promise<TokenSet> {
    const { agent, challenge, signal } = options;
    const found = await this.discover(challenge, signal);
    const fetch = this.fetch(signal);
    const as = found.authServer;
    const client = await resolveClient(fetch, as, this.options, { redirectUri: agent.redirectUri, grantTypes: ['authorization_code', 'refresh_token'] },
      this.env.clients, this.env.now(), await this.hasSecret());
    const previous = await this.env.tokens.get(this.tokenKey);
    let scopes = selectScopes({
      configured: this.options.scopes, challenged: challenge?.scopes, resourceSupported: found.resourceMetadata?.scopesSupported,
      authServerSupported: as.scopes_supported, wantRefresh: true,
    });
    if (options.extraScopes?.length) scopes = scopes.union(options.extraScopes).union(previous?.issuer === as.issuer ? previous.scopes : []);
    const resource = this.resource(found);
    const pending = await createAuthorizationRequest({ as, client, redirectUri: agent.redirectUri, scopes, random: this.env.random, ...(resource ? { resource } : {}) });
    this.env.logger.info(`[signIn] [${describeUrl(this.serverUrl)}] authorization request (client ${client.method}, scopes ${JSON.stringify(scopes.toString())})`);
    if (signal?.aborted) throw new CancelledError();
    const callback = await agent.authorize(pending.url, pending.state, signal);
    const tokens = await redeemAuthorizationCallback(fetch, as, client, await this.credentials(client), pending, callback, this.env.now);
    await this.env.tokens.set(this.tokenKey, tokens);
    this.env.logger.info(`[signIn] [${describeUrl(this.serverUrl)}] signed in (scopes ${JSON.stringify(Scopes.of(tokens.scopes).toString())}, refresh token ${tokens.refreshToken ? 'yes' : 'no'})`);
    return tokens;
  }

  /** The session's token manager; refreshes need the stored tokens and the client, never discovery. */
  tokenManager(): TokenManager {
    this.manager ??= new TokenManager({
      key: this.tokenKey,
      store: this.env.tokens,
      now: this.env.now,
      refreshBeforeMs: this.env.refreshBeforeMs,
      logger: this.env.logger,
      ...(this.onStatus ? { onStatus: this.onStatus } : {}),
      refresh: async (tokens) => {
        const client = await this.clientFor(tokens);
        return refreshTokens(this.fetch(), tokens, client, await this.credentials(client), this.env.now);
      },
    });
    return this.manager;
  }

  /** Forgets the stored registration at this server's AS, so the next sign-in registers again. */
  async resetClientRegistration(): Promise<void> {
    const found = await this.discover();
    await this.env.clients.delete(found.authServer.issuer);
  }

  private async clientFor(tokens: TokenSet): Promise<ClientRegistration> {
    if (this.options.clientId === tokens.clientId) {
      return { issuer: tokens.issuer, clientId: tokens.clientId, method: 'preregistered', redirectUris: [], grantTypes: ['refresh_token'], registeredAt: 0,
        tokenEndpointAuthMethod: this.options.tokenEndpointAuthMethod ?? ((await this.hasSecret()) ? 'client_secret_basic' : 'none') };
    }
    const stored = await this.env.clients.get(tokens.issuer);
    if (stored && stored.clientId === tokens.clientId) return stored;
    // A CIMD client or a registration that was reset: a public client is all a refresh needs.
    return { issuer: tokens.issuer, clientId: tokens.clientId, method: 'cimd', redirectUris: [], grantTypes: ['refresh_token'], registeredAt: 0, tokenEndpointAuthMethod: 'none' };
  }

  private async credentials(client: ClientRegistration): Promise<ClientCredentials> {
    return (await this.env.credentials?.(client)) ?? {};
  }

  private async hasSecret(): Promise<boolean> {
    if (!this.options.clientId || !this.env.credentials) return false;
    const probe: ClientRegistration = { issuer: '', clientId: this.options.clientId, method: 'preregistered', redirectUris: [], grantTypes: [], registeredAt: 0, tokenEndpointAuthMethod: 'client_secret_basic' };
    const credentials = await this.env.credentials(probe);
    return !!credentials.clientSecret;
  }
}
