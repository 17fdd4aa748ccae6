import { JsonFileStore, type EntryUpdate, type JsonFileStoreOptions } from './jsonFileStore';
import { isTokenSet, type TokenSet } from '../../oauth/tokens/tokenSet';
import type { TokenStore } from '../../oauth/tokens/tokenStore';

/**
 * Token sets in a 0600 JSON file (the CLI's `tokens.json`). Each call reads the file again, so a refresh
 * token rotated by another process is seen; `update` is the read-modify-write the token manager uses so
 * that two processes never both redeem the same refresh token.
 */
export class FileTokenStore implements TokenStore {
  private readonly store: JsonFileStore<TokenSet>;

  constructor(filePath: string, options: Omit<JsonFileStoreOptions<TokenSet>, 'isValue'> = {}) {
    this.store = new JsonFileStore<TokenSet>(filePath, { ...options, isValue: isTokenSet });
  }

  get filePath(): string {
    return this.store.filePath;
  }

  get(key: string): Promise<TokenSet | undefined> {
    return this.store.get(key);
  }

  set(key: string, tokens: TokenSet): Promise<void> {
    return this.store.set(key, tokens);
  }

  delete(key: string): Promise<void> {
    return this.store.delete(key);
  }

  keys(): Promise<string[]> {
    return this.store.keys();
  }

  /** See {@link JsonFileStore.update}: `undefined` deletes, `current` itself writes nothing. */
  update(key: string, fn: EntryUpdate<TokenSet>): Promise<TokenSet | undefined> {
    return this.store.update(key, fn);
  }
}
