import { decodeJwt } from 'jose';
import type { ClientCredentials } from '../client/clientAuth';
import { missingCredential, type CredentialStore } from '../client/credentials';
import { loadPrivateKey } from '../client/privateKey';
import type { ClientRegistration } from '../client/registration';
import {
  authServerMetadataUrls,
  fetchAuthServerMetadata,
  sameIssuer,
  type AuthServerMetadata,
} from '../discovery/authServerMetadata';
import { InvalidResponseError, McpOAuthError } from '../errors';
import { sessionAuthServer, type GrantContext } from '../grants/grantContext';
import { refreshTokens } from '../grants/refresh';
import { revokeTokens } from '../grants/revocation';
import { requestIdJag, TOKEN_EXCHANGE_GRANT } from '../grants/tokenExchange';
import { holdSecrets } from '../http/liveSecrets';
import type { Logger } from '../http/logger';
import { policyFetch, type FetchLike, type HttpPolicy } from '../http/policyFetch';
import type { RandomBytes } from '../http/random';
import { serverHttpPolicy } from '../http/serverPolicy';
import { canonicalServerUrl, describeUrl, secureUrl } from '../http/url';
import { Scopes } from '../tokens/scopes';
import { TokenManager } from '../tokens/tokenManager';
import type { TokenSet } from '../tokens/tokenSet';
import type { TokenStore } from '../tokens/tokenStore';
import type { EnterpriseIdpOptions } from './authOptions';
import type { FlowPlan } from './flowPlan';
import type { SignInHost } from './host';
import type { SignOutResult } from './serverAuth';
import { runFlows, type AssertionRequest, type FlowContext } from './signInFlows';

/** The IdP as the core takes it: the settings' `mcpOAuth.enterpriseIdp` (or the CLI's `--idp`), and more. */
export interface IdentityProviderConfig extends EnterpriseIdpOptions {
  /**
   * How the client authenticates at the IdP. By default what the IdP's metadata offers, `client_secret_basic`
   * first (RFC 8414's default). The client is always a confidential one: the profile requires an
   * authenticated token exchange (SEP-990 §7.7).
   */
  readonly tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /**
   * An ID token obtained elsewhere, kept in this file (the CLI's `--id-token-file`): read again for every
   * exchange, with no sign-in and no session of its own.
   */
  readonly idTokenFile?: string;
}

/** What the IdP takes from the host (a subset of {@link AuthEnvironment}, shared by every enterprise server). */
export interface IdentityProviderEnvironment {
  readonly http: HttpPolicy;
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly logger: Logger;
  /** Where the IdP session (its ID token and refresh token) is kept, under {@link IdentityProvider.key}. */
  readonly tokens: TokenStore;
  /** The IdP client's secret: looked up (never prompting), and kept when the user gives it in a sign-in. */
  readonly credentials?: CredentialStore;
  /** The ID token is renewed this long before it expires. */
  readonly refreshBeforeMs: number;
  /** Reads a file for the host (`idTokenFile`): the core never touches the file system itself. */
  readonly readTextFile?: (path: string) => Promise<string>;
}

/** The default key of the IdP session in a token store: one per issuer. */
export function identityProviderKey(issuer: string): string {
  return `identity-provider:${issuer}`;
}

/** The redirect path of the IdP sign-in: the pre-registered client's (the IdP admin registers it). */
const REDIRECT_PATH = '/callback';

/**
 * The company's identity provider for enterprise-managed authorization (SEP-990), one per host and shared
 * by every `enterpriseManaged` server: the user signs in there once (OpenID Connect, authorization code with
 * PKCE, through the host's receivers), and each server's tokens come from a token exchange of that ID token
 * for an ID-JAG. The session (ID token, refresh token) is kept in the host's token store; the ID token is
 * renewed with the refresh token before it expires, silently, one renewal for all servers at once (its
 * own {@link TokenManager}: single-flight, re-read first, rotation across processes). Only a session that
 * cannot be renewed needs the user: a background caller then fails with `not_signed_in` naming the IdP, and
 * an interactive one signs in, once for all the servers waiting.
 */
export class IdentityProvider {
  readonly issuer: string;
  private readonly manager: TokenManager;
  private metadataLoad: Promise<AuthServerMetadata> | undefined;
  private signingIn: Promise<TokenSet> | undefined;
  private http: HttpPolicy | undefined;

  constructor(
    readonly config: IdentityProviderConfig,
    private readonly env: IdentityProviderEnvironment,
    /** The session's key in the token store (the extension uses one of its own, for the Accounts menu). */
    readonly key: string = identityProviderKey(config.issuer),
  ) {
    this.issuer = config.issuer;
    this.manager = new TokenManager({
      key,
      serverUrl: canonicalServerUrl(config.issuer),
      store: this.sessionStore(),
      now: env.now,
      refreshBeforeMs: env.refreshBeforeMs,
      logger: env.logger,
      refresh: (tokens) => this.renew(tokens),
    });
  }

  /** "the identity provider login.example.com", for messages. */
  get name(): string {
    return `the identity provider ${hostOf(this.issuer)}`;
  }

  /** The stored session, when it is one of this IdP and client (another configuration's is not used). */
  async session(): Promise<TokenSet | undefined> {
    return this.matching(await this.env.tokens.get(this.key));
  }

  /**
   * An ID-JAG for `request.audience` (the MCP server's authorization server), from a token exchange of the
   * user's ID token. With a `host` (an interactive sign-in) a session that cannot be renewed leads to a
   * sign-in at the IdP and a missing client secret is asked for; without one (a background renewal) nothing
   * prompts: those are `not_signed_in` naming the IdP.
   */
  async assertion(request: AssertionRequest, host?: SignInHost): Promise<string> {
    const as = await this.metadata(host?.signal);
    const client = this.client(as);
    // The client's secret first: a sign-in that cannot end in an exchange never sends the user to the browser.
    const credentials = host ? await this.interactiveCredentials(client, host) : await this.storedCredentials(client);
    const idToken = await this.idToken(host, credentials);
    const release = holdSecrets([idToken]); // one read from a file is held nowhere else
    try {
      const grant: GrantContext = { fetch: this.fetch(host?.signal), as, client, credentials, now: this.env.now };
      const assertion = await requestIdJag(grant, { idToken, ...request });
      this.env.logger.info(
        `[idp] [${describeUrl(this.issuer)}] ID-JAG for ${describeUrl(request.audience)} (scopes ${JSON.stringify(request.scopes.toString())})`,
      );
      return assertion;
    } finally {
      release();
    }
  }

  /**
   * Signs in to the IdP in the browser, through `host`, unless its session is still good (somebody renewed it
   * meanwhile). Concurrent callers (several enterprise servers signing in at once) share one sign-in, through
   * the first caller's host. `credentials`: the IdP client's, when the caller has them already.
   */
  signIn(host: SignInHost, options: { readonly credentials?: ClientCredentials } = {}): Promise<TokenSet> {
    this.signingIn ??= (async () => {
      const current = await this.usableSession();
      return current ?? this.interactiveSignIn(host, options.credentials);
    })().finally(() => {
      this.signingIn = undefined;
    });
    return this.signingIn;
  }

  /** Revokes the IdP refresh token (RFC 7009) where the IdP allows it, then forgets the session. */
  async signOut(): Promise<SignOutResult> {
    const tokens = await this.session().catch(() => undefined);
    if (!tokens) {
      await this.env.tokens.delete(this.key);
      return { wasSignedIn: false, refreshToken: 'none', accessToken: 'none' };
    }
    const as = await this.metadata().catch(() => sessionAuthServer(tokens));
    const client = this.client(as);
    const credentials = await this.storedCredentials(client).catch((): ClientCredentials => ({}));
    const result = await revokeTokens(
      { fetch: this.fetch(), as: sessionAuthServer(tokens), client, credentials, now: this.env.now },
      tokens,
    );
    await this.env.tokens.delete(this.key);
    this.env.logger.info(
      `[idp] [${describeUrl(this.issuer)}] signed out (refresh token ${result.refreshToken}); deleted locally`,
    );
    return { wasSignedIn: true, ...result };
  }

  /** The user's ID token: from the file, or the session's, renewed when needed (see {@link assertion}). */
  private async idToken(host: SignInHost | undefined, credentials: ClientCredentials): Promise<string> {
    if (this.config.idTokenFile !== undefined) return this.readIdTokenFile(this.config.idTokenFile);
    try {
      return idTokenOf(await this.manager.getTokens());
    } catch (error) {
      if (!(error instanceof McpOAuthError && error.code === 'not_signed_in')) throw error;
      if (!host) throw this.notSignedIn(error);
      return idTokenOf(await this.signIn(host, { credentials }));
    }
  }

  /** The stored session if its ID token is good for at least the renewal margin. */
  private async usableSession(): Promise<TokenSet | undefined> {
    const tokens = this.matching(await this.env.tokens.get(this.key, { fresh: true }));
    return tokens?.idToken &&
      tokens.expiresAt !== undefined &&
      tokens.expiresAt - this.env.now() > this.env.refreshBeforeMs
      ? tokens
      : undefined;
  }

  private async interactiveSignIn(host: SignInHost, given?: ClientCredentials): Promise<TokenSet> {
    const as = await this.metadata(host.signal);
    if (!as.authorization_endpoint) {
      throw new McpOAuthError(
        'unsupported_flow',
        `${capitalized(this.name)} has no authorization endpoint, so nobody can sign in there; check mcpOAuth.enterpriseIdp`,
      );
    }
    // Asked for (or found missing) before the browser opens, not after the user signed in.
    const credentials = given ?? (await this.interactiveCredentials(this.client(as), host));
    host.progress?.(`Sign in to ${this.name} in your browser…`);
    const plan: FlowPlan = {
      flows: host.receivers.map((receiver) => ({ grant: 'authorizationCode', receiver })),
      fallbacks: host.askRedirectUrl ? ['pasteRedirect'] : [],
    };
    return runFlows(this.flowContext(as, host, credentials), plan);
  }

  /** The sign-in flows' context for the IdP: its pre-registered client, its scopes, its session as the store. */
  private flowContext(as: AuthServerMetadata, host: SignInHost, credentials: ClientCredentials): FlowContext {
    const scopes = this.scopes(as);
    const client = async (needs?: { redirectUri?: string }) => ({
      ...this.client(as),
      redirectUris: needs?.redirectUri ? [needs.redirectUri] : [],
    });
    return {
      host,
      as,
      scopes,
      machineScopes: scopes,
      resource: undefined,
      fetch: this.fetch(host.signal),
      serverUrl: this.issuer,
      logger: this.env.logger,
      now: this.env.now,
      random: this.env.random,
      redirect: async () => ({ path: REDIRECT_PATH, fixedPort: false }),
      client,
      preregisteredClient: () => client(),
      replaceRegistration: async () => undefined,
      credentials: async () => credentials,
      store: (tokens) => this.store(tokens),
    };
  }

  /** `openid` and the configured scopes (by default `email` and `profile`), and `offline_access` where listed. */
  private scopes(as: AuthServerMetadata): Scopes {
    const scopes = Scopes.of(['openid', ...(this.config.scopes ?? ['email', 'profile'])]);
    return as.scopes_supported?.includes('offline_access') ? scopes.union(['offline_access']) : scopes;
  }

  /** Keeps a sign-in's tokens as the IdP session: it is good for as long as its ID token is. */
  private async store(tokens: TokenSet): Promise<TokenSet> {
    const session = this.asSession(tokens);
    await this.env.tokens.set(this.key, session);
    this.env.logger.info(
      `[idp] [${describeUrl(this.issuer)}] signed in (refresh token ${session.refreshToken ? 'yes' : 'no'})`,
    );
    return session;
  }

  /** Renews the ID token with the IdP refresh token: never prompts. */
  private async renew(tokens: TokenSet): Promise<TokenSet> {
    if (!tokens.refreshToken) throw this.notSignedIn();
    const as = await this.metadata();
    const client = this.client(as);
    const credentials = await this.storedCredentials(client);
    const renewed = this.asSession(
      await refreshTokens({ fetch: this.fetch(), as, client, credentials, now: this.env.now }, tokens),
    );
    if (renewed.expiresAt! - this.env.now() <= this.env.refreshBeforeMs) {
      throw new McpOAuthError(
        'not_signed_in',
        `${capitalized(this.name)} renewed the session without a new ID token; sign in again`,
      );
    }
    return renewed;
  }

  /** The session as stored: bound to the IdP, and expiring with its ID token (the one token it is used for). */
  private asSession(tokens: TokenSet): TokenSet {
    if (!tokens.idToken) {
      throw new InvalidResponseError(
        'invalid_token_response',
        `${capitalized(this.name)} answered without an ID token; its client must be allowed OpenID Connect (scope openid)`,
      );
    }
    let exp: unknown;
    try {
      exp = decodeJwt(tokens.idToken).exp;
    } catch {
      exp = undefined;
    }
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      throw new InvalidResponseError(
        'invalid_token_response',
        `${capitalized(this.name)} answered with an ID token that has no "exp"`,
      );
    }
    return {
      ...tokens,
      expiresAt: exp * 1000,
      serverUrl: canonicalServerUrl(this.issuer),
      registration: 'preregistered',
    };
  }

  /** The IdP's metadata (OpenID Connect or RFC 8414 discovery, exact issuer), fetched once. */
  private metadata(signal?: AbortSignal): Promise<AuthServerMetadata> {
    this.metadataLoad ??= (async () => {
      const found = await fetchAuthServerMetadata(this.fetch(signal), authServerMetadataUrls(this.issuer), this.issuer);
      if (!found) {
        throw new McpOAuthError(
          'metadata_not_found',
          `No OpenID Connect or OAuth metadata found for ${this.name} (${describeUrl(this.issuer)}); check mcpOAuth.enterpriseIdp`,
        );
      }
      return found;
    })();
    const loading = this.metadataLoad;
    loading.catch(() => {
      if (this.metadataLoad === loading) this.metadataLoad = undefined; // tried again next time
    });
    return loading;
  }

  /** The MCP client as registered at the IdP: always confidential (see {@link IdentityProviderConfig}). */
  private client(as: AuthServerMetadata): ClientRegistration {
    const offered = as.token_endpoint_auth_methods_supported;
    const method =
      this.config.tokenEndpointAuthMethod ??
      (offered && !offered.includes('client_secret_basic') && offered.includes('client_secret_post')
        ? 'client_secret_post'
        : 'client_secret_basic');
    return {
      issuer: this.issuer,
      clientId: this.config.clientId,
      method: 'preregistered',
      redirectUris: [],
      grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
      registeredAt: 0,
      tokenEndpointAuthMethod: method,
    };
  }

  /** The stored secret of the IdP client; a background path that finds none cannot go on. */
  private async storedCredentials(client: ClientRegistration): Promise<ClientCredentials> {
    const credentials = (await this.env.credentials?.lookup(client)) ?? {};
    if (missingCredential(client, credentials)) {
      throw new McpOAuthError(
        'not_signed_in',
        `The client secret of ${JSON.stringify(client.clientId)} at ${this.name} is not stored, so no token can be exchanged there; sign in again to provide it`,
      );
    }
    return credentials;
  }

  /** In a sign-in: the stored secret, else asked of the user once and kept. */
  private async interactiveCredentials(client: ClientRegistration, host: SignInHost): Promise<ClientCredentials> {
    const stored = (await this.env.credentials?.lookup(client)) ?? {};
    const method = missingCredential(client, stored);
    if (!method) return stored;
    const answer = host.askCredentials
      ? await host.askCredentials({ clientId: client.clientId, method, identityProvider: this.issuer })
      : undefined;
    if (!answer) {
      throw new McpOAuthError(
        'invalid_config',
        `The client ${JSON.stringify(client.clientId)} at ${this.name} needs its client secret and none was given; provide it and sign in again`,
      );
    }
    const given: ClientCredentials =
      'privateKeyPem' in answer
        ? { privateKey: await loadPrivateKey(answer.privateKeyPem) }
        : { clientSecret: answer.clientSecret };
    await this.env.credentials?.save?.(client, answer);
    return given;
  }

  /** The ID token in `file`, read again now (whoever writes it may have replaced it). */
  private async readIdTokenFile(file: string): Promise<string> {
    if (!this.env.readTextFile) {
      throw new McpOAuthError('invalid_config', 'This host cannot read an ID token file');
    }
    let text: string;
    try {
      text = await this.env.readTextFile(file);
    } catch (error) {
      throw new McpOAuthError('invalid_config', `Cannot read the ID token file ${JSON.stringify(file)}`, {
        cause: error,
      });
    }
    const idToken = text.trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(idToken)) {
      throw new McpOAuthError('invalid_config', `The ID token file ${JSON.stringify(file)} does not hold a JWT`);
    }
    return idToken;
  }

  /** The token store as this IdP's session sees it: a set of another issuer or client is no session of it. */
  private sessionStore(): TokenStore {
    const { tokens } = this.env;
    const store: TokenStore = {
      get: async (key, options) => this.matching(await tokens.get(key, options)),
      set: (key, value) => tokens.set(key, value),
      delete: (key) => tokens.delete(key),
    };
    if (tokens.update) {
      const update = tokens.update.bind(tokens);
      store.update = (key, fn) =>
        update(key, async (current) => {
          const mine = this.matching(current);
          const next = await fn(mine);
          return next === mine ? current : next;
        });
    }
    return store;
  }

  private matching(tokens: TokenSet | undefined): TokenSet | undefined {
    return tokens && sameIssuer(tokens.issuer, this.issuer) && tokens.clientId === this.config.clientId
      ? tokens
      : undefined;
  }

  /** Why a background path cannot go on: the IdP session is gone or expired, and only the user can renew it. */
  private notSignedIn(cause?: unknown): McpOAuthError {
    return new McpOAuthError(
      'not_signed_in',
      `The sign-in to ${this.name} has expired or was never made, so no token can be exchanged there; sign in again to renew it`,
      cause === undefined ? undefined : { cause },
    );
  }

  private fetch(signal?: AbortSignal): FetchLike {
    // The IdP is the user's choice (the settings name it): the address bound is its own.
    this.http ??= serverHttpPolicy(
      this.env.http,
      secureUrl(this.issuer, 'the identity provider issuer (mcpOAuth.enterpriseIdp)').href,
      [this.issuer],
    );
    return policyFetch(this.http, signal);
  }
}

function idTokenOf(tokens: TokenSet): string {
  if (!tokens.idToken) throw new McpOAuthError('not_signed_in', 'The identity provider session holds no ID token');
  return tokens.idToken;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
