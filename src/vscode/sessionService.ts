import type * as vscode from 'vscode';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { authorizedFetch } from '../mcp/authorizedFetch';
import { probeChallenge } from '../mcp/challengeProbe';
import { connectMcp, listAllTools } from '../mcp/mcpConnection';
import type { ServerEntry } from './model/serverConfig';
import { TokenGateway, tokenManagerSource } from '../mcp/gateway/tokenGateway';
import type { AuthEnvironment, AuthorizationUserAgent } from '../oauth/session/environment';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import type { ClientCredentials } from '../oauth/client/clientAuth';
import { sleep, type DeviceAuthorization } from '../oauth/grants/deviceCode';
import { McpOAuthError } from '../oauth/errors';
import { defaultHttpPolicy } from '../oauth/http/policyFetch';
import type { Logger } from '../oauth/http/logger';
import { startLoopbackReceiver } from '../oauth/session/loopbackReceiver';
import { loadPrivateKey } from '../oauth/client/privateKey';
import { cryptoRandom } from '../oauth/http/random';
import { ServerAuth, type SignOutResult } from '../oauth/session/serverAuth';
import type { CachedTokenStore } from '../oauth/tokens/cachedTokenStore';
import { fromBundle } from '../oauth/tokens/tokenBundle';
import type { TokenStatus } from '../oauth/tokens/tokenManager';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import { SecretClientStore, SECRET_KEYS } from './secretStores';
import type { UriCallbacks } from './uriCallbacks';

export type SignInFlow = 'authorizationCode' | 'deviceCode' | 'clientCredentials';

/** What a sign-in needs from the UI; implemented with notifications and modals in the light layer. */
export interface SignInUi {
  readonly signal: AbortSignal;
  report(message: string): void;
  /** Opens the authorization URL in the user's browser. */
  openBrowser(url: string): Promise<void>;
  /** Shows the device code (Copy & Open); resolves once shown. */
  presentDeviceCode(device: DeviceAuthorization): Promise<void>;
}

export interface SessionHost {
  readonly secrets: vscode.SecretStorage;
  /** The token sets in SecretStorage, behind the extension's shared in-memory copy. */
  readonly tokens: CachedTokenStore;
  readonly logger: Logger;
  readonly callbacks: UriCallbacks;
  readonly redirectUri: () => Promise<string>;
  /** Turns a loopback URL into the one the user's browser can reach (asExternalUri). */
  readonly externalUrl: (url: string) => Promise<string>;
  readonly settings: () => { timeoutMs: number; refreshBeforeMs: number };
  /** Asks the user for a pre-registered client's secret, once; it is then kept in SecretStorage. */
  readonly askClientSecret: (entry: ServerEntry) => Promise<string | undefined>;
  /** Asks the user for a pre-registered client's private key (PEM text), once; it is then kept in SecretStorage. */
  readonly askPrivateKey: (entry: ServerEntry) => Promise<string | undefined>;
  /** The gateway met a 403 insufficient_scope: ask the user, and re-authorize when they agree. */
  readonly approveStepUp: (entry: ServerEntry, challenge: BearerChallenge) => Promise<boolean>;
  readonly onStatus: (entry: ServerEntry, status: TokenStatus) => void;
}

const CALLBACK_TIMEOUT_MS = 5 * 60_000;

/**
 * The heavy half of the extension, loaded on first use (dist/core.js): the OAuth core, the MCP SDK and the
 * token gateway, wired to VS Code's SecretStorage, URI handler and UI. One ServerAuth per server entry.
 */
export class SessionService {
  private readonly auths = new Map<string, { fingerprint: string; auth: ServerAuth }>();
  private gateway: Promise<TokenGateway> | undefined;
  readonly tokens: CachedTokenStore;
  private readonly clients: SecretClientStore;

  constructor(private readonly host: SessionHost) {
    this.tokens = host.tokens;
    this.clients = new SecretClientStore(host.secrets);
  }

  /** The ServerAuth for an entry; rebuilt when its settings change. */
  auth(entry: ServerEntry): ServerAuth {
    const fingerprint = JSON.stringify(entry);
    const cached = this.auths.get(entry.id);
    if (cached?.fingerprint === fingerprint) return cached.auth;
    const auth = new ServerAuth(this.environment(entry), entry.url, entry.auth, entry.id, (status) =>
      this.host.onStatus(entry, status),
    );
    this.auths.set(entry.id, { fingerprint, auth });
    return auth;
  }

  async signIn(entry: ServerEntry, flow: SignInFlow, ui: SignInUi, extraScopes?: readonly string[]): Promise<TokenSet> {
    const auth = this.auth(entry);
    ui.report('Contacting the server…');
    const challenge = await probeChallenge(globalThis.fetch, auth.serverUrl, ui.signal);
    const request = { ...(challenge ? { challenge } : {}), ...(extraScopes ? { extraScopes } : {}), signal: ui.signal };
    switch (flow) {
      case 'deviceCode':
        return auth.signInWithDeviceCode({
          ...request,
          clock: { now: Date.now, sleep },
          present: (device) => ui.presentDeviceCode(device),
        });
      case 'clientCredentials':
        ui.report('Requesting a token…');
        return auth.signInWithClientCredentials(request);
      case 'authorizationCode':
        return this.authorizationCode(entry, auth, ui, request);
    }
  }

  private async authorizationCode(
    entry: ServerEntry,
    auth: ServerAuth,
    ui: SignInUi,
    request: { challenge?: BearerChallenge; extraScopes?: readonly string[]; signal: AbortSignal },
  ): Promise<TokenSet> {
    const useLoopback = entry.auth.redirect === 'loopback';
    const agent = useLoopback ? await this.loopbackAgent(entry, ui) : await this.uriHandlerAgent(ui);
    try {
      return await auth.signIn(agent, request);
    } catch (error) {
      // `auto`: an AS that refuses the URI-handler redirect (custom scheme) still takes a loopback one.
      const refusedRedirect =
        error instanceof McpOAuthError && error.code === 'registration_failed' && /redirect/i.test(error.message);
      if (entry.auth.redirect !== 'auto' || !refusedRedirect) throw error;
      this.host.logger.info(
        `[signIn] [${entry.id}] the authorization server refused the URI-handler redirect; using a loopback redirect`,
      );
      const loopback = await this.loopbackAgent(entry, ui);
      try {
        return await auth.signIn(loopback, request);
      } finally {
        await loopback.close();
      }
    } finally {
      await (agent as Partial<{ close(): Promise<void> }>).close?.();
    }
  }

  private async uriHandlerAgent(ui: SignInUi): Promise<AuthorizationUserAgent> {
    const redirectUri = await this.host.redirectUri();
    this.host.logger.debug(`[signIn] redirect URI ${redirectUri}`);
    return {
      redirectUri,
      authorize: async (url, state, signal) => {
        const waiting = this.host.callbacks.wait(state, CALLBACK_TIMEOUT_MS, signal);
        ui.report('Complete the sign-in in your browser…');
        await ui.openBrowser(url);
        return waiting;
      },
    };
  }

  private async loopbackAgent(
    entry: ServerEntry,
    ui: SignInUi,
  ): Promise<AuthorizationUserAgent & { close(): Promise<void> }> {
    const page =
      '<!doctype html><meta charset="utf-8"><title>Signed in</title><body style="font:16px system-ui;margin:4rem;text-align:center"><h1>Signed in</h1><p>You can close this tab and return to VS Code.</p>';
    const receiver = await startLoopbackReceiver({ port: entry.auth.loopbackPort ?? 0, successHtml: page });
    const redirectUri = entry.auth.loopbackPort
      ? receiver.redirectUri
      : await this.host.externalUrl(receiver.redirectUri);
    return {
      redirectUri,
      authorize: async (url, state, signal) => {
        const waiting = receiver.waitForCallback(state, {
          timeoutMs: CALLBACK_TIMEOUT_MS,
          ...(signal ? { signal } : {}),
        });
        ui.report('Complete the sign-in in your browser…');
        await ui.openBrowser(url);
        return waiting;
      },
      close: () => receiver.close(),
    };
  }

  async signOut(entry: ServerEntry): Promise<SignOutResult> {
    return this.auth(entry).signOut();
  }

  async accessToken(entry: ServerEntry): Promise<string> {
    return this.auth(entry).tokenManager().getAccessToken();
  }

  async refresh(entry: ServerEntry): Promise<TokenSet> {
    const manager = this.auth(entry).tokenManager();
    return manager.forceRefresh((await this.tokens.get(entry.id))?.accessToken);
  }

  /** Lists tools with the same token source; never prompts (a needed sign-in is an error). */
  async listTools(entry: ServerEntry): Promise<Tool[]> {
    const fetch = authorizedFetch({ fetch: globalThis.fetch, tokens: this.auth(entry).tokenManager() });
    const client = await connectMcp(entry.url, fetch);
    try {
      return await listAllTools(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  async importToken(entry: ServerEntry, bundle: string): Promise<TokenSet> {
    const tokens = fromBundle(bundle, entry.url, Date.now());
    await this.tokens.set(entry.id, tokens);
    return tokens;
  }

  async resetClientRegistration(entry: ServerEntry): Promise<void> {
    await this.auth(entry).resetClientRegistration();
    await this.host.secrets.delete(SECRET_KEYS.clientSecret(entry.id));
    await this.host.secrets.delete(SECRET_KEYS.privateKey(entry.id));
  }

  /** The gateway route for an http server: VS Code talks to it, it talks to the server with fresh tokens. */
  async gatewayRoute(entry: ServerEntry): Promise<{ url: string; headers: Record<string, string> }> {
    const gateway = await (this.gateway ??= TokenGateway.start({
      logger: this.host.logger,
      signInHint: (id) => `run "MCP OAuth: Sign In…" and pick ${id}`,
    }));
    const tokens = tokenManagerSource(this.auth(entry).tokenManager(), (challenge) =>
      this.host.approveStepUp(entry, challenge),
    );
    const route = gateway.register({ id: entry.id, upstreamUrl: entry.url, tokens });
    return { url: route.url, headers: { [gateway.keyHeader]: gateway.key } };
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
      tokens: this.tokens,
      clients: this.clients,
      refreshBeforeMs: settings.refreshBeforeMs,
      credentials: (registration) => this.credentials(entry, registration.clientId),
    };
  }

  /** A pre-registered client's secret or key, from SecretStorage; asked for once when missing. */
  private async credentials(entry: ServerEntry, clientId: string): Promise<ClientCredentials> {
    if (!entry.auth.clientId || clientId !== entry.auth.clientId) return {};
    const method = entry.auth.tokenEndpointAuthMethod;
    if (method === 'none') return {};
    if (method === 'private_key_jwt') return { privateKey: await this.privateKey(entry) };
    let secret = await this.host.secrets.get(SECRET_KEYS.clientSecret(entry.id));
    if (!secret && method) {
      secret = await this.host.askClientSecret(entry);
      if (secret) await this.host.secrets.store(SECRET_KEYS.clientSecret(entry.id), secret);
    }
    return secret ? { clientSecret: secret } : {};
  }

  /** The key for `private_key_jwt`: from SecretStorage, or chosen by the user once and kept there if it loads. */
  private async privateKey(entry: ServerEntry): Promise<Awaited<ReturnType<typeof loadPrivateKey>>> {
    const stored = await this.host.secrets.get(SECRET_KEYS.privateKey(entry.id));
    if (stored) return loadPrivateKey(stored);
    const pem = await this.host.askPrivateKey(entry);
    if (!pem)
      throw new McpOAuthError(
        'invalid_config',
        `${entry.name} signs in with a private key (private_key_jwt) and none was chosen; sign in again and choose the client's PKCS#8 PEM key file`,
      );
    const key = await loadPrivateKey(pem); // a key that does not load is never stored
    await this.host.secrets.store(SECRET_KEYS.privateKey(entry.id), pem);
    return key;
  }
}
