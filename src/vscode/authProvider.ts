import * as vscode from 'vscode';
import type { Logger } from '../oauth/http/logger';
import { IDENTITY_PROVIDER_ID } from './model/identityProviderAccount';
import type { ServerManager } from './serverManager';
import { pickServer } from './serverPicker';
import type { SessionChange } from './sessionStore';

export const AUTH_PROVIDER_ID = 'mcp-oauth';
export const AUTH_PROVIDER_LABEL = 'MCP OAuth';
/** A session scope that names the server: `server:<id>`. Other scopes are the OAuth scopes. */
export const SERVER_SCOPE_PREFIX = 'server:';

/**
 * The `mcp-oauth` authentication provider: one session per server and account, so signed-in servers show
 * in the Accounts menu, and one for the enterprise identity provider (`server:@identity-provider`), labelled
 * as such, when enterprise-managed servers signed in there. Sign-in and sign-out go through the ServerManager
 * (progress, cancellation, revocation); the session store's events (this window or another) become
 * added/removed/changed.
 */
export class McpOAuthAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.emitter.event;
  /** The account each session was announced with: a removed session is announced with the same one. */
  private readonly announced = new Map<string, vscode.AuthenticationSessionAccountInformation>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly manager: ServerManager,
    private readonly logger: Logger,
  ) {
    for (const [id, info] of Object.entries(manager.sessions.all()))
      this.announced.set(id, this.accountOf(id, info.account));
    this.subscription = manager.sessions.onDidChange((change) => this.announce(change));
  }

  async getSessions(scopes?: readonly string[]): Promise<vscode.AuthenticationSession[]> {
    const wanted = serverOf(scopes);
    const ids = Object.keys(this.manager.sessions.all()).filter(
      (id) => (!wanted || id === wanted) && this.manager.accountOwner(id),
    );
    const sessions = await Promise.all(ids.map((id) => this.session(id)));
    return sessions.filter((s): s is vscode.AuthenticationSession => !!s);
  }

  async createSession(scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
    const id = serverOf(scopes) ?? (await pickServer(this.manager, 'Sign in to which MCP server?'));
    if (!id) throw new vscode.CancellationError();
    if (id === IDENTITY_PROVIDER_ID) {
      if (!(await this.manager.signInToIdentityProvider())) throw new vscode.CancellationError();
      const session = await this.session(id);
      if (!session) throw new Error('The sign-in did not produce a session');
      return session;
    }
    const extra = scopes.filter((s) => !s.startsWith(SERVER_SCOPE_PREFIX));
    const tokens = await this.manager.signIn(id, extra.length ? { extraScopes: extra } : {});
    if (!tokens) throw new vscode.CancellationError();
    const session = await this.session(id);
    if (!session) throw new Error('The sign-in did not produce a session');
    return session;
  }

  async removeSession(sessionId: string): Promise<void> {
    const message =
      sessionId === IDENTITY_PROVIDER_ID
        ? await this.manager.signOutOfIdentityProvider()
        : await this.manager.signOut(sessionId);
    this.logger.info(`[signOut] [${sessionId}] ${message}`);
  }

  private async session(id: string): Promise<vscode.AuthenticationSession | undefined> {
    const info = this.manager.sessions.get(id);
    if (!info || !this.manager.accountOwner(id)) return undefined;
    let accessToken: string | undefined;
    try {
      accessToken = (await this.manager.storedTokens(id))?.accessToken;
    } catch {
      return undefined; // a damaged entry is reported in the tree
    }
    if (!accessToken) return undefined;
    return {
      id,
      accessToken,
      account: this.accountOf(id, info.account),
      scopes: [`${SERVER_SCOPE_PREFIX}${id}`, ...info.scopes],
    };
  }

  /**
   * One event per change, with the same account as getSessions() reports (a removed session: as it was
   * announced). VS Code's Accounts menu keeps these, and its Sign Out removes the sessions whose account
   * label equals the menu entry's.
   */
  private announce(change: SessionChange): void {
    const previous = this.announced.get(change.id);
    const account =
      change.kind === 'removed' && previous ? previous : this.accountOf(change.id, change.session.account);
    if (change.kind === 'removed') this.announced.delete(change.id);
    else this.announced.set(change.id, account);
    const stub: vscode.AuthenticationSession = {
      id: change.id,
      accessToken: '',
      account,
      scopes: [`${SERVER_SCOPE_PREFIX}${change.id}`],
    };
    this.emitter.fire({
      added: change.kind === 'added' ? [stub] : [],
      removed: change.kind === 'removed' ? [stub] : [],
      changed: change.kind === 'changed' ? [stub] : [],
    });
  }

  /** A session's account: one per server and account, labelled so that the Accounts menu tells them apart. */
  private accountOf(id: string, account: string): vscode.AuthenticationSessionAccountInformation {
    return { id: `${id}/${account}`, label: `${account} (${this.manager.accountOwner(id)?.name ?? id})` };
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

function serverOf(scopes?: readonly string[]): string | undefined {
  return scopes?.find((s) => s.startsWith(SERVER_SCOPE_PREFIX))?.slice(SERVER_SCOPE_PREFIX.length);
}
