import type * as vscode from 'vscode';
import { McpOAuthError } from '../oauth/errors';
import type { Logger } from '../oauth/http/logger';
import { CachedTokenStore } from '../oauth/tokens/cachedTokenStore';
import { holdingSecrets } from '../oauth/tokens/holdingSecrets';
import { sessionBinding, type TokenSet } from '../oauth/tokens/tokenSet';
import type { ReadOptions, TokenStore } from '../oauth/tokens/tokenStore';
import { Emitter } from './model/emitter';
import type { ServerEntry } from './model/serverConfig';
import { sessionInfo, type SessionInfo } from './model/sessionInfo';
import { SecretTokenStore, serverIdOfTokensKey } from './secretStores';

const SNAPSHOT_KEY = 'mcpOAuth.sessions';

/** A session appeared, changed or went away (here or in another window). */
export interface SessionChange {
  readonly kind: 'added' | 'changed' | 'removed';
  readonly id: string;
  /** The session now (added, changed) or as it was (removed). */
  readonly session: SessionInfo;
}

export interface SessionStoreHost {
  readonly secrets: vscode.SecretStorage;
  readonly memento: vscode.Memento;
  readonly logger: Logger;
  /** The configured servers, now. */
  entries(): readonly ServerEntry[];
}

/**
 * The one place that knows whether a server is signed in. SecretStorage holds the token sets (the truth);
 * this store keeps their non-secret view in memory for the tree and the Accounts menu, is the only
 * subscriber to `secrets.onDidChange` (another window's sign-in, refresh or sign-out), and tells its
 * consumers what changed with typed events. Its own writes are announced at once, their echo not again.
 * `globalState` holds only its last snapshot, so the tree renders at start-up before SecretStorage is read;
 * it is rebuilt from SecretStorage after activation. A session is shown for an entry only while it is bound
 * to that entry's URL.
 */
export class SessionStore {
  /** The token sets for the core: reads from memory, writes through to SecretStorage (and announced). */
  readonly tokens: TokenStore;
  private readonly cache: CachedTokenStore;
  private readonly emitter = new Emitter<SessionChange>();
  readonly onDidChange = this.emitter.event;
  private sessions: Readonly<Record<string, SessionInfo>>;
  /** Why a server's stored session cannot be used (damaged, unreadable, made for another URL). */
  private readonly problems = new Map<string, string>();
  private readonly problemEmitter = new Emitter<string>();
  readonly onDidChangeProblem = this.problemEmitter.event;
  private readonly subscription: { dispose(): void };
  /** Servers being re-read; `again` when they changed meanwhile. */
  private readonly syncing = new Map<string, { again: boolean }>();
  private persisting: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(private readonly host: SessionStoreHost) {
    // Every token set loaded or stored stays a live secret (scrubbed from every log line) until replaced.
    this.cache = new CachedTokenStore(holdingSecrets(new SecretTokenStore(host.secrets)));
    this.sessions = host.memento.get<Record<string, SessionInfo>>(SNAPSHOT_KEY) ?? {};
    const cache = this.cache;
    this.tokens = {
      get: (key: string, options?: ReadOptions) => cache.get(key, options),
      set: async (key: string, tokens: TokenSet) => {
        await cache.set(key, tokens);
        this.apply(key, tokens);
      },
      delete: async (key: string) => {
        await cache.delete(key);
        this.apply(key, undefined);
      },
    };
    this.subscription = host.secrets.onDidChange((e) => {
      const id = serverIdOfTokensKey(e.key);
      if (!id) return;
      this.cache.invalidate(id);
      void this.sync(id);
    });
  }

  /** Every usable session, by server id. */
  all(): Readonly<Record<string, SessionInfo>> {
    return this.sessions;
  }

  get(id: string): SessionInfo | undefined {
    return this.sessions[id];
  }

  /** Why the stored session of `id` cannot be used, when it cannot. */
  problem(id: string): string | undefined {
    return this.problems.get(id);
  }

  /**
   * Re-reads every configured server from SecretStorage: after activation (the snapshot may be behind, and
   * another window may have changed SecretStorage while this one was closed) and when the settings change
   * (an entry's URL decides whether its session is still bound to it).
   */
  async reconcile(): Promise<void> {
    const ids = new Set(this.host.entries().map((e) => e.id));
    for (const id of Object.keys(this.sessions)) if (!ids.has(id)) this.forget(id);
    await Promise.all([...ids].map((id) => this.sync(id)));
  }

  /** One read at a time per server, and one more after the last change, so an older read never wins. */
  private async sync(id: string): Promise<void> {
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
        try {
          this.apply(id, await this.cache.get(id, { fresh: true }));
        } catch (error) {
          this.apply(
            id,
            error instanceof McpOAuthError
              ? error
              : new McpOAuthError('storage_error', 'The stored session could not be read'),
          );
        }
      }
    } finally {
      this.syncing.delete(id);
    }
  }

  /** Brings the view of `id` in line with what is stored, and tells the consumers what changed. */
  private apply(id: string, stored: TokenSet | undefined | McpOAuthError): void {
    const entry = this.host.entries().find((e) => e.id === id);
    const previous = this.sessions[id];
    let next: SessionInfo | undefined;
    let problem: string | undefined;
    if (stored instanceof McpOAuthError) problem = stored.message;
    else if (stored && entry) {
      if (sessionBinding(stored, entry.url) === 'bound') next = sessionInfo(entry, stored, previous);
      else {
        problem = `The stored sign-in of ${entry.name} was made for ${stored.serverUrl ?? 'another server URL'}, not ${entry.url}; sign in again`;
      }
    }
    this.setProblem(id, problem);
    if (!next) return this.forget(id);
    if (previous && sameSession(previous, next)) return;
    this.sessions = { ...this.sessions, [id]: next };
    this.persist();
    this.emitter.fire({ kind: previous ? 'changed' : 'added', id, session: next });
  }

  private forget(id: string): void {
    const previous = this.sessions[id];
    if (!previous) return;
    const { [id]: _gone, ...rest } = this.sessions;
    this.sessions = rest;
    this.persist();
    this.emitter.fire({ kind: 'removed', id, session: previous });
  }

  private setProblem(id: string, problem: string | undefined): void {
    if (this.problems.get(id) === problem) return;
    if (problem === undefined) this.problems.delete(id);
    else {
      this.problems.set(id, problem);
      this.host.logger.warn(`[sessions] [${id}] ${problem}`);
    }
    this.problemEmitter.fire(id);
  }

  /**
   * Writes the snapshot, one write at a time, each with the state as it is when it starts; changes made
   * while a write waits share it. Overlapping `globalState.update`s lose data: the extension host replaces
   * its copy of the whole state with the echo of an earlier write.
   */
  private persist(): void {
    if (this.queued) return;
    const write = this.persisting.then(() => {
      this.queued = undefined;
      return this.host.memento.update(SNAPSHOT_KEY, this.sessions);
    });
    this.queued = write;
    this.persisting = write.then(undefined, (error: unknown) =>
      this.host.logger.error(
        `[sessions] the session snapshot could not be saved: ${error instanceof Error ? error.message : 'unknown error'}`,
      ),
    );
  }

  /** Resolves once the snapshot written last is in globalState (for tests and clean shutdown). */
  flushed(): Promise<void> {
    return this.persisting;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
    this.problemEmitter.dispose();
  }
}

function sameSession(a: SessionInfo, b: SessionInfo): boolean {
  return (
    a.account === b.account &&
    a.expiresAt === b.expiresAt &&
    a.refreshable === b.refreshable &&
    a.issuer === b.issuer &&
    a.clientId === b.clientId &&
    a.registration === b.registration &&
    a.obtainedAt === b.obtainedAt &&
    a.scopes.join(' ') === b.scopes.join(' ')
  );
}
