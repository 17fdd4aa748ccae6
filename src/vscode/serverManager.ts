import * as vscode from 'vscode';
import type { BearerChallenge } from '../oauth/discovery/challenge';
import { CancelledError, McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import type { AuthorizationServerMove, SignInRequest } from '../oauth/session/serverAuth';
import { sessionBinding, type TokenSet } from '../oauth/tokens/tokenSet';
import { IDENTITY_PROVIDER_ID, identityProviderEntry } from './model/identityProviderAccount';
import type { ServerEntry } from './model/serverConfig';
import type { RuntimeState, ServersSnapshot, ServerView } from './serverState';
import type * as Core from './sessionService';
import type { SessionService } from './sessionService';
import { SessionStore } from './sessionStore';
import { EntryApprovals } from './entryApprovals';
import { vscodeSignInHost } from './signInHost';
import type { Settings } from './settings';
import { UriCallbacks } from './uriCallbacks';

/** Loads the heavy half (OAuth core, MCP SDK, gateway) on first use; activation stays cheap. */
export type CoreLoader = () => Promise<typeof Core>;

/**
 * The extension's model of its servers: the settings, the sessions (one {@link SessionStore}) and what is
 * happening now (signing in, the tools, an error, a token the AS could not renew: runtime state, never
 * persisted). It runs sign-in and sign-out with their progress and cancellation, and tells the tree, the
 * authentication provider and the MCP definition provider when anything changes.
 */
export class ServerManager implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<string | undefined>();
  /** Fires with a server id, or undefined when the whole list may have changed. */
  readonly onDidChange = this.emitter.event;
  private readonly settingsEmitter = new vscode.EventEmitter<void>();
  /** The `mcpOAuth.*` settings changed (and were re-read). */
  readonly onDidChangeSettings = this.settingsEmitter.event;
  private readonly runtime = new Map<string, RuntimeState>();
  /** Servers whose move to another authorization server is being shown. */
  private readonly moveNoticed = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private service: Promise<SessionService> | undefined;
  /** Whether each server is signed in: SecretStorage behind one in-memory view, followed across windows. */
  readonly sessions: SessionStore;
  readonly callbacks: UriCallbacks;
  /** The user's approvals of the entries a workspace's settings add: none of them acts before one. */
  readonly approvals: EntryApprovals;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly settings: Settings,
    private readonly logger: Logger,
    private readonly loadCore: CoreLoader,
  ) {
    this.callbacks = new UriCallbacks((reason) => logger.warn(`[callback] ignored ${reason}`));
    this.approvals = new EntryApprovals(context.workspaceState, () => settings.servers().source, logger);
    this.sessions = new SessionStore({
      secrets: context.secrets,
      memento: context.globalState,
      logger,
      entries: () => {
        const idp = this.identityProvider();
        return idp ? [...settings.servers().servers, idp] : settings.servers().servers;
      },
    });
    this.disposables.push(
      this.sessions,
      this.sessions.onDidChange((change) => {
        if (change.kind === 'removed') this.runtime.delete(change.id);
        this.emitter.fire(change.id);
      }),
      this.sessions.onDidChangeProblem((id) => this.emitter.fire(id)),
      settings.onDidChange(() => {
        this.reportInvalid();
        this.settingsEmitter.fire();
        this.emitter.fire(undefined);
        void this.sessions.reconcile();
      }),
      this.settingsEmitter,
    );
    this.reportInvalid();
    // After activation, not during it: SecretStorage reads are IPC round trips, one per server.
    const reconcileLater = setTimeout(() => void this.sessions.reconcile(), 0);
    this.disposables.push({ dispose: () => clearTimeout(reconcileLater) });
  }

  snapshot(): ServersSnapshot {
    const { servers, invalid } = this.settings.servers();
    return { servers: servers.map((entry) => this.view(entry)), invalid };
  }

  entry(id: string): ServerEntry | undefined {
    return this.settings.servers().servers.find((s) => s.id === id);
  }

  /**
   * The enterprise identity provider (`mcpOAuth.enterpriseIdp`) as the session store and the Accounts menu
   * know it (its session is under {@link IDENTITY_PROVIDER_ID}); undefined when none is set.
   */
  identityProvider(): ServerEntry | undefined {
    const { idp } = this.settings.enterpriseIdp();
    return idp ? identityProviderEntry(idp) : undefined;
  }

  /** Whose session `id` is: a server's, or the identity provider's. */
  accountOwner(id: string): ServerEntry | undefined {
    return id === IDENTITY_PROVIDER_ID ? this.identityProvider() : this.entry(id);
  }

  view(entry: ServerEntry): ServerView {
    const session = this.sessions.get(entry.id);
    const runtime = this.runtime.get(entry.id);
    const problem = this.approvals.isAllowed(entry)
      ? this.sessions.problem(entry.id)
      : "added by this workspace's settings: Sign In to review and allow it";
    const error = runtime?.error ?? problem;
    const status = runtime?.status ?? (error ? 'error' : session ? 'signedIn' : 'signedOut');
    return {
      entry,
      status,
      ...(session ? { session } : {}),
      ...(runtime?.tokenState ? { tokenState: runtime.tokenState } : {}),
      ...(runtime?.tools ? { tools: runtime.tools } : {}),
      ...(error ? { error } : {}),
    };
  }

  /** The heavy half, loaded once. */
  core(): Promise<SessionService> {
    return (this.service ??= this.loadCore().then(
      ({ SessionService }) =>
        new SessionService({
          secrets: this.context.secrets,
          tokens: this.sessions.tokens,
          sessions: () => this.sessions.all(),
          logger: this.logger,
          settings: () => this.settings.timeouts(),
          onStatus: (entry, status) => {
            const tokenState = status.state === 'stale' || status.state === 'expired' ? status.state : undefined;
            if (this.runtime.get(entry.id)?.tokenState === tokenState) return;
            this.setRuntime(entry.id, { tokenState });
          },
          stepUp: async (entry, challenge) => !!(await this.stepUp(entry, challenge)),
          onSignInRequired: (entry) => void this.signInRequired(entry),
          enterpriseIdp: () => this.settings.enterpriseIdp().idp,
          readTextFile: readWorkspaceFile,
        }),
    ));
  }

  /**
   * Signs in with progress and cancellation; returns undefined when the user cancelled. The flow is the
   * core's plan (`request.flow` only when the user asked for one, such as "Sign In with Device Code…").
   */
  async signIn(id: string, request: SignInRequest = {}): Promise<TokenSet | undefined> {
    const entry = this.require(id);
    if (!(await this.approvals.allow(entry))) {
      this.logger.info(`[signIn] [${id}] not allowed`);
      return undefined;
    }
    this.setRuntime(id, { status: 'connecting', error: undefined });
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
            const host = vscodeSignInHost(
              entry,
              { signal: abort.signal, abort: () => abort.abort(), progress },
              this.callbacks,
            );
            return await core.signIn(entry, host, request);
          } finally {
            sub.dispose();
          }
        },
      );
      this.runtime.delete(id);
      this.logger.info(`[signIn] [${id}] signed in`);
      void this.refreshTools(id);
      return tokens;
    } catch (error) {
      this.setRuntime(id, { status: undefined });
      if (error instanceof CancelledError) {
        this.logger.info(`[signIn] [${id}] cancelled`);
        return undefined;
      }
      throw error;
    }
  }

  /**
   * Signs in to the enterprise identity provider alone (from the Accounts menu), with progress and
   * cancellation; undefined when the user cancelled. A server's sign-in signs in there too when it needs to.
   */
  async signInToIdentityProvider(): Promise<TokenSet | undefined> {
    const entry = this.identityProvider();
    if (!entry)
      throw new McpOAuthError('invalid_config', 'No enterprise identity provider is set: set mcpOAuth.enterpriseIdp');
    try {
      const tokens = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `MCP OAuth: signing in to the ${entry.name.toLowerCase()}`,
          cancellable: true,
        },
        async (progress, token) => {
          const abort = new AbortController();
          const sub = token.onCancellationRequested(() => abort.abort());
          try {
            const host = vscodeSignInHost(
              entry,
              { signal: abort.signal, abort: () => abort.abort(), progress },
              this.callbacks,
            );
            return await (await this.core()).signInIdentityProvider(host);
          } finally {
            sub.dispose();
          }
        },
      );
      this.logger.info('[signIn] [identity provider] signed in');
      return tokens;
    } catch (error) {
      if (error instanceof CancelledError) return undefined;
      throw error;
    }
  }

  /** Signs out of the enterprise identity provider; the servers keep their tokens until those expire. */
  async signOutOfIdentityProvider(): Promise<string> {
    const name = this.identityProvider()?.name ?? 'Identity provider';
    const result = await (await this.core()).signOutIdentityProvider();
    if (!result.wasSignedIn) return `Not signed in to the ${name.toLowerCase()}.`;
    return result.refreshToken === 'revoked'
      ? `Signed out of the ${name.toLowerCase()}; its refresh token was revoked.`
      : `Signed out of the ${name.toLowerCase()} locally (${result.reason ?? 'nothing to revoke'}).`;
  }

  async signOut(id: string): Promise<string> {
    const entry = this.require(id);
    const result = await (await this.core()).signOut(entry);
    this.runtime.delete(id);
    this.emitter.fire(id);
    if (!result.wasSignedIn) return `Not signed in to ${entry.name}.`;
    const revoked = result.refreshToken === 'revoked' || result.accessToken === 'revoked';
    return revoked
      ? `Signed out of ${entry.name}; the tokens were revoked.`
      : `Signed out of ${entry.name} locally; the tokens could not be revoked (${result.reason ?? 'no revocation endpoint'}).`;
  }

  /**
   * Remove Server: signs out when signed in (a failed sign-out is reported in the result, and the removal goes
   * on), then deletes what the entry kept besides its tokens: its DPoP keys, client secret and private key.
   */
  async forget(id: string): Promise<{ signedOut?: string; signOutFailed?: string }> {
    const entry = this.require(id);
    const issuer = (await this.sessions.tokens.get(id).catch(() => undefined))?.issuer;
    const result: { signedOut?: string; signOutFailed?: string } = {};
    if (this.sessions.get(id)) {
      try {
        result.signedOut = await this.signOut(id);
      } catch (error) {
        result.signOutFailed = error instanceof McpOAuthError ? error.message : 'unexpected error';
      }
    }
    await (await this.core()).forget(entry, issuer ? [issuer] : []);
    return result;
  }

  async refreshToken(id: string): Promise<void> {
    await (await this.core()).refresh(await this.allowed(id));
  }

  /** Lists the tools of a signed-in server; never asks (it also runs in the background). */
  async refreshTools(id: string): Promise<void> {
    const entry = this.require(id);
    if (!this.sessions.get(id) || !this.approvals.isAllowed(entry)) return;
    try {
      const tools = await (await this.core()).listTools(entry);
      this.setRuntime(id, { status: 'signedIn', tools, error: undefined });
      this.logger.info(`[tools] [${id}] discovered ${tools.length} tools`);
    } catch (error) {
      const message = error instanceof McpOAuthError ? error.message : 'the tool listing failed';
      this.logger.warn(`[tools] [${id}] ${message}`);
      this.setRuntime(id, { status: 'error', error: message });
    }
  }

  async importToken(id: string, bundle: string): Promise<void> {
    await (await this.core()).importToken(await this.allowed(id), bundle);
    void this.refreshTools(id);
  }

  async resetClientRegistration(id: string): Promise<void> {
    await (await this.core()).resetClientRegistration(await this.allowed(id));
  }

  /** The raw access token, for "Copy Access Token" only. */
  async accessToken(id: string): Promise<string> {
    return (await this.core()).accessToken(await this.allowed(id));
  }

  /**
   * The stored token set of a server whose session is bound to it (never one made for another URL), and
   * that may use it (a workspace's entry only once allowed).
   */
  async storedTokens(id: string): Promise<TokenSet | undefined> {
    const entry = this.accountOwner(id);
    const tokens = entry && this.approvals.isAllowed(entry) ? await this.sessions.tokens.get(id) : undefined;
    return tokens && sessionBinding(tokens, entry!.url) === 'bound' ? tokens : undefined;
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

  /** The entry, once it may act: an entry a workspace's settings add must be allowed by the user first. */
  async allowed(id: string): Promise<ServerEntry> {
    const entry = this.require(id);
    if (await this.approvals.allow(entry)) return entry;
    throw new CancelledError(`${entry.name} was not allowed`);
  }

  /**
   * The gateway met a 401 that a refresh did not fix. When the server moved to another authorization server
   * (SEP-2352), says so and offers the sign-in there; once per server until it is signed in again.
   */
  private async signInRequired(entry: ServerEntry): Promise<void> {
    if (this.moveNoticed.has(entry.id)) return;
    this.moveNoticed.add(entry.id);
    let move: AuthorizationServerMove | undefined;
    try {
      move = await (await this.core()).authorizationServerMove(entry);
    } catch (error) {
      this.logger.warn(
        `[discovery] [${entry.id}] could not read the server's metadata again: ${error instanceof McpOAuthError ? error.message : 'unknown error'}`,
      );
    }
    if (!move) return void this.moveNoticed.delete(entry.id);
    const message = `${entry.name} moved to a new authorization server: sign in again`;
    this.logger.info(`[discovery] [${entry.id}] ${message}`);
    this.setRuntime(entry.id, { error: message });
    const signIn = 'Sign In';
    const choice = await vscode.window.showWarningMessage(message, signIn);
    this.moveNoticed.delete(entry.id);
    // Through the command, which shows a failure with what fixes it.
    if (choice === signIn) await vscode.commands.executeCommand('mcpOAuth.signIn', entry.id);
  }

  /** The step-up the gateway asks for: the user confirms the wider scope, then signs in for it. */
  private stepUp(entry: ServerEntry, challenge: BearerChallenge): Promise<TokenSet | undefined> {
    return this.signIn(entry.id, { challenge, extraScopes: challenge.scopes ?? [], stepUp: true });
  }

  private setRuntime(id: string, patch: Partial<RuntimeState>): void {
    const next: RuntimeState = { ...this.runtime.get(id), ...patch };
    const empty = Object.values(next).every((v) => v === undefined);
    if (empty) this.runtime.delete(id);
    else this.runtime.set(id, next);
    this.emitter.fire(id);
  }

  private reportInvalid(): void {
    for (const bad of this.settings.servers().invalid)
      this.logger.warn(`[settings] mcpOAuth.servers: ${JSON.stringify(bad.label)} is ignored: ${bad.message}`);
    const { problem } = this.settings.enterpriseIdp();
    if (problem) this.logger.warn(`[settings] ${problem}; it is ignored`);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.emitter.dispose();
    void this.service?.then((s) => s.dispose());
  }
}

/**
 * A file the settings name, read through `workspace.fs` on the extension host's side (the remote machine in a
 * remote window, where the workload runs): an absolute path, or one relative to the first workspace folder.
 */
async function readWorkspaceFile(path: string): Promise<string> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const absolute = path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path);
  if (!absolute && !folder)
    throw new McpOAuthError('invalid_config', `${JSON.stringify(path)} is relative and no folder is open`);
  const uri = absolute ? vscode.Uri.file(path) : vscode.Uri.joinPath(folder!, path);
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}
