import type { TokenSet } from './tokenSet';
import type { TokenStore } from './tokenStore';

/**
 * Token sets kept in a Map, for tests and for callers that need no persistence. `update` has the same
 * read-modify-write contract as {@link FileTokenStore.update}: calls are serialised, so a rotated refresh
 * token is never read by a second caller before the first one has stored its replacement.
 */
export class MemoryTokenStore implements TokenStore {
  private readonly entries = new Map<string, TokenSet>();
  private queue: Promise<unknown> = Promise.resolve();

  async get(key: string): Promise<TokenSet | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, tokens: TokenSet): Promise<void> {
    this.entries.set(key, tokens);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async keys(): Promise<string[]> {
    return [...this.entries.keys()].sort();
  }

  /**
   * Reads the entry, passes it to `fn` and stores what `fn` returns: `undefined` deletes the entry, the same
   * object leaves it untouched. Resolves with the stored value. Concurrent calls run one after another.
   */
  update(
    key: string,
    fn: (current: TokenSet | undefined) => TokenSet | undefined | Promise<TokenSet | undefined>,
  ): Promise<TokenSet | undefined> {
    const run = this.queue.then(async () => {
      const next = await fn(this.entries.get(key));
      if (next === undefined) this.entries.delete(key);
      else this.entries.set(key, next);
      return next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
