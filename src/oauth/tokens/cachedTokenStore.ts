import type { TokenSet } from './tokenSet';
import type { ReadOptions, TokenStore } from './tokenStore';

/**
 * Answers reads from memory, so handing out a token costs no trip to a slow store (SecretStorage is an IPC
 * round trip from the extension host). Writes go through and update the copy. Whoever can see changes made
 * elsewhere (another window) calls {@link invalidate}; until then a read may return the previous value,
 * which is why the token manager asks for a `fresh` read before it refreshes or gives up on a session.
 * Damaged entries are never cached: each read reports them again.
 */
export class CachedTokenStore implements TokenStore {
  private readonly cache = new Map<string, TokenSet | undefined>();
  /** Bumped by every write and invalidation, so a read that started before one never caches its result. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly backing: TokenStore) {}

  async get(key: string, options?: ReadOptions): Promise<TokenSet | undefined> {
    if (!options?.fresh && this.cache.has(key)) return this.cache.get(key);
    const generation = this.generation(key);
    const tokens = await this.backing.get(key, options);
    if (this.generation(key) === generation) this.cache.set(key, tokens);
    return tokens;
  }

  async set(key: string, tokens: TokenSet): Promise<void> {
    this.invalidate(key);
    await this.backing.set(key, tokens);
    this.invalidate(key);
    this.cache.set(key, tokens);
  }

  async delete(key: string): Promise<void> {
    this.invalidate(key);
    await this.backing.delete(key);
    this.invalidate(key);
    this.cache.set(key, undefined);
  }

  /** The entry changed outside this store: the next read goes to the backing store. */
  invalidate(key: string): void {
    this.cache.delete(key);
    this.generations.set(key, this.generation(key) + 1);
  }

  private generation(key: string): number {
    return this.generations.get(key) ?? 0;
  }
}
