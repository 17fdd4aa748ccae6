import { JsonFileStore, type EntryUpdate, type JsonFileStoreOptions } from './jsonFileStore';
import type { TokenSet } from './tokenSet';
import type { TokenStore } from './tokenStore';

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

/** Whether a value read back from storage has the shape of a {@link TokenSet}. */
export function isTokenSet(value: unknown): value is TokenSet {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    isNonEmptyString(v.accessToken) &&
    isNonEmptyString(v.tokenType) &&
    isOptional(v.expiresAt, isFiniteNumber) &&
    isOptional(v.refreshToken, isNonEmptyString) &&
    isOptional(v.idToken, isNonEmptyString) &&
    Array.isArray(v.scopes) &&
    v.scopes.every((scope) => typeof scope === 'string') &&
    isNonEmptyString(v.issuer) &&
    isNonEmptyString(v.clientId) &&
    isNonEmptyString(v.tokenEndpoint) &&
    isOptional(v.resource, isNonEmptyString) &&
    isFiniteNumber(v.obtainedAt)
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isOptional(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || check(value);
}
