import type { TokenSet } from './tokenSet';

/**
 * Where token sets live, keyed by an opaque key (server and account). The VS Code adapter keeps them in
 * SecretStorage; the CLI in a 0600 file; tests in memory. Implementations must return what was last `set`,
 * even when another process or window wrote it (the token manager re-reads before refreshing).
 */
export interface TokenStore {
  get(key: string): Promise<TokenSet | undefined>;
  set(key: string, tokens: TokenSet): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Runs `fn` while holding an exclusive lock on `key` across processes, when the store can; the token
   * manager refreshes inside it so two processes never redeem the same refresh token.
   */
  withLock?<T>(key: string, fn: () => Promise<T>): Promise<T>;
}
