import { HttpRequestError, McpOAuthError, OAuthResponseError, rewrap } from '../errors';
import { holdSecrets } from '../http/liveSecrets';
import type { Logger } from '../http/logger';
import { describeUrl } from '../http/url';
import type { TokenSet } from './tokenSet';
import { isExpired, sessionBinding, tokenSecrets } from './tokenSet';
import type { TokenStore } from './tokenStore';

const FRESH = { fresh: true } as const;

/** What the UI shows about a session. `stale` means the AS could not be reached but the token still works. */
export type TokenState = 'valid' | 'stale' | 'expired' | 'signed_out';

export interface TokenStatus {
  readonly state: TokenState;
  readonly expiresAt?: number;
  /** Why the last refresh failed, when it did. */
  readonly error?: McpOAuthError;
}

export interface TokenManagerOptions {
  readonly key: string;
  /** The canonical URL of the server the tokens are for: a stored set issued for another is never handed out. */
  readonly serverUrl: string;
  readonly store: TokenStore;
  /** Redeems the refresh token of `tokens`; no discovery happens here. */
  readonly refresh: (tokens: TokenSet) => Promise<TokenSet>;
  readonly now: () => number;
  /** Refresh this long before expiry (`mcpOAuth.refreshBeforeExpirySeconds`). */
  readonly refreshBeforeMs: number;
  readonly logger?: Logger;
  readonly onStatus?: (status: TokenStatus) => void;
  /**
   * Why the entry's settings refuse a stored set (Bearer tokens where `auth.dpop` is "required"), or `undefined`.
   * A refused set is neither handed out nor renewed: only a sign-in helps.
   */
  readonly refuses?: (tokens: TokenSet) => string | undefined;
}

/**
 * Hands out access tokens for one (server, account). Refreshes ahead of expiry; N concurrent callers cause
 * one refresh; re-reads the store first so a refresh token another window rotated is never replayed; and
 * keeps a still-valid token when the AS is down, reporting `stale` until a later refresh recovers.
 */
export class TokenManager {
  private inflight: Promise<TokenSet> | undefined;
  private current: TokenStatus = { state: 'signed_out' };
  /** The access token kept while the AS was unreachable. */
  private staleToken: string | undefined;

  constructor(private readonly options: TokenManagerOptions) {}

  get status(): TokenStatus {
    return this.current;
  }

  /** A token set whose access token is good for at least the refresh margin, refreshing when needed. */
  async getTokens(): Promise<TokenSet> {
    const tokens = await this.load();
    if (!this.needsRefresh(tokens)) {
      // Still stale only while the token kept through the outage is the one in use.
      this.report({
        state: this.staleToken === tokens.accessToken ? 'stale' : 'valid',
        ...expiry(tokens),
        ...(this.staleToken === tokens.accessToken && this.current.error ? { error: this.current.error } : {}),
      });
      return tokens;
    }
    return this.singleFlight(undefined);
  }

  async getAccessToken(): Promise<string> {
    return (await this.getTokens()).accessToken;
  }

  /**
   * Refreshes now, for example after the resource server rejected `rejectedAccessToken`. When another
   * caller or window already replaced that token, the newer one is returned without a request.
   */
  async forceRefresh(rejectedAccessToken?: string): Promise<TokenSet> {
    return this.singleFlight(rejectedAccessToken ?? null);
  }

  private singleFlight(rejected: string | null | undefined): Promise<TokenSet> {
    this.inflight ??= this.refreshOnce(rejected).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refreshOnce(rejected: string | null | undefined): Promise<TokenSet> {
    const { store, key } = this.options;
    const current = await store.get(key, FRESH); // re-read: another window may have rotated the refresh token
    // Only a refresh token must never be redeemed twice: that renewal runs inside the store's atomic update. A
    // set without one renews by running its grant again, which holds no lock while it runs (an ID-JAG renewal
    // goes through the IdP, whose own session may live in the same store).
    if (store.update && current?.refreshToken) {
      let result: TokenSet | undefined;
      await store.update(key, async (latest) => (result = await this.renewFrom(latest, rejected)));
      return result!;
    }
    const result = await this.renewFrom(current, rejected);
    if (result !== current) await store.set(key, result);
    return result;
  }

  /** Decides from the stored tokens: keep them (returned as is), or renew them (a new set, to be stored). */
  private async renewFrom(current: TokenSet | undefined, rejected: string | null | undefined): Promise<TokenSet> {
    this.checkBinding(current);
    const replaced = typeof rejected === 'string' && current.accessToken !== rejected;
    if ((rejected === undefined || replaced) && !this.needsRefresh(current)) {
      this.report({ state: 'valid', ...expiry(current) });
      return current;
    }
    // While the set is renewed its tokens are live secrets, so that no message built from what the authorization
    // server answers can repeat one (the access token, which the refresh request does not carry, included).
    const release = holdSecrets(tokenSecrets(current));
    try {
      const next = await this.options.refresh(current);
      this.options.logger?.info(`[refresh] [${this.options.key}] token renewed`);
      this.report({ state: 'valid', ...expiry(next) });
      return next;
    } catch (error) {
      return this.recover(current, error);
    } finally {
      release();
    }
  }

  private async recover(used: TokenSet, error: unknown): Promise<TokenSet> {
    const wrapped =
      error instanceof McpOAuthError ? error : rewrap(error, 'refresh_failed', 'The token refresh failed');
    if (wrapped.code === 'not_signed_in') {
      this.report({ state: 'expired', ...expiry(used), error: wrapped });
      throw wrapped;
    }
    // A refused refresh token ends the session. A session without one renews by running its grant again (client
    // credentials, an ID-JAG, a workload JWT): that grant's refusal is its own answer, reported as it is.
    if (error instanceof OAuthResponseError && error.error === 'invalid_grant' && used.refreshToken) {
      const latest = await this.options.store.get(this.options.key, FRESH);
      if (latest && latest.refreshToken !== used.refreshToken && !isExpired(latest, this.options.now())) {
        this.report({ state: 'valid', ...expiry(latest) });
        return latest; // rotated by another process between our read and our request
      }
      this.options.logger?.warn(
        `[refresh] [${this.options.key}] refresh token rejected (invalid_grant); sign-in needed`,
      );
      this.report({ state: 'expired', ...expiry(used), error: wrapped });
      throw new McpOAuthError('not_signed_in', 'The session has expired or was revoked; sign in again', {
        cause: error,
      });
    }
    const transient =
      error instanceof HttpRequestError || (error instanceof OAuthResponseError && (error.status ?? 0) >= 500);
    if (transient && !isExpired(used, this.options.now())) {
      this.options.logger?.warn(
        `[refresh] [${this.options.key}] authorization server unavailable (${wrapped.code}); keeping the current token until it expires`,
      );
      this.staleToken = used.accessToken;
      this.report({ state: 'stale', ...expiry(used), error: wrapped });
      return used;
    }
    this.report({ state: 'expired', ...expiry(used), error: wrapped });
    throw wrapped;
  }

  private async load(): Promise<TokenSet> {
    const tokens = await this.options.store.get(this.options.key);
    this.checkBinding(tokens);
    return tokens;
  }

  /**
   * A stored set is used only for the server it was issued for: an entry that kept a session's key but names
   * another URL (a renamed or edited entry, or a hostile one reusing a name) must sign in to its own server.
   * Nor is one used that the entry's settings refuse ({@link TokenManagerOptions.refuses}).
   */
  private checkBinding(tokens: TokenSet | undefined): asserts tokens is TokenSet {
    if (!tokens) {
      this.report({ state: 'signed_out' });
      throw new McpOAuthError('not_signed_in', 'Not signed in to this server; sign in first');
    }
    const refused =
      sessionBinding(tokens, this.options.serverUrl) === 'bound'
        ? this.options.refuses?.(tokens)
        : `The stored sign-in was made for ${tokens.serverUrl ? describeUrl(tokens.serverUrl) : 'another server'}, not ${describeUrl(this.options.serverUrl)}; sign in again`;
    if (refused === undefined) return;
    this.report({ state: 'signed_out' });
    throw new McpOAuthError('not_signed_in', refused);
  }

  private needsRefresh(tokens: TokenSet): boolean {
    return isExpired(tokens, this.options.now(), this.options.refreshBeforeMs);
  }

  private report(status: TokenStatus): void {
    if (status.state !== 'stale') this.staleToken = undefined;
    const changed =
      status.state !== this.current.state ||
      status.expiresAt !== this.current.expiresAt ||
      status.error !== this.current.error;
    this.current = status;
    if (changed) this.options.onStatus?.(status);
  }
}

function expiry(tokens: TokenSet): { expiresAt?: number } {
  return tokens.expiresAt !== undefined ? { expiresAt: tokens.expiresAt } : {};
}
