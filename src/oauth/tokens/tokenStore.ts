import type { TokenSet } from './tokenSet';

export interface ReadOptions {
  /** Bypass any cache: what is stored now, which may have been written by another window or process. */
  readonly fresh?: boolean;
}

/**
 * Where token sets live, keyed by an opaque key (server and account). The VS Code adapter keeps them in
 * SecretStorage; the CLI in a 0600 file; tests in memory. Implementations must return what was last `set`,
 * even when another process or window wrote it; a caching store must at least do so for a `fresh` read (the
 * token manager reads fresh before refreshing).
 */
export interface TokenStore {
  get(key: string, options?: ReadOptions): Promise<TokenSet | undefined>;
  set(key: string, tokens: TokenSet): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * An atomic read-modify-write of one entry, across processes where the store can: `fn` sees the entry
   * as stored now and no other writer comes between. Returning `current` itself writes nothing. The token
   * manager refreshes inside it, so two processes never redeem the same refresh token.
   */
  update?(
    key: string,
    fn: (current: TokenSet | undefined) => Promise<TokenSet | undefined>,
  ): Promise<TokenSet | undefined>;
}
