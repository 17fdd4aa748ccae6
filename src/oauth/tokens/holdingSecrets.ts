import { holdSecrets } from '../http/liveSecrets';
import { tokenSecrets, type TokenSet } from './tokenSet';
import type { TokenStore } from './tokenStore';

/**
 * `store`, with the tokens of each set it loads or stores held as live secrets, so that the log sinks and
 * `quote()` scrub them from any line or message, for as long as that set is the one known under its key:
 * until another replaces it or the entry is deleted. The extension wraps its SecretStorage store in it, the
 * CLI its file store: between them they hold every token the process has in memory.
 */
export function holdingSecrets(store: TokenStore): TokenStore {
  const held = new Map<string, { secrets: readonly (string | undefined)[]; release: () => void }>();
  const track = (key: string, tokens: TokenSet | undefined): void => {
    const secrets = tokens ? tokenSecrets(tokens) : [];
    const previous = held.get(key);
    // The same tokens read again (a file store reads on every get): nothing to change, nothing to rebuild.
    const same = previous && secrets.length === previous.secrets.length;
    if (tokens && same && secrets.every((value, i) => value === previous.secrets[i])) return;
    if (tokens) held.set(key, { secrets, release: holdSecrets(secrets) });
    else held.delete(key);
    previous?.release(); // after the new set is held, so a token in both is never let go in between
  };
  const holding: TokenStore = {
    async get(key, options) {
      const tokens = await store.get(key, options);
      track(key, tokens);
      return tokens;
    },
    async set(key, tokens) {
      track(key, tokens);
      await store.set(key, tokens);
    },
    async delete(key) {
      await store.delete(key);
      track(key, undefined);
    },
  };
  if (store.update) {
    const update = store.update.bind(store);
    holding.update = async (key, fn) => {
      const result = await update(key, (current) => {
        track(key, current);
        return fn(current);
      });
      track(key, result);
      return result;
    };
  }
  return holding;
}
