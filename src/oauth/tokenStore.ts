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
   * An atomic read-modify-write of one entry, across processes where the store can: `fn` sees the entry
   * as stored now and no other writer comes between. Returning `current` itself writes nothing. The token
   * manager refreshes inside it, so two processes never redeem the same refresh token.
   */
  update?(key: string, fn: (current: TokenSet | undefined) => Promise<TokenSet | undefined>): Promise<TokenSet | undefined>;
}
