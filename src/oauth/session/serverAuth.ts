import type { AuthEnvironment, AuthorizationUserAgent } from './environment';
import type { AuthOptions } from './authOptions';
import { createAuthorizationRequest, redeemAuthorizationCallback } from '../grants/authorizationCode';
import type { AuthServerMetadata } from '../discovery/authServerMetadata';
import type { BearerChallenge } from '../discovery/challenge';
import type { ClientCredentials } from '../client/clientAuth';
import { clientCredentialsGrant } from '../grants/clientCredentials';
import { resolveClient, type ClientRegistration } from '../client/registration';
import {
  assertDeviceFlowSupported,
  DEVICE_CODE_GRANT,
  pollDeviceAuthorization,
  startDeviceAuthorization,
  type DeviceAuthorization,
  type DeviceClock,
} from '../grants/deviceCode';
import { configuredDiscoveryUrls, discover, type DiscoveredServer } from '../discovery/discover';
import { CancelledError, McpOAuthError, OAuthResponseError } from '../errors';
import { policyFetch, type FetchLike, type HttpPolicy } from '../http/policyFetch';
import { serverHttpPolicy } from '../http/serverPolicy';
import { refreshTokens } from '../grants/refresh';
import { revokeTokens, type RevocationResult } from '../grants/revocation';
import { Scopes, selectScopes } from '../tokens/scopes';
import { TokenManager, type TokenStatus } from '../tokens/tokenManager';
import type { TokenSet } from '../tokens/tokenSet';
import { canonicalServerUrl, describeUrl } from '../http/url';

export interface SignInRequest {
  /** The challenge that prompted the sign-in (its `scope` and `resource_metadata`). */
  readonly challenge?: BearerChallenge;
  /** Scopes to hold on top of the selected ones (scope step-up): the union with the granted ones is asked. */
  readonly extraScopes?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface DeviceSignInRequest extends SignInRequest {
  /** Shows the user code and verification URI; resolves once shown (polling starts then). */
  readonly present: (device: DeviceAuthorization) => void | Promise<void>;
  readonly clock: DeviceClock;
}

export interface SignOutResult extends RevocationResult {
  readonly wasSignedIn: boolean;
}

/**
 * OAuth for one MCP server and account: discovery (once, then cached), client registration, the sign-in
 * flows, step-up, sign-out with revocation, and a token manager for the session. Knows nothing of VS Code
 * or the CLI.
 */
export class ServerAuth {
  readonly serverUrl: string;
  readonly tokenKey: string;
  private discovered: DiscoveredServer | undefined;
  private manager: TokenManager | undefined;
  /** The server's HTTP policy, kept: its address bound is resolved once per session (serverPolicy.ts). */
  private http: HttpPolicy | undefined;

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

  /** The server's authorization server; discovered on first use, then served from memory. */
  async discover(challenge?: BearerChallenge, signal?: AbortSignal): Promise<DiscoveredServer> {
    if (this.discovered && !challenge?.resourceMetadataUrl) return this.discovered;
    const found = await discover(this.fetch(signal), this.serverUrl, this.options, challenge);
    this.env.logger.info(
      `[discovery] [${describeUrl(this.serverUrl)}] authorization server ${describeUrl(found.authServer.issuer)} (via ${found.via})`,
    );
    this.discovered = found;
    return found;
  }

  /** The RFC 8707 resource to send: the override, nothing when turned off, else the metadata's or the URL. */
  resource(found: DiscoveredServer): string | undefined {
    if (this.options.resource === false) return undefined;
    return this.options.resource ?? found.resourceMetadata?.resource ?? this.serverUrl;
  }

  /** Interactive authorization-code sign-in with PKCE through `agent`. Stores the tokens and returns them. */
  async signIn(agent: AuthorizationUserAgent, request: SignInRequest = {}): Promise<TokenSet> {
    const prepared = await this.prepare(request);
    try {
      return await this.signInPrepared(agent, request, prepared);
    } catch (error) {
      throw this.explainDefaultEndpoints(prepared.found, error);
    }
  }

  private async signInPrepared(
    agent: AuthorizationUserAgent,
    request: SignInRequest,
    prepared: Awaited<ReturnType<ServerAuth['prepare']>>,
  ): Promise<TokenSet> {
    const { found, scopes, resource, fetch } = prepared;
    const as = found.authServer;
    const needs = { redirectUri: agent.redirectUri, grantTypes: ['authorization_code', 'refresh_token'], scopes };
    let client = await this.client(fetch, as, needs);
    try {
      return await this.authorizeWith(agent, fetch, as, client, scopes, resource, request.signal);
    } catch (error) {
      // A registration that limits scopes (some ASes fix them at DCR time) cannot step up: register anew.
      if (!(error instanceof OAuthResponseError && error.error === 'invalid_scope' && client.method === 'dcr'))
        throw error;
      this.env.logger.info(
        `[signIn] [${describeUrl(this.serverUrl)}] the client registration does not allow the scopes; registering again`,
      );
      await this.env.clients.delete(as.issuer);
      client = await this.client(fetch, as, needs);
      return this.authorizeWith(agent, fetch, as, client, scopes, resource, request.signal);
    }
  }

  /** RFC 8628 device authorization: for SSH, Codespaces and machines without a browser redirect. */
  async signInWithDeviceCode(request: DeviceSignInRequest): Promise<TokenSet> {
    const { found, scopes, resource, fetch } = await this.prepare(request);
    const as = found.authServer;
    assertDeviceFlowSupported(as); // before registering a client that could never be used
    const client = await this.client(fetch, as, { grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], scopes });
    const credentials = await this.credentials(client);
    const device = await startDeviceAuthorization(fetch, as, client, credentials, scopes, resource, this.env.now());
    this.env.logger.info(
      `[deviceCode] [${describeUrl(this.serverUrl)}] waiting for approval (expires in ${Math.round((device.expiresAt - this.env.now()) / 1000)} s)`,
    );
    await request.present(device);
    const tokens = await pollDeviceAuthorization(fetch, as, client, credentials, device, request.clock, request.signal);
    return this.store(tokens, 'deviceCode');
  }

  /** Client credentials, for machine-to-machine access. Needs a pre-registered confidential client. */
  async signInWithClientCredentials(request: SignInRequest = {}): Promise<TokenSet> {
    // No refresh token comes with this grant (RFC 6749 §4.4.3): offline_access is not added.
    const { found, scopes, resource, fetch } = await this.prepare(request, false);
    const client = this.preregisteredClient(found.authServer.issuer, ['client_credentials'], await this.hasSecret());
    if (client.tokenEndpointAuthMethod === 'none') {
      throw new McpOAuthError(
        'invalid_config',
        'Client credentials need a confidential client: set auth.clientId and provide its secret or private key',
      );
    }
    const tokens = await clientCredentialsGrant(
      fetch,
      found.authServer,
      client,
      await this.credentials(client),
      scopes,
      resource,
      this.env.now(),
    );
    return this.store(tokens, 'clientCredentials');
  }

  /** Revokes (RFC 7009) where the AS allows it, then deletes locally, even when the AS is down. */
  async signOut(): Promise<SignOutResult> {
    let tokens: TokenSet | undefined;
    try {
      tokens = await this.env.tokens.get(this.tokenKey);
    } catch (error) {
      // A damaged entry cannot be revoked, but signing out is how the user resets it.
      if (!(error instanceof McpOAuthError && error.code === 'storage_error')) throw error;
      await this.env.tokens.delete(this.tokenKey);
      this.env.logger.warn(`[signOut] [${describeUrl(this.serverUrl)}] the stored session was damaged; deleted it`);
      return {
        wasSignedIn: true,
        refreshToken: 'failed',
        accessToken: 'failed',
        reason: 'the stored session was damaged, so nothing could be revoked; it was deleted',
      };
    }
    if (!tokens) return { wasSignedIn: false, refreshToken: 'none', accessToken: 'none' };
    const client = await this.clientFor(tokens);
    const result = await revokeTokens(this.fetch(), tokens, client, await this.credentials(client).catch(() => ({})));
    await this.env.tokens.delete(this.tokenKey);
    this.env.logger.info(
      `[signOut] [${describeUrl(this.serverUrl)}] refresh token ${result.refreshToken}, access token ${result.accessToken}; deleted locally`,
    );
    return { wasSignedIn: true, ...result };
  }

  /** The session's token manager; renewals need the stored tokens and the client, never discovery. */
  tokenManager(): TokenManager {
    this.manager ??= new TokenManager({
      key: this.tokenKey,
      store: this.env.tokens,
      now: this.env.now,
      refreshBeforeMs: this.env.refreshBeforeMs,
      logger: this.env.logger,
      ...(this.onStatus ? { onStatus: this.onStatus } : {}),
      refresh: (tokens) => this.renew(tokens),
    });
    return this.manager;
  }

  /** Forgets the stored registration at this server's AS, so the next sign-in registers again. */
  async resetClientRegistration(): Promise<void> {
    const found = await this.discover();
    await this.env.clients.delete(found.authServer.issuer);
  }

  /** When the guessed 2025-03-26 endpoints fail, the real problem is that nothing was discovered. */
  private explainDefaultEndpoints(found: DiscoveredServer, error: unknown): unknown {
    if (
      !found.defaultEndpoints ||
      !(error instanceof McpOAuthError) ||
      error instanceof CancelledError ||
      error.code === 'authorization_denied'
    )
      return error;
    return new McpOAuthError(
      'metadata_not_found',
      `${describeUrl(this.serverUrl)} publishes no resource metadata and its origin no authorization server metadata; set auth.authorizationServer (or auth.authorizationServerMetadataUrl) to the server's authorization server`,
      { cause: error },
    );
  }

  private async renew(tokens: TokenSet): Promise<TokenSet> {
    const client = await this.clientFor(tokens);
    const credentials = await this.credentials(client);
    if (tokens.grantType === 'client_credentials') {
      const as: AuthServerMetadata = { issuer: tokens.issuer, token_endpoint: tokens.tokenEndpoint };
      return clientCredentialsGrant(
        this.fetch(),
        as,
        client,
        credentials,
        Scopes.of(tokens.scopes),
        tokens.resource,
        this.env.now(),
      );
    }
    if (!tokens.refreshToken)
      throw new McpOAuthError(
        'not_signed_in',
        'The access token has expired and there is no refresh token; sign in again',
      );
    return refreshTokens(this.fetch(), tokens, client, credentials, this.env.now);
  }

  private async prepare(request: SignInRequest, wantRefresh = true) {
    const found = await this.discover(request.challenge, request.signal);
    const fetch = this.fetch(request.signal);
    const as = found.authServer;
    let scopes = selectScopes({
      configured: this.options.scopes,
      challenged: request.challenge?.scopes,
      resourceSupported: found.resourceMetadata?.scopesSupported,
      authServerSupported: as.scopes_supported,
      wantRefresh,
    });
    if (request.extraScopes) {
      const previous = await this.env.tokens.get(this.tokenKey);
      scopes = scopes.union(request.extraScopes).union(previous?.issuer === as.issuer ? previous.scopes : []);
    }
    return { found, scopes, resource: this.resource(found), fetch };
  }

  private async authorizeWith(
    agent: AuthorizationUserAgent,
    fetch: FetchLike,
    as: AuthServerMetadata,
    client: ClientRegistration,
    scopes: Scopes,
    resource: string | undefined,
    signal?: AbortSignal,
  ): Promise<TokenSet> {
    const pending = await createAuthorizationRequest({
      as,
      client,
      redirectUri: agent.redirectUri,
      scopes,
      random: this.env.random,
      ...(resource ? { resource } : {}),
    });
    this.env.logger.info(
      `[signIn] [${describeUrl(this.serverUrl)}] authorization request (client ${client.method}, scopes ${JSON.stringify(scopes.toString())})`,
    );
    if (signal?.aborted) throw new CancelledError();
    const callback = await agent.authorize(pending.url, pending.state, signal);
    const tokens = await redeemAuthorizationCallback(
      fetch,
      as,
      client,
      await this.credentials(client),
      pending,
      callback,
      this.env.now,
    );
    return this.store(tokens, 'authorizationCode');
  }

  private async store(tokens: TokenSet, flow: string): Promise<TokenSet> {
    await this.env.tokens.set(this.tokenKey, tokens);
    this.env.logger.info(
      `[signIn] [${describeUrl(this.serverUrl)}] signed in with ${flow} (scopes ${JSON.stringify(Scopes.of(tokens.scopes).toString())}, refresh token ${tokens.refreshToken ? 'yes' : 'no'})`,
    );
    return tokens;
  }

  private async client(
    fetch: FetchLike,
    as: AuthServerMetadata,
    needs: { redirectUri?: string; grantTypes: string[]; scopes: Scopes },
  ): Promise<ClientRegistration> {
    return resolveClient(fetch, as, this.options, needs, this.env.clients, this.env.now(), await this.hasSecret());
  }

  private preregisteredClient(issuer: string, grantTypes: string[], hasSecret: boolean): ClientRegistration {
    if (!this.options.clientId)
      throw new McpOAuthError('invalid_config', 'This flow needs a pre-registered client: set auth.clientId');
    return {
      issuer,
      clientId: this.options.clientId,
      method: 'preregistered',
      redirectUris: [],
      grantTypes,
      registeredAt: 0,
      tokenEndpointAuthMethod: this.options.tokenEndpointAuthMethod ?? (hasSecret ? 'client_secret_basic' : 'none'),
    };
  }

  private async clientFor(tokens: TokenSet): Promise<ClientRegistration> {
    if (this.options.clientId === tokens.clientId)
      return this.preregisteredClient(tokens.issuer, ['refresh_token'], await this.hasSecret());
    const stored = await this.env.clients.get(tokens.issuer);
    if (stored && stored.clientId === tokens.clientId) return stored;
    // A CIMD client, an imported token, or a registration that was reset: a public client is all a refresh needs.
    return {
      issuer: tokens.issuer,
      clientId: tokens.clientId,
      method: 'cimd',
      redirectUris: [],
      grantTypes: ['refresh_token'],
      registeredAt: 0,
      tokenEndpointAuthMethod: 'none',
    };
  }

  private fetch(signal?: AbortSignal): FetchLike {
    this.http ??= serverHttpPolicy(this.env.http, this.serverUrl, configuredDiscoveryUrls(this.options));
    return policyFetch(this.http, signal);
  }

  private async credentials(client: ClientRegistration): Promise<ClientCredentials> {
    return (await this.env.credentials?.(client)) ?? {};
  }

  private async hasSecret(): Promise<boolean> {
    if (!this.options.clientId || !this.env.credentials) return false;
    const credentials = await this.env.credentials(this.preregisteredClient('', [], true));
    return !!credentials.clientSecret || !!credentials.privateKey;
  }
}
