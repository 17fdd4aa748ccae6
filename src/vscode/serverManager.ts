import * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import type { DeviceAuthorization } from '../oauth/grants/deviceCode';
import { CancelledError, McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import type * as Core from './sessionService';
import type { SessionService, SignInFlow, SignInUi } from './sessionService';
import { CachedTokenStore } from '../oauth/tokens/cachedTokenStore';
import { holdingSecrets } from '../oauth/tokens/holdingSecrets';
import { SecretTokenStore, serverIdOfTokensKey } from './secretStores';
import { registrationMethod, SessionList, sessionInfo } from './sessionList';
import type { ServersSnapshot, ServerView, SessionInfo } from './serverState';
import type { Settings } from './settings';
import { UriCallbacks } from './uriCallbacks';
import { presentDeviceCode } from './deviceCodeUi';
import { openExternalUrl } from './openExternal';

const FALLBACK_AFTER_MS = 20_000;

/** Loads the heavy half (OAuth core, MCP SDK, gateway) on first use; activation stays cheap. */
export type CoreLoader = () => Promise<typeof Core>;

/**
 * The extension's model of its servers: settings, session metadata, status and tools. It owns sign-in and
 * sign-out with their UI (progress, cancellation, device code), and tells the tree, the authentication
 * provider and the MCP definition provider when anything changes.
 */
export class ServerManager implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<string | undefined>();
  /** Fires with a server id, or undefined when the whole list may have changed. */
  readonly onDidChange = this.emitter.event;
  private readonly transient = new Map<string, Pick<ServerView, 'status' | 'tools' | 'error'>>();
  private readonly disposables: vscode.Disposable[] = [];
  private service: Promise<SessionService> | undefined;
  /** The sessions' non-secret metadata, kept in line with SecretStorage. */
  private readonly sessionList: SessionList;
  /**
   * The token sets in SecretStorage, with an in-memory copy that every reader shares (the gateway, the
   * Accounts menu, the tree's re-reads), so the hot paths make no IPC round trip. Invalidated per server
   * when SecretStorage reports a change, here or in another window. Small: no need for the heavy half.
   */
  readonly tokens: CachedTokenStore;
  readonly callbacks: UriCallbacks;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly loadCore: CoreLoader,
  ) {
    this.callbacks = new UriCallbacks((reason) => logger.warn(`[callback] ignored ${reason}`));
    this.tokens = new CachedTokenStore(holdingSecrets(new SecretTokenStore(context.secrets)));
    this.sessionList = new SessionList({
      memento: context.globalState,
      tokens: this.tokens,
      logger,
      entries: () => settings.servers().servers,
      onDidChange: (id) => this.emitter.fire(id),
      onReadError: (id, message) => this.setTransient(id, { status: 'error', error: message }),
    });
    this.disposables.push(
      settings.onDidChange(() => {
        this.reportInvalid();
        this.emitter.fire(undefined);
        void this.sessionList.reconcile();
      }),
      context.secrets.onDidChange((e) => {
        const id = serverIdOfTokensKey(e.key);
        if (!id) return;
        this.tokens.invalidate(id);
        void this.sessionList.sync(id);
      }),
    );
    this.reportInvalid();
    // After activation, not during it: SecretStorage reads are IPC round trips, one per server.
    const reconcileLater = setTimeout(() => void this.sessionList.reconcile(), 0);
    this.disposables.push({ dispose: () => clearTimeout(reconcileLater) });
  }

  snapshot(): ServersSnapshot {
    const { servers, invalid } = this.settings.servers();
    return { servers: servers.map((entry) => this.view(entry)), invalid };
  }

  entry(id: string): ServerEntry | undefined {
    return this.settings.servers().servers.find((s) => s.id === id);
  }

  view(entry: ServerEntry): ServerView {
    const session = this.sessions()[entry.id];
    const transient = this.transient.get(entry.id);
    const status = transient?.status ?? (session ? 'signedIn' : 'signedOut');
    return {
      entry,
      status,
      ...(session ? { session } : {}),
      ...(transient?.tools ? { tools: transient.tools } : {}),
      ...(transient?.error ? { error: transient.error } : {}),
    };
  }

  /** The heavy half, loaded once. */
  core(): Promise<SessionService> {
    return (this.service ??= this.loadCore().then(
      ({ SessionService }) =>
        new SessionService({
          secrets: this.context.secrets,
          tokens: this.tokens,
          logger: this.logger,
          callbacks: this.callbacks,
          redirectUri: () => UriCallbacks.redirectUri(),
          externalUrl: async (url) => (await vscode.env.asExternalUri(vscode.Uri.parse(url))).toString(),
          settings: () => this.settings.timeouts(),
          askClientSecret: (entry) => askClientSecret(entry),
          askPrivateKey: (entry) => askPrivateKey(entry),
          approveStepUp: (entry, challenge) => this.approveStepUp(entry, challenge),
          onStatus: (entry, status) => {
            const info = this.sessions()[entry.id];
            if (!info) return;
            const tokenState = status.state === 'stale' ? 'stale' : status.state === 'expired' ? 'expired' : 'valid';
            void this.saveSession(entry.id, {
              ...info,
              tokenState,
              ...(status.expiresAt !== undefined ? { expiresAt: status.expiresAt } : {}),
            });
          },
        }),
    ));
  }

  /** The flow a plain "Sign In" uses for this entry. */
  defaultFlow(entry: ServerEntry): SignInFlow {
    return entry.auth.flow === 'deviceCode' || entry.auth.flow === 'clientCredentials'
      ? entry.auth.flow
      : 'authorizationCode';
  }

  /** Signs in with progress and cancellation; returns undefined when the user cancelled. */
  async signIn(id: string, flow?: SignInFlow, extraScopes?: readonly string[]): Promise<TokenSet | undefined> {
    const entry = this.require(id);
    const chosen = flow ?? this.defaultFlow(entry);
    this.setTransient(id, { status: 'connecting' });
    try {
      const tokens = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `MCP OAuth: signing in to ${entry.name}`,
          cancellable: true,
        },
        async (progress, token) => {
          const abort = new AbortController();
          const sub = token.onCancellationRequested(() => abort.abort());
          try {
            const core = await this.core();
            return await core.signIn(entry, chosen, this.signInUi(entry, chosen, abort, progress), extraScopes);
          } finally {
            sub.dispose();
          }
        },
      );
      await this.saveSession(id, sessionInfo(tokens, registrationMethod(entry, tokens)));
      this.setTransient(id, undefined);
      this.logger.info(`[signIn] [${id}] signed in`);
      void this.refreshTools(id);
      return tokens;
    } catch (error) {
      this.setTransient(id, undefined);
      if (error instanceof CancelledError) {
        this.logger.info(`[signIn] [${id}] cancelled`);
        return undefined;
      }
      throw error;
    }
  }

  private signInUi(
    entry: ServerEntry,
    flow: SignInFlow,
    abort: AbortController,
    progress: vscode.Progress<{ message?: string }>,
  ): SignInUi {
    return {
      signal: abort.signal,
      report: (message) => progress.report({ message }),
      openBrowser: async (url) => {
        await openExternalUrl(url);
        if (flow === 'authorizationCode') this.offerFallbacks(entry, abort);
      },
      presentDeviceCode: (device: DeviceAuthorization) => presentDeviceCode(entry, device, abort, progress),
    };
  }

  /** When no callback arrives: offer the device code and pasting the redirect URL. */
  private offerFallbacks(entry: ServerEntry, abort: AbortController): void {
    const timer = setTimeout(async () => {
      if (abort.signal.aborted || this.callbacks.pending === 0) return;
      const paste = 'Paste the Redirect URL…';
      const device = 'Use a Device Code';
      const choice = await vscode.window.showInformationMessage(
        `Still waiting for the browser to return to VS Code for ${entry.name}.`,
        paste,
        device,
      );
      if (choice === paste) {
        const url = await vscode.window.showInputBox({
          title: 'Paste the URL the browser ended on',
          ignoreFocusOut: true,
          password: true,
          prompt: 'It starts with the redirect URI and carries code and state.',
        });
        if (url && !this.callbacks.deliver(url))
          void vscode.window.showWarningMessage('That URL does not belong to this sign-in.');
      } else if (choice === device) {
        abort.abort();
        void vscode.commands.executeCommand('mcpOAuth.signInWithDeviceCode', entry.id);
      }
    }, FALLBACK_AFTER_MS);
    abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  }

  async signOut(id: string): Promise<string> {
    const entry = this.require(id);
    const result = await (await this.core()).signOut(entry);
    await this.saveSession(id, undefined);
    this.setTransient(id, undefined);
    if (!result.wasSignedIn) return `Not signed in to ${entry.name}.`;
    const revoked = result.refreshToken === 'revoked' || result.accessToken === 'revoked';
    return revoked
      ? `Signed out of ${entry.name}; the tokens were revoked.`
      : `Signed out of ${entry.name} locally; the tokens could not be revoked (${result.reason ?? 'no revocation endpoint'}).`;
  }

  async refreshToken(id: string): Promise<void> {
    const entry = this.require(id);
    const tokens = await (await this.core()).refresh(entry);
    const info = this.sessions()[id];
    if (info) await this.saveSession(id, { ...info, ...sessionInfo(tokens, info.registration, info) });
  }

  async refreshTools(id: string): Promise<void> {
    const entry = this.require(id);
    if (!this.sessions()[id]) return;
    try {
      const tools = await (await this.core()).listTools(entry);
      this.setTransient(id, { status: 'signedIn', tools });
      this.logger.info(`[tools] [${id}] discovered ${tools.length} tools`);
    } catch (error) {
      const message = error instanceof McpOAuthError ? error.message : 'the tool listing failed';
      this.logger.warn(`[tools] [${id}] ${message}`);
      this.setTransient(id, { status: 'error', error: message });
    }
  }

  async importToken(id: string, bundle: string): Promise<void> {
    const entry = this.require(id);
    const tokens = await (await this.core()).importToken(entry, bundle);
    await this.saveSession(id, sessionInfo(tokens, 'imported'));
    void this.refreshTools(id);
  }

  async resetClientRegistration(id: string): Promise<void> {
    await (await this.core()).resetClientRegistration(this.require(id));
  }

  /** The raw access token, for "Copy Access Token" only. */
  async accessToken(id: string): Promise<string> {
    return (await this.core()).accessToken(this.require(id));
  }

  async storedTokens(id: string): Promise<TokenSet | undefined> {
    return this.tokens.get(id);
  }

  require(id: string): ServerEntry {
    const entry = this.entry(id);
    if (!entry)
      throw new McpOAuthError(
        'invalid_config',
        `No server with the id ${JSON.stringify(id)} is configured in mcpOAuth.servers`,
      );
    return entry;
  }

  sessions(): Readonly<Record<string, SessionInfo>> {
    return this.sessionList.all();
  }

  private saveSession(id: string, info: SessionInfo | undefined): Promise<void> {
    return this.sessionList.save(id, info);
  }

  private async approveStepUp(entry: ServerEntry, challenge: BearerChallenge): Promise<boolean> {
    const scopes = challenge.scopes?.join(' ') ?? 'more access';
    const approve = 'Approve';
    const choice = await vscode.window.showWarningMessage(
      `${entry.name} asks for more access (${scopes}).`,
      { modal: true, detail: 'You will be asked to sign in again in the browser.' },
      approve,
    );
    if (choice !== approve) return false;
    return !!(await this.signIn(entry.id, this.defaultFlow(entry), challenge.scopes ?? []));
  }

  private setTransient(id: string, value: Pick<ServerView, 'status' | 'tools' | 'error'> | undefined): void {
    if (value) this.transient.set(id, { ...this.transient.get(id), ...value });
    else this.transient.delete(id);
    this.emitter.fire(id);
  }

  private reportInvalid(): void {
    for (const bad of this.settings.servers().invalid)
      this.logger.warn(`[settings] mcpOAuth.servers: ${JSON.stringify(bad.label)} is ignored: ${bad.message}`);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
    void this.service?.then((s) => s.dispose());
  }
}

async function askClientSecret(entry: ServerEntry): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: `Client secret for ${entry.name}`,
    prompt: `The client ${entry.auth.clientId ?? ''} needs its secret. It is kept in VS Code's secret storage, never in settings.`,
    password: true,
    ignoreFocusOut: true,
  });
}

/** The client's private key for private_key_jwt, read from a PEM file the user picks (on the remote side in a remote window). */
async function askPrivateKey(entry: ServerEntry): Promise<string | undefined> {
  const [file] =
    (await vscode.window.showOpenDialog({
      title: `Private key of the client ${entry.auth.clientId ?? ''} for ${entry.name} (PKCS#8 PEM; kept in VS Code's secret storage)`,
      openLabel: 'Use This Key',
      canSelectMany: false,
      filters: { 'PEM private key': ['pem', 'key'], 'All files': ['*'] },
    })) ?? [];
  return file ? new TextDecoder().decode(await vscode.workspace.fs.readFile(file)) : undefined;
}
