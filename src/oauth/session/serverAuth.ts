import { createHash } from 'node:crypto';
import type { ClientCredentials } from '../client/clientAuth';
import { missingCredential } from '../client/credentials';
import { loadPrivateKey } from '../client/privateKey';
import { clientKind } from '../client/clientKind';
import { resolveClient, type ClientNeeds, type ClientRegistration } from '../client/registration';
import type { BearerChallenge } from '../discovery/challenge';
import { configuredDiscoveryUrls, discover, type DiscoveredServer } from '../discovery/discover';
import { sameIssuer } from '../discovery/authServerMetadata';
import { DpopKeyring } from '../dpop/dpopKeyring';
import { decideDpop } from '../dpop/dpopPolicy';
import type { DpopProver } from '../dpop/dpopProver';
import { CancelledError, InvalidResponseError, McpOAuthError } from '../errors';
import { sessionAuthServer, type GrantContext } from '../grants/grantContext';
import { refreshTokens } from '../grants/refresh';
import type { RevocationResult } from '../grants/revocation';
import { clientCredentialsGrant } from '../grants/clientCredentials';
import { idJagGrant, workloadClient, workloadIdentityGrant } from '../grants/jwtBearer';
import { holdSecrets } from '../http/liveSecrets';
import { policyFetch, type FetchLike, type HttpPolicy } from '../http/policyFetch';
import { serverHttpPolicy } from '../http/serverPolicy';
import { canonicalServerUrl, describeUrl } from '../http/url';
import { Scopes, selectScopes } from '../tokens/scopes';
import { TokenManager, type TokenStatus } from '../tokens/tokenManager';
import { fromBundle } from '../tokens/tokenBundle';
import { isDpopBound, sessionBinding, type TokenSet } from '../tokens/tokenSet';
import type { AuthOptions } from './authOptions';
import type { AuthEnvironment } from './environment';
import { planFlows } from './flowPlan';
import type { SignInHost } from './host';
import type { IdentityProvider } from './identityProvider';
import { SessionReplacement } from './sessionReplacement';
import { runFlows, type FlowContext } from './signInFlows';

export interface SignInRequest {
  /** The challenge that prompted the sign-in (its `scope` and `resource_metadata`). */
  readonly challenge?: BearerChallenge;
  /** Scopes to hold on top of the selected ones: the union with the granted ones is asked. */
  readonly extraScopes?: readonly string[];
  /** The server asked for more scope than was granted (step-up): the host confirms with the user first. */
  readonly stepUp?: boolean;
  /** A flow the user asked for explicitly ("Sign In with Device Code…", `--device`), over the settings. */
  readonly flow?: 'deviceCode' | 'clientCredentials';
}

export interface SignOutResult extends RevocationResult {
  readonly wasSignedIn: boolean;
}

/**
 * OAuth for one MCP server and account: discovery (once, then cached), client registration, the one
 * sign-in entry point (the core plans the flows; the host only talks to the user), sign-out with
 * revocation, and a token manager for the session. Knows nothing of VS Code or the CLI.
 */
export class ServerAuth {
  readonly serverUrl: string;
  readonly tokenKey: string;
  private discovered: DiscoveredServer | undefined;
  private manager: TokenManager | undefined;
  /** The server's HTTP policy, kept: its address bound is resolved once per session (serverPolicy.ts). */
  private http: HttpPolicy | undefined;
  /** The entry's DPoP keys, one per issuer. */
  private readonly dpopKeys: DpopKeyring;
  /** Replacing the entry's session, leaving nothing alive. */
  private readonly replacement: SessionReplacement;

  constructor(
    private readonly env: AuthEnvironment,
    serverUrl: string,
    readonly options: AuthOptions = {},
    tokenKey?: string,
    private readonly onStatus?: (status: TokenStatus) => void,
  ) {
    this.serverUrl = canonicalServerUrl(serverUrl);
    this.tokenKey = tokenKey ?? this.serverUrl;
    this.dpopKeys = new DpopKeyring(
      env.dpopKeys,
      this.tokenKey,
      env.now,
      env.logger,
      `[dpop] [${describeUrl(this.serverUrl)}]`,
    );
    this.replacement = new SessionReplacement({
      env,
      tokenKey: this.tokenKey,
      serverUrl: this.serverUrl,
      fetch: () => this.fetch(),
      sessionGrantContext: (tokens) => this.sessionGrantContext(tokens),
    });
  }

  /**
   * The server's authorization server; discovered on first use, then served from memory. `fresh` asks the
   * server again: after a 401 its metadata may name another authorization server (SEP-2352).
   */
  async discover(challenge?: BearerChallenge, signal?: AbortSignal, fresh = false): Promise<DiscoveredServer> {
    if (this.discovered && !fresh && !challenge?.resourceMetadataUrl) return this.discovered;
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

  /**
   * The one way to sign in, for every host and every flow: discovers, plans the flows from the settings,
   * the metadata and what `host` can do, runs them with their fallbacks, and stores the tokens.
   */
  async signIn(host: SignInHost, request: SignInRequest = {}): Promise<TokenSet> {
    // A sign-in the server asked for (a 401) reads its metadata again: it may have moved to another AS.
    const found = await this.discover(request.challenge, host.signal, !!request.challenge && !request.stepUp);
    const moved = await this.movedFrom(found);
    if (moved?.preregistered) {
      // A pre-registered client belongs to the authorization server it was registered at: its id and
      // credentials are never presented to another one.
      throw new McpOAuthError(
        'invalid_config',
        `${describeUrl(this.serverUrl)} moved from the authorization server ${describeUrl(moved.from)} to ${describeUrl(moved.to)}; the client in auth.clientId was registered at the old one, so it is not used at the new one. Register a client at ${describeUrl(moved.to)} and set auth.clientId to it`,
      );
    }
    if (moved) {
      this.env.logger.info(
        `[discovery] [${describeUrl(this.serverUrl)}] the server moved from the authorization server ${describeUrl(moved.from)} to ${describeUrl(moved.to)}; signing in there`,
      );
      host.progress?.(`The server moved to a new authorization server (${describeUrl(moved.to)}); signing in there…`);
    }
    try {
      if (request.stepUp && host.confirm) {
        const scopes = request.extraScopes ?? request.challenge?.scopes ?? [];
        if (!(await host.confirm({ kind: 'stepUp', scopes })))
          throw new CancelledError('The wider access was not approved.');
      }
      const plan = planFlows({
        options: this.options,
        as: found.authServer,
        receivers: host.receivers,
        canPaste: !!host.askRedirectUrl,
        ...(request.flow ? { requested: request.flow } : {}),
      });
      return await runFlows(await this.flowContext(found, host, request), plan);
    } catch (error) {
      throw this.explainDefaultEndpoints(found, error);
    }
  }

  /**
   * SEP-2352: whether the server's metadata now names another authorization server than the one its stored
   * session came from. Asks the server again (meant for after a 401; never on a plain reconnect).
   */
  async authorizationServerMove(
    challenge?: BearerChallenge,
    signal?: AbortSignal,
  ): Promise<AuthorizationServerMove | undefined> {
    return this.movedFrom(await this.discover(challenge, signal, true));
  }

  /** The move from the stored session's authorization server to `found`'s, if there is one. */
  private async movedFrom(found: DiscoveredServer): Promise<AuthorizationServerMove | undefined> {
    if (this.options.authorizationServer) return undefined; // the settings fix the authorization server
    const session = await this.env.tokens.get(this.tokenKey).catch(() => undefined);
    if (!session || sessionBinding(session, this.serverUrl) !== 'bound') return undefined;
    if (sameIssuer(session.issuer, found.authServer.issuer)) return undefined;
    return {
      from: session.issuer,
      to: found.authServer.issuer,
      preregistered: session.clientId === this.options.clientId,
    };
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
    const result = await this.replacement.signOut(tokens);
    this.env.logger.info(
      `[signOut] [${describeUrl(this.serverUrl)}] refresh token ${result.refreshToken}, access token ${result.accessToken}; deleted locally`,
    );
    return { wasSignedIn: true, ...result };
  }

  /** The session's token manager; renewals need the stored tokens and the client, never discovery. */
  tokenManager(): TokenManager {
    this.manager ??= new TokenManager({
      key: this.tokenKey,
      serverUrl: this.serverUrl,
      store: this.env.tokens,
      now: this.env.now,
      refreshBeforeMs: this.env.refreshBeforeMs,
      logger: this.env.logger,
      ...(this.onStatus ? { onStatus: this.onStatus } : {}),
      refresh: async (tokens) => this.requireDpop(await this.renew(tokens)),
      refuses: (tokens) =>
        this.options.dpop === 'required' && !isDpopBound(tokens)
          ? 'This session holds Bearer tokens and auth.dpop is "required"; sign in again to get DPoP-bound tokens'
          : undefined,
    });
    return this.manager;
  }

  /**
   * Imports a token bundle obtained elsewhere ("sideloading"). The bundle names the authorization server
   * that issued its tokens and where to renew them; both must be what discovery finds for this server, so a
   * hostile bundle can neither point renewals (and a client secret) at an endpoint of its choosing nor slip
   * in another server's tokens. Refused as `invalid_bundle` naming the mismatch, with nothing stored.
   */
  async importBundle(text: string, signal?: AbortSignal): Promise<TokenSet> {
    const tokens = fromBundle(text, this.serverUrl, this.env.now());
    const as = (await this.discover(undefined, signal)).authServer;
    if (!sameIssuer(tokens.issuer, as.issuer)) {
      throw new InvalidResponseError(
        'invalid_bundle',
        `The token bundle's issuer ${describeUrl(tokens.issuer)} is not this server's authorization server (${describeUrl(as.issuer)}); nothing was imported`,
      );
    }
    if (tokens.tokenEndpoint !== as.token_endpoint) {
      throw new InvalidResponseError(
        'invalid_bundle',
        `The token bundle's token endpoint ${describeUrl(tokens.tokenEndpoint)} is not the one this server's authorization server publishes (${describeUrl(as.token_endpoint ?? '')}); nothing was imported`,
      );
    }
    const imported = this.bind(
      {
        ...tokens,
        issuer: as.issuer,
        ...(as.revocation_endpoint ? { revocationEndpoint: as.revocation_endpoint } : {}),
      },
      'imported',
    );
    if (this.options.dpop === 'required') {
      throw new McpOAuthError(
        'dpop_unsupported',
        'auth.dpop is "required", and an imported token bundle holds Bearer tokens (a DPoP-bound session is never exported); sign in instead, or set auth.dpop to "auto"',
      );
    }
    const kept = await this.replacement.keep(imported);
    this.env.logger.info(
      `[import] [${describeUrl(this.serverUrl)}] imported a token bundle (refresh token ${imported.refreshToken ? 'yes' : 'no'})`,
    );
    return kept;
  }

  /**
   * Forgets the stored registration at this server's AS, so the next sign-in registers again, and replaces
   * this entry's DPoP key for that AS: the next sign-in generates a new one (tokens bound to the old key can
   * no longer be used, so the session needs that sign-in).
   */
  async resetClientRegistration(): Promise<void> {
    const found = await this.discover();
    const issuer = found.authServer.issuer;
    const stored = await this.env.clients.get(issuer);
    if (stored) await this.replaceRegistration(stored);
    await this.dpopKeys.delete([issuer]);
  }

  /**
   * The server entry is removed: deletes its DPoP keys at `issuers` (those of its sessions) and at every other
   * issuer it knows of here (the discovered one, the keys it loaded), without a request. Its tokens go with the
   * sign-out; a client registration is kept, since it is the issuer's and may serve other entries.
   */
  async forgetKeys(issuers: readonly string[]): Promise<void> {
    const discovered = this.discovered ? [this.discovered.authServer.issuer] : [];
    await this.dpopKeys.delete([...issuers, ...discovered], { loadedToo: true });
  }

  /**
   * The DPoP prover of a token set bound to a key (RFC 9449), for the requests that present it; `undefined`
   * for Bearer tokens. Never generates a key: when the one the tokens are bound to is gone, only a sign-in
   * helps (`not_signed_in`).
   */
  dpopProver(tokens: TokenSet): Promise<DpopProver | undefined> {
    return this.dpopKeys.forSession(tokens);
  }

  /** When the guessed 2025-03-26 endpoints fail, the real problem is that nothing was discovered. */
  private explainDefaultEndpoints(found: DiscoveredServer, error: unknown): unknown {
    if (
      !found.defaultEndpoints ||
      !(error instanceof McpOAuthError) ||
      error instanceof CancelledError ||
      error.code === 'authorization_denied' ||
      error.code === 'dpop_unsupported'
    )
      return error;
    return new McpOAuthError(
      'metadata_not_found',
      `${describeUrl(this.serverUrl)} publishes no resource metadata and its origin no authorization server metadata; set auth.authorizationServer (or auth.authorizationServerMetadataUrl) to the server's authorization server`,
      { cause: error },
    );
  }

  /** A renewal in the background: never prompts (credentials are looked up, never asked for). */
  private async renew(tokens: TokenSet): Promise<TokenSet> {
    if (tokens.grantType === 'workload_identity') return this.renewWorkload(tokens);
    const client = await this.clientFor(tokens);
    const credentials = await this.storedCredentials(client);
    const missing = missingCredential(client, credentials);
    if (missing) {
      throw new McpOAuthError(
        'not_signed_in',
        `The ${missing === 'private_key_jwt' ? 'private key' : 'client secret'} of the client ${JSON.stringify(client.clientId)} is no longer stored, so the session cannot be renewed; sign in again to provide it`,
      );
    }
    // A DPoP-bound session renews with its key: a public client's refresh token is bound to it (RFC 9449 §5).
    const dpop = await this.dpopProver(tokens);
    const ctx: GrantContext = {
      fetch: this.fetch(),
      as: sessionAuthServer(tokens),
      client,
      credentials,
      now: this.env.now,
      ...(dpop ? { dpop } : {}),
    };
    if (tokens.grantType === 'client_credentials') {
      return this.bind(
        await clientCredentialsGrant(ctx, { scopes: Scopes.of(tokens.scopes), resource: tokens.resource }),
        tokens.registration,
      );
    }
    if (tokens.grantType === 'id_jag') {
      // A new ID-JAG from the IdP session (renewing its ID token if needed, never prompting), redeemed again.
      const request = { audience: tokens.issuer, resource: tokens.resource, scopes: Scopes.of(tokens.scopes) };
      const assertion = await this.identityProvider().assertion(request);
      const release = holdSecrets([assertion]);
      try {
        return this.bind(await idJagGrant(ctx, { assertion, ...request }), tokens.registration);
      } finally {
        release();
      }
    }
    if (!tokens.refreshToken) {
      throw new McpOAuthError(
        'not_signed_in',
        'The access token has expired and there is no refresh token; sign in again',
      );
    }
    return this.bind(await refreshTokens(ctx, tokens), tokens.registration);
  }

  /** Workload identity: the workload JWT in the token file, read again now, as a new grant. No client, no prompt. */
  private async renewWorkload(tokens: TokenSet): Promise<TokenSet> {
    const assertion = await this.workloadToken();
    const as = sessionAuthServer(tokens);
    const dpop = await this.dpopProver(tokens);
    const ctx: GrantContext = {
      fetch: this.fetch(),
      as,
      client: workloadClient(as.issuer, assertion),
      credentials: {},
      now: this.env.now,
      ...(dpop ? { dpop } : {}),
    };
    return this.bind(
      await workloadIdentityGrant(ctx, { assertion, scopes: Scopes.of(tokens.scopes), resource: tokens.resource }),
      'none',
    );
  }

  /** The enterprise IdP the host provides, for `enterpriseManaged`. */
  private identityProvider(): IdentityProvider {
    if (!this.env.identityProvider) {
      throw new McpOAuthError(
        'invalid_config',
        'auth.flow "enterpriseManaged" needs the enterprise identity provider: set mcpOAuth.enterpriseIdp (in the CLI: --enterprise --idp ISSUER --idp-client-id ID)',
      );
    }
    return this.env.identityProvider;
  }

  /** The platform's workload JWT from auth.workloadTokenFile, read now: platforms rotate it. Never shown. */
  private async workloadToken(): Promise<string> {
    const file = this.options.workloadTokenFile;
    if (!file) throw new McpOAuthError('invalid_config', 'auth.flow "workloadIdentity" needs auth.workloadTokenFile');
    if (!this.env.readTextFile)
      throw new McpOAuthError('invalid_config', 'This host cannot read auth.workloadTokenFile');
    let text: string;
    try {
      text = await this.env.readTextFile(file);
    } catch (error) {
      throw new McpOAuthError(
        'invalid_config',
        `Cannot read the workload token file ${JSON.stringify(file)} (auth.workloadTokenFile)`,
        { cause: error },
      );
    }
    const token = text.trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
      throw new McpOAuthError(
        'invalid_config',
        `The workload token file ${JSON.stringify(file)} (auth.workloadTokenFile) does not hold a JWT`,
      );
    }
    return token;
  }

  private async flowContext(found: DiscoveredServer, host: SignInHost, request: SignInRequest): Promise<FlowContext> {
    const as = found.authServer;
    const fetch = this.fetch(host.signal);
    const select = (wantRefresh: boolean) =>
      selectScopes({
        configured: this.options.scopes,
        challenged: request.challenge?.scopes,
        resourceSupported: found.resourceMetadata?.scopesSupported,
        authServerSupported: as.scopes_supported,
        wantRefresh,
      });
    let scopes = select(true);
    if (request.extraScopes) {
      const previous = await this.env.tokens.get(this.tokenKey);
      const kept = previous && sessionBinding(previous, this.serverUrl) === 'bound' && previous.issuer === as.issuer;
      scopes = scopes.union(request.extraScopes).union(kept ? previous.scopes : []);
    }
    const clientContext = async () => ({
      fetch,
      as,
      store: this.env.clients,
      now: this.env.now(),
      hasSecret: await this.hasSecret(),
      replaced: (old: ClientRegistration) => this.replacement.registrationReplaced(old),
    });
    const dpop = await this.signInProver(found, request.challenge);
    return {
      host,
      as,
      scopes,
      // A step-up widens the grants that run again too; none of them brings a refresh token.
      machineScopes: request.extraScopes
        ? Scopes.of(scopes.values.filter((s) => s !== 'offline_access'))
        : select(false),
      ...(dpop ? { dpop } : {}),
      resource: this.resource(found),
      ...(this.options.authorizationParams ? { authorizationParams: this.options.authorizationParams } : {}),
      fetch,
      serverUrl: this.serverUrl,
      logger: this.env.logger,
      now: this.env.now,
      random: this.env.random,
      redirect: async () => {
        const dcr = clientKind(this.options, as) === 'dcr';
        const path = dcr ? `/callback/${issuerKey(as.issuer)}` : '/callback';
        if (this.options.loopbackPort !== undefined) return { path, port: this.options.loopbackPort, fixedPort: true };
        // Not every AS honours RFC 8252's any-port rule for loopback: reuse the port the registration names.
        const port = dcr ? (await this.env.clients.get(as.issuer))?.loopbackPort : undefined;
        return port ? { path, port, fixedPort: false } : { path, fixedPort: false };
      },
      client: async (needs: ClientNeeds) => resolveClient(await clientContext(), this.options, needs),
      preregisteredClient: async (grantTypes, { confidential } = {}) =>
        this.preregisteredClient(as.issuer, grantTypes, undefined, confidential),
      replaceRegistration: (registration) => this.replaceRegistration(registration),
      credentials: (client) => this.interactiveCredentials(client, host),
      store: (tokens, flow, client) => this.store(tokens, flow, client),
      identityAssertion: (assertion) => this.identityProvider().assertion(assertion, host),
      workloadAssertion: () => this.workloadToken(),
    };
  }

  /**
   * The DPoP prover a sign-in binds its tokens to, or `undefined` for Bearer tokens (see {@link decideDpop}):
   * the entry's stored key for this AS when its algorithm still fits, else a new key. `required` refuses here,
   * before anything is sent to the authorization server.
   */
  private async signInProver(
    found: DiscoveredServer,
    challenge: BearerChallenge | undefined,
  ): Promise<DpopProver | undefined> {
    const as = found.authServer;
    const decision = decideDpop(this.options.dpop, {
      serverUrl: this.serverUrl,
      challenge,
      resourceMetadata: found.resourceMetadata,
      as,
      canKeepKeys: this.dpopKeys.canKeepKeys,
    });
    if (!decision.use) {
      this.env.logger.debug(`[dpop] [${describeUrl(this.serverUrl)}] Bearer tokens: ${decision.why}`);
      return undefined;
    }
    return this.dpopKeys.forSignIn(as.issuer, decision.algs);
  }

  /**
   * With `auth.dpop` "required", refuses Bearer tokens from a sign-in and from a renewal alike: nothing is
   * stored. A stored Bearer session (from before the setting said so) is refused by the token manager.
   */
  private requireDpop(tokens: TokenSet): TokenSet {
    if (this.options.dpop === 'required' && !isDpopBound(tokens)) {
      throw new McpOAuthError(
        'dpop_unsupported',
        `auth.dpop is "required", but the authorization server ${describeUrl(tokens.issuer)} issued a Bearer token although the request carried a DPoP proof; nothing was stored. Set auth.dpop to "auto" to use Bearer tokens`,
      );
    }
    return tokens;
  }

  /** Stores a sign-in's tokens, bound to this server URL and the client they were issued to. */
  private async store(tokens: TokenSet, flow: string, client: ClientRegistration): Promise<TokenSet> {
    this.requireDpop(tokens);
    const kept = await this.replacement.keep(this.bind(tokens, flow === 'workloadIdentity' ? 'none' : client.method));
    this.env.logger.info(
      `[signIn] [${describeUrl(this.serverUrl)}] signed in with ${flow} (scopes ${JSON.stringify(Scopes.of(tokens.scopes).toString())}, refresh token ${tokens.refreshToken ? 'yes' : 'no'}, ${isDpopBound(tokens) ? 'DPoP-bound' : 'Bearer'})`,
    );
    return kept;
  }

  /** What a request about a stored session needs: its AS and client as recorded, never discovery. */
  private async sessionGrantContext(tokens: TokenSet): Promise<GrantContext> {
    const client = await this.clientFor(tokens);
    return {
      fetch: this.fetch(),
      as: sessionAuthServer(tokens),
      client,
      credentials: await this.storedCredentials(client).catch((): ClientCredentials => ({})),
      now: this.env.now,
    };
  }

  /** A token set as stored: it records the server it was issued for and how its client was registered. */
  private bind(tokens: TokenSet, registration: TokenSet['registration']): TokenSet {
    return { ...tokens, serverUrl: this.serverUrl, ...(registration ? { registration } : {}) };
  }

  /** Forgets a dynamic registration, and deletes it at the AS (RFC 7592) when no stored session uses it. */
  private async replaceRegistration(registration: ClientRegistration): Promise<void> {
    await this.env.clients.delete(registration.issuer);
    await this.replacement.registrationReplaced(registration);
  }

  /** The settings' client. `confidential`: with no method set, a secret (asked for in a sign-in when not stored). */
  private preregisteredClient(
    issuer: string,
    grantTypes: readonly string[],
    hasSecret?: boolean,
    confidential = false,
  ): Promise<ClientRegistration> {
    if (!this.options.clientId) {
      return Promise.reject(
        new McpOAuthError('invalid_config', 'This flow needs a pre-registered client: set auth.clientId'),
      );
    }
    const make = (secret: boolean): ClientRegistration => ({
      issuer,
      clientId: this.options.clientId!,
      method: 'preregistered',
      redirectUris: [],
      grantTypes,
      registeredAt: 0,
      tokenEndpointAuthMethod:
        this.options.tokenEndpointAuthMethod ?? (secret || confidential ? 'client_secret_basic' : 'none'),
    });
    return hasSecret === undefined ? this.hasSecret().then(make) : Promise.resolve(make(hasSecret));
  }

  private async clientFor(tokens: TokenSet): Promise<ClientRegistration> {
    if (this.options.clientId === tokens.clientId) return this.preregisteredClient(tokens.issuer, ['refresh_token']);
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

  /** The stored secret or key of a pre-registered client; never asks anyone. */
  private async storedCredentials(client: ClientRegistration): Promise<ClientCredentials> {
    if (client.method !== 'preregistered' || !this.env.credentials) return {};
    return this.env.credentials.lookup(client);
  }

  /** In a sign-in: the stored credential, else asked of the user once and kept if it works. */
  private async interactiveCredentials(client: ClientRegistration, host: SignInHost): Promise<ClientCredentials> {
    const stored = await this.storedCredentials(client);
    const method = missingCredential(client, stored);
    if (!method || !host.askCredentials || client.method !== 'preregistered') return stored;
    const answer = await host.askCredentials({ clientId: client.clientId, method });
    if (!answer) {
      throw new McpOAuthError(
        'invalid_config',
        `The client ${JSON.stringify(client.clientId)} needs ${method === 'private_key_jwt' ? 'a private key (private_key_jwt)' : `a client secret (${method})`} and none was given; sign in again and provide it`,
      );
    }
    const given: ClientCredentials =
      'privateKeyPem' in answer
        ? { privateKey: await loadPrivateKey(answer.privateKeyPem) }
        : { clientSecret: answer.clientSecret };
    await this.env.credentials?.save?.(client, answer); // a key that does not load never gets here
    return given;
  }

  private async hasSecret(): Promise<boolean> {
    if (!this.options.clientId || !this.env.credentials) return false;
    const credentials = await this.env.credentials.lookup({
      issuer: '',
      clientId: this.options.clientId,
      method: 'preregistered',
      redirectUris: [],
      grantTypes: [],
      registeredAt: 0,
      tokenEndpointAuthMethod: this.options.tokenEndpointAuthMethod ?? 'client_secret_basic',
    });
    return !!credentials.clientSecret || !!credentials.privateKey;
  }
}

/** The server's metadata names a new authorization server (SEP-2352): its session must be made there. */
export interface AuthorizationServerMove {
  readonly from: string;
  readonly to: string;
  /** The session's client is the pre-registered one of the settings, which belongs to the old server. */
  readonly preregistered: boolean;
}

/** A short, stable name for an authorization server in a redirect path: the first 12 characters of a hash. */
export function issuerKey(issuer: string): string {
  return createHash('sha256').update(issuer).digest('base64url').slice(0, 12);
}
