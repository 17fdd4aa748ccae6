import type * as vscode from 'vscode';
import type { ServerEntry } from './model/serverConfig';
import { accountClaim, describeAccount } from '../oauth/tokens/claims';
import type { CachedTokenStore } from '../oauth/tokens/cachedTokenStore';
import { McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import type { TokenSet } from '../oauth/tokens/tokenSet';
import type { SessionInfo } from './serverState';

const SESSIONS_KEY = 'mcpOAuth.sessions';

export interface SessionListHost {
  readonly memento: vscode.Memento;
  readonly tokens: CachedTokenStore;
  readonly logger: Logger;
  /** The configured servers, now. */
  entries(): readonly ServerEntry[];
  /** A session was added, changed or removed. */
  onDidChange(id: string): void;
  /** The stored tokens of a server could not be read (a damaged entry, a failing keyring). */
  onReadError(id: string, message: string): void;
}

/**
 * The non-secret metadata of every session (account, scopes, expiry, issuer, client), what the tree and the
 * Accounts menu show without touching SecretStorage. SecretStorage holds the truth: the list follows its
 * changes, and is rebuilt from it where the two disagree. globalState keeps a copy across restarts.
 */
export class SessionList {
  private state: Readonly<Record<string, SessionInfo>>;
  private persisting: Promise<void> = Promise.resolve();
  /** The write that has not started yet, if any. */
  private queued: Promise<void> | undefined;
  /** Servers whose stored tokens are being re-read; `again` when they changed meanwhile. */
  private readonly syncing = new Map<string, { again: boolean }>();

  constructor(private readonly host: SessionListHost) {
    this.state = host.memento.get<Record<string, SessionInfo>>(SESSIONS_KEY) ?? {};
  }

  all(): Readonly<Record<string, SessionInfo>> {
    return this.state;
  }

  async save(id: string, info: SessionInfo | undefined): Promise<void> {
    const next = { ...this.state };
    if (info) next[id] = info;
    else delete next[id];
    this.state = next;
    this.host.onDidChange(id);
    await this.persist();
  }

  /**
   * The tokens of `id` changed (a sign-in, a refresh or a sign-out, here or in another window): re-read them
   * and update the metadata. One read at a time per server, and one more after the last change, so an older
   * read never overwrites what a newer one saw.
   */
  async sync(id: string): Promise<void> {
    const running = this.syncing.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: true };
    this.syncing.set(id, state);
    try {
      while (state.again) {
        state.again = false;
        await this.read(id);
      }
    } finally {
      this.syncing.delete(id);
    }
  }

  /**
   * Re-reads every server whose metadata and stored tokens disagree on whether it is signed in: the copy in
   * globalState can be behind after a reload (VS Code for the web writes it back lazily), or another window
   * changed SecretStorage while this one was closed.
   */
  async reconcile(): Promise<void> {
    await Promise.all(
      this.host.entries().map(async ({ id }) => {
        let stored: boolean | 'damaged';
        try {
          stored = (await this.host.tokens.get(id, { fresh: true })) !== undefined;
        } catch {
          stored = 'damaged'; // the re-read reports it on its server
        }
        if (stored === 'damaged' || stored !== !!this.state[id]) {
          this.host.logger.info(
            `[sessions] [${id}] the saved session list disagrees with SecretStorage; re-reading the stored tokens`,
          );
          await this.sync(id);
        }
      }),
    );
  }

  private async read(id: string): Promise<void> {
    const entry = this.host.entries().find((e) => e.id === id);
    if (!entry) return;
    try {
      const tokens = await this.host.tokens.get(id, { fresh: true });
      const previous = this.state[id];
      if (!tokens) return await this.save(id, undefined);
      const registration =
        previous && previous.clientId === tokens.clientId ? previous.registration : registrationMethod(entry, tokens);
      await this.save(id, sessionInfo(tokens, registration, previous));
    } catch (error) {
      this.host.onReadError(
        id,
        error instanceof McpOAuthError ? error.message : 'the stored session could not be read',
      );
    }
  }

  /**
   * Writes the list, one write at a time, each with the state as it is when it starts; changes made while a
   * write waits for its turn share it. Overlapping `globalState.update`s lose data: the extension host
   * replaces its copy of the whole state with the echo of an earlier write, so a later update made before
   * that echo arrives is undone.
   */
  private persist(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.persisting.then(() => {
      this.queued = undefined;
      return this.host.memento.update(SESSIONS_KEY, this.state);
    });
    this.queued = write;
    this.persisting = write.catch((error: unknown) =>
      this.host.logger.error(
        `[sessions] the session list could not be saved: ${error instanceof Error ? error.message : 'unknown error'}`,
      ),
    );
    return write;
  }
}

/** How the client of `tokens` was registered, as far as the settings tell. */
export function registrationMethod(entry: ServerEntry, tokens: TokenSet): string {
  if (entry.auth.clientId === tokens.clientId) return 'preregistered';
  if (entry.auth.clientMetadataUrl === tokens.clientId) return 'cimd';
  return 'dcr';
}

/**
 * The metadata shown for a token set. `previous` is the session it renews: a refresh that brings no ID token
 * and an opaque access token keeps the account it had, rather than falling back to the issuer's host.
 */
export function sessionInfo(tokens: TokenSet, registration: string, previous?: SessionInfo): SessionInfo {
  return {
    account:
      accountClaim(tokens) ??
      (previous?.issuer === tokens.issuer ? previous.account : undefined) ??
      describeAccount(tokens),
    scopes: tokens.scopes,
    ...(tokens.expiresAt !== undefined ? { expiresAt: tokens.expiresAt } : {}),
    refreshable: !!tokens.refreshToken || tokens.grantType === 'client_credentials',
    issuer: tokens.issuer,
    clientId: tokens.clientId,
    registration,
    tokenState: 'valid',
  };
}
