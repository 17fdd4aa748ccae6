import assert from 'node:assert/strict';
import { CachedTokenStore } from '../../src/oauth/tokens/cachedTokenStore';
import { McpOAuthError, OAuthResponseError } from '../../src/oauth/errors';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import { TokenManager } from '../../src/oauth/tokens/tokenManager';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import type { ReadOptions, TokenStore } from '../../src/oauth/tokens/tokenStore';

/**
 * The in-memory copy in front of a slow store (SecretStorage in the extension): reads come from memory,
 * writes go through, invalidation and `fresh` reads see what another window wrote, and a token manager
 * on top never replays a refresh token another window has rotated.
 */

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const KEY = 'server-a';
const SERVER = 'https://mcp.example.com/mcp';

function tokenSet(n: number, expiresAt = T0 + HOUR): TokenSet {
  return {
    accessToken: `at-${n}`,
    tokenType: 'Bearer',
    expiresAt,
    refreshToken: `rt-${n}`,
    scopes: ['mcp'],
    issuer: 'https://as.example.com',
    clientId: 'client-1',
    tokenEndpoint: 'https://as.example.com/token',
    serverUrl: SERVER,
    obtainedAt: T0,
  };
}

/** The backing store, counting reads; a read can be held open to test writes that overtake it. */
class CountingStore implements TokenStore {
  readonly inner = new MemoryTokenStore();
  reads = 0;
  freshReads = 0;
  hold: Promise<void> | undefined;
  damaged = false;

  async get(key: string, options?: ReadOptions): Promise<TokenSet | undefined> {
    this.reads++;
    if (options?.fresh) this.freshReads++;
    const value = await this.inner.get(key);
    if (this.hold) await this.hold;
    if (this.damaged) throw new McpOAuthError('storage_error', 'damaged');
    return value;
  }
  set(key: string, tokens: TokenSet): Promise<void> {
    return this.inner.set(key, tokens);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

describe('CachedTokenStore', () => {
  let backing: CountingStore;
  let cached: CachedTokenStore;

  beforeEach(() => {
    backing = new CountingStore();
    cached = new CachedTokenStore(backing);
  });

  it('reads the backing store once, then answers from memory', async () => {
    await backing.set(KEY, tokenSet(1));
    for (let i = 0; i < 5; i++) assert.equal((await cached.get(KEY))?.accessToken, 'at-1');
    assert.equal(backing.reads, 1);
  });

  it('remembers an absent entry too', async () => {
    assert.equal(await cached.get(KEY), undefined);
    assert.equal(await cached.get(KEY), undefined);
    assert.equal(backing.reads, 1);
  });

  it('writes through, and the next read is the written value without a read', async () => {
    await cached.set(KEY, tokenSet(2));
    assert.equal((await backing.get(KEY))?.accessToken, 'at-2', 'written to the backing store');
    backing.reads = 0;
    assert.equal((await cached.get(KEY))?.accessToken, 'at-2');
    assert.equal(backing.reads, 0);
  });

  it('deletes through, and then reads undefined without a read', async () => {
    await cached.set(KEY, tokenSet(1));
    await cached.delete(KEY);
    assert.equal(await backing.get(KEY), undefined);
    backing.reads = 0;
    assert.equal(await cached.get(KEY), undefined);
    assert.equal(backing.reads, 0);
  });

  it('keeps the previous value for a change made elsewhere until invalidated', async () => {
    await cached.set(KEY, tokenSet(1));
    await backing.set(KEY, tokenSet(2)); // another window
    assert.equal((await cached.get(KEY))?.accessToken, 'at-1', 'not yet told');
    cached.invalidate(KEY);
    assert.equal((await cached.get(KEY))?.accessToken, 'at-2');
  });

  it('a fresh read goes to the backing store and updates the copy', async () => {
    await cached.set(KEY, tokenSet(1));
    await backing.set(KEY, tokenSet(2));
    assert.equal((await cached.get(KEY, { fresh: true }))?.accessToken, 'at-2');
    assert.equal(backing.freshReads, 1, 'the option reaches the backing store');
    backing.reads = 0;
    assert.equal((await cached.get(KEY))?.accessToken, 'at-2');
    assert.equal(backing.reads, 0);
  });

  it('a read that a write overtakes does not put the older value back', async () => {
    await backing.set(KEY, tokenSet(1));
    let release!: () => void;
    backing.hold = new Promise((r) => (release = r));
    const slowRead = cached.get(KEY); // reads at-1, then waits
    await new Promise((r) => setImmediate(r));
    backing.hold = undefined;
    await cached.set(KEY, tokenSet(2));
    release();
    assert.equal((await slowRead)?.accessToken, 'at-1', 'the read returns what it read');
    assert.equal((await cached.get(KEY))?.accessToken, 'at-2', 'but the copy is the newer write');
  });

  it('a read that an invalidation overtakes is not cached', async () => {
    await backing.set(KEY, tokenSet(1));
    let release!: () => void;
    backing.hold = new Promise((r) => (release = r));
    const slowRead = cached.get(KEY);
    await new Promise((r) => setImmediate(r));
    backing.hold = undefined;
    await backing.set(KEY, tokenSet(2));
    cached.invalidate(KEY);
    release();
    await slowRead;
    assert.equal((await cached.get(KEY))?.accessToken, 'at-2');
  });

  it('never caches a damaged entry: each read reports it, and a reset clears it', async () => {
    await backing.set(KEY, tokenSet(1));
    backing.damaged = true;
    await assert.rejects(cached.get(KEY), (e: unknown) => e instanceof McpOAuthError && e.code === 'storage_error');
    await assert.rejects(cached.get(KEY), (e: unknown) => e instanceof McpOAuthError && e.code === 'storage_error');
    assert.equal(backing.reads, 2);
    backing.damaged = false;
    await cached.delete(KEY);
    assert.equal(await cached.get(KEY), undefined);
  });

  it('keeps entries apart', async () => {
    await cached.set('a', tokenSet(1));
    await cached.set('b', tokenSet(2));
    cached.invalidate('a');
    backing.reads = 0;
    assert.equal((await cached.get('b'))?.accessToken, 'at-2');
    assert.equal(backing.reads, 0, 'b was not invalidated');
    assert.equal((await cached.get('a'))?.accessToken, 'at-1');
    assert.equal(backing.reads, 1);
  });

  describe('under a token manager, with another window on the same backing store', () => {
    const clock = { now: T0 };
    beforeEach(() => (clock.now = T0));

    /** A rotating AS: each refresh token works once. */
    function rotatingAs() {
      const used = new Set<string>();
      let next = 100;
      const calls: string[] = [];
      const refresh = async (tokens: TokenSet): Promise<TokenSet> => {
        calls.push(tokens.refreshToken!);
        if (used.has(tokens.refreshToken!))
          throw new OAuthResponseError('refresh_failed', 'refresh token already used', 'invalid_grant', 400);
        used.add(tokens.refreshToken!);
        return tokenSet(next++, clock.now + HOUR);
      };
      return { refresh, calls };
    }

    it('hands out the token from memory: no store read per call', async () => {
      await cached.set(KEY, tokenSet(1));
      const manager = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: cached,
        refresh: rotatingAs().refresh,
        now: () => clock.now,
        refreshBeforeMs: 60_000,
      });
      backing.reads = 0;
      for (let i = 0; i < 100; i++) assert.equal(await manager.getAccessToken(), 'at-1');
      assert.equal(backing.reads, 0);
    });

    it('refreshes with the refresh token another window rotated, though this window was not told yet', async () => {
      const as = rotatingAs();
      await cached.set(KEY, tokenSet(1, T0 + 30_000)); // about to expire
      // The other window refreshed first: rt-1 is spent, and the backing store holds its result.
      const other = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: backing,
        refresh: as.refresh,
        now: () => clock.now,
        refreshBeforeMs: 60_000,
      });
      const theirs = await other.getAccessToken();
      const ours = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: cached,
        refresh: as.refresh,
        now: () => clock.now,
        refreshBeforeMs: 60_000,
      });
      // No invalidate(): the change event has not arrived. The manager's fresh re-read still sees it.
      assert.equal(await ours.getAccessToken(), theirs);
      assert.deepEqual(as.calls, ['rt-1'], 'one refresh in all, and rt-1 was never replayed');
      assert.equal(ours.status.state, 'valid');
    });

    it('sees a sign-out in another window once invalidated', async () => {
      await cached.set(KEY, tokenSet(1));
      const manager = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: cached,
        refresh: rotatingAs().refresh,
        now: () => clock.now,
        refreshBeforeMs: 60_000,
      });
      assert.equal(await manager.getAccessToken(), 'at-1');
      await backing.delete(KEY);
      cached.invalidate(KEY);
      await assert.rejects(
        manager.getAccessToken(),
        (e: unknown) => e instanceof McpOAuthError && e.code === 'not_signed_in',
      );
    });
  });
});
