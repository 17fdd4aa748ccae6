import * as vscode from 'vscode';
import type { Logger } from '../oauth/http/logger';
import type { ServerManager } from './serverManager';
import { pickServer } from './serverPicker';

export const AUTH_PROVIDER_ID = 'mcp-oauth';
export const AUTH_PROVIDER_LABEL = 'MCP OAuth';
/** A session scope that names the server: `server:<id>`. Other scopes are the OAuth scopes. */
export const SERVER_SCOPE_PREFIX = 'server:';

/**
 * The `mcp-oauth` authentication provider: one session per server and account, so signed-in servers show
 * in the Accounts menu. Sign-in and sign-out go through the ServerManager (progress, cancellation,
 * revocation); changes from this or another window fire added/removed/changed.
 */
export class McpOAuthAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.emitter.event;
  private known = new Map<string, string>();
  private accounts = new Map<string, vscode.AuthenticationSessionAccountInformation>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly manager: ServerManager,
    private readonly logger: Logger,
  ) {
    this.known = this.fingerprints();
    this.accounts = this.currentAccounts();
    this.subscription = manager.onDidChange(() => this.compare());
  }

  async getSessions(scopes?: readonly string[]): Promise<vscode.AuthenticationSession[]> {
    const wanted = serverOf(scopes);
    const ids = Object.keys(this.manager.sessions()).filter(
      (id) => (!wanted || id === wanted) && this.manager.entry(id),
    );
    const sessions = await Promise.all(ids.map((id) => this.session(id)));
    return sessions.filter((s): s is vscode.AuthenticationSession => !!s);
  }

  async createSession(scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
    const id = serverOf(scopes) ?? (await pickServer(this.manager, 'Sign in to which MCP server?'));
    if (!id) throw new vscode.CancellationError();
    const extra = scopes.filter((s) => !s.startsWith(SERVER_SCOPE_PREFIX));
    const tokens = await this.manager.signIn(id, undefined, extra.length ? extra : undefined);
    if (!tokens) throw new vscode.CancellationError();
    const session = await this.session(id);
    if (!session) throw new Error('The sign-in did not produce a session');
    return session;
  }

  async removeSession(sessionId: string): Promise<void> {
    const message = await this.manager.signOut(sessionId);
    this.logger.info(`[signOut] [${sessionId}] ${message}`);
  }

  private async session(id: string): Promise<vscode.AuthenticationSession | undefined> {
    const info = this.manager.sessions()[id];
    const entry = this.manager.entry(id);
    if (!info || !entry) return undefined;
    let accessToken: string | undefined;
    try {
      accessToken = (await this.manager.tokens.get(id))?.accessToken;
    } catch {
      return undefined; // a damaged entry is reported in the tree
    }
    if (!accessToken) return undefined;
    return {
      id,
      accessToken,
      account: accountOf(id, info.account, entry.name),
      scopes: [`${SERVER_SCOPE_PREFIX}${id}`, ...info.scopes],
    };
  }

  /** Diffs the sessions against the last known ones and fires one event. */
  private compare(): void {
    const next = this.fingerprints();
    const added: string[] = [],
      removed: string[] = [],
      changed: string[] = [];
    for (const [id, print] of next) {
      if (!this.known.has(id)) added.push(id);
      else if (this.known.get(id) !== print) changed.push(id);
    }
    for (const id of this.known.keys()) if (!next.has(id)) removed.push(id);
    const previous = this.accounts;
    this.known = next;
    this.accounts = this.currentAccounts();
    if (!added.length && !removed.length && !changed.length) return;
    // The same account as getSessions() reports (a removed session: as it was). VS Code's Accounts menu keeps
    // these, and its Sign Out removes the sessions whose account label equals the menu entry's.
    const stub = (
      id: string,
      accounts: Map<string, vscode.AuthenticationSessionAccountInformation>,
    ): vscode.AuthenticationSession => ({
      id,
      accessToken: '',
      account: accounts.get(id) ?? { id: `${id}/`, label: id },
      scopes: [`${SERVER_SCOPE_PREFIX}${id}`],
    });
    this.emitter.fire({
      added: added.map((id) => stub(id, this.accounts)),
      removed: removed.map((id) => stub(id, previous)),
      changed: changed.map((id) => stub(id, this.accounts)),
    });
  }

  private currentAccounts(): Map<string, vscode.AuthenticationSessionAccountInformation> {
    const accounts = new Map<string, vscode.AuthenticationSessionAccountInformation>();
    for (const [id, info] of Object.entries(this.manager.sessions())) {
      const entry = this.manager.entry(id);
      if (entry) accounts.set(id, accountOf(id, info.account, entry.name));
    }
    return accounts;
  }

  private fingerprints(): Map<string, string> {
    const sessions = this.manager.sessions();
    return new Map(
      Object.entries(sessions).map(([id, info]) => [
        id,
        `${info.account}|${info.expiresAt ?? ''}|${info.scopes.join(' ')}`,
      ]),
    );
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

function serverOf(scopes?: readonly string[]): string | undefined {
  return scopes?.find((s) => s.startsWith(SERVER_SCOPE_PREFIX))?.slice(SERVER_SCOPE_PREFIX.length);
}

/** A session's account: one per server and account, labelled so that the Accounts menu tells them apart. */
function accountOf(id: string, account: string, serverName: string): vscode.AuthenticationSessionAccountInformation {
  return { id: `${id}/${account}`, label: `${account} (${serverName})` };
}
