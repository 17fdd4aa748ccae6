import assert from 'node:assert/strict';
import { HttpRequestError, McpOAuthError, OAuthResponseError } from '../../src/oauth/errors';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import { TokenManager, type TokenStatus } from '../../src/oauth/tokens/tokenManager';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import type { TokenStore } from '../../src/oauth/tokens/tokenStore';

/**
 * The token manager against an in-memory store, an injected clock and a fake refresh function that counts
 * its calls. (The same manager against a real authorization server is tested elsewhere.)
 */

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const MARGIN = 120_000;
const KEY = 'https://mcp.example.com/mcp';
const SERVER = KEY;

function tokenSet(n: number, expiresAt: number | undefined, patch: Partial<TokenSet> = {}): TokenSet {
  return {
    accessToken: `at-${n}`,
    tokenType: 'Bearer',
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    refreshToken: `rt-${n}`,
    scopes: ['mcp'],
    issuer: 'https://as.example.com',
    clientId: 'client-1',
    tokenEndpoint: 'https://as.example.com/token',
    serverUrl: SERVER,
    obtainedAt: T0,
    ...patch,
  };
}

type Step = (tokens: TokenSet, call: number) => TokenSet | Promise<TokenSet>;

/** A refresh function that records every call and runs `step`; by default it fails the test if called. */
class FakeRefresh {
  readonly calls: TokenSet[] = [];
  constructor(private step: Step = () => assert.fail('refresh was not expected')) {}
  then(step: Step): void {
    this.step = step;
  }
  readonly fn = async (tokens: TokenSet): Promise<TokenSet> => {
    this.calls.push(tokens);
    return this.step(tokens, this.calls.length);
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rotates to token set `n + 1`, valid for an hour from the clock. */
const rotate =
  (clock: { now: number }): Step =>
  (tokens) =>
    tokenSet(Number(tokens.accessToken.slice(3)) + 1, clock.now + HOUR);

describe('TokenManager', () => {
  let clock: { now: number };
  let store: MemoryTokenStore;
  let refresh: FakeRefresh;
  let statuses: TokenStatus[];

  const manager = () =>
    new TokenManager({
      key: KEY,
      serverUrl: SERVER,
      store,
      refresh: refresh.fn,
      now: () => clock.now,
      refreshBeforeMs: MARGIN,
      onStatus: (s) => statuses.push(s),
    });

  beforeEach(() => {
    clock = { now: T0 };
    store = new MemoryTokenStore();
    refresh = new FakeRefresh();
    statuses = [];
  });

  describe('fresh tokens', () => {
    it('returns the stored token without refreshing', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      const tm = manager();
      assert.equal(await tm.getAccessToken(), 'at-1');
      assert.deepEqual(tm.status, { state: 'valid', expiresAt: T0 + HOUR });
      assert.equal(refresh.calls.length, 0);
    });

    it('returns a token with no known expiry without refreshing', async () => {
      await store.set(KEY, tokenSet(1, undefined));
      const tm = manager();
      clock.now += 365 * 24 * HOUR;
      assert.equal(await tm.getAccessToken(), 'at-1');
      assert.equal(tm.status.state, 'valid');
      assert.equal(refresh.calls.length, 0);
    });

    it('returns the whole token set from getTokens', async () => {
      const stored = tokenSet(1, T0 + HOUR);
      await store.set(KEY, stored);
      assert.deepEqual(await manager().getTokens(), stored);
    });
  });

  describe('refreshing ahead of expiry (refreshBeforeMs)', () => {
    const table: { name: string; expiresIn: number; refreshes: boolean }[] = [
      { name: 'an hour left', expiresIn: HOUR, refreshes: false },
      { name: 'one millisecond more than the margin left', expiresIn: MARGIN + 1, refreshes: false },
      { name: 'exactly the margin left', expiresIn: MARGIN, refreshes: true },
      { name: 'a minute left (inside the margin)', expiresIn: 60_000, refreshes: true },
      { name: 'just expired', expiresIn: 0, refreshes: true },
      { name: 'expired an hour ago', expiresIn: -HOUR, refreshes: true },
    ];
    for (const { name, expiresIn, refreshes } of table) {
      it(`${name}: ${refreshes ? 'refreshes' : 'does not refresh'}`, async () => {
        await store.set(KEY, tokenSet(1, T0 + expiresIn));
        if (refreshes) refresh.then(rotate(clock));
        const tm = manager();
        assert.equal(await tm.getAccessToken(), refreshes ? 'at-2' : 'at-1');
        assert.equal(refresh.calls.length, refreshes ? 1 : 0);
        assert.equal(tm.status.state, 'valid');
      });
    }

    it('passes the stored set to refresh, stores the result and reports its expiry', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then(rotate(clock));
      const tm = manager();
      const tokens = await tm.getTokens();
      assert.equal(refresh.calls[0]?.refreshToken, 'rt-1');
      assert.deepEqual(await store.get(KEY), tokens);
      assert.deepEqual(tm.status, { state: 'valid', expiresAt: T0 + HOUR });
    });

    it('uses the refreshed token afterwards without another refresh', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then(rotate(clock));
      const tm = manager();
      await tm.getAccessToken();
      assert.equal(await tm.getAccessToken(), 'at-2');
      assert.equal(await tm.getAccessToken(), 'at-2');
      assert.equal(refresh.calls.length, 1);
    });

    it("refreshes inside the store's atomic update when the store has one", async () => {
      class WatchedStore extends MemoryTokenStore {
        inside = 0;
        override update(
          key: string,
          fn: (current: TokenSet | undefined) => TokenSet | undefined | Promise<TokenSet | undefined>,
        ) {
          assert.equal(key, KEY);
          return super.update(key, async (current) => {
            this.inside++;
            try {
              return await fn(current);
            } finally {
              this.inside--;
            }
          });
        }
      }
      const watched = new WatchedStore();
      await watched.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then((tokens) => {
        assert.equal(watched.inside, 1, 'refresh ran outside the store update');
        return rotate(clock)(tokens, 1);
      });
      const tm = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: watched,
        refresh: refresh.fn,
        now: () => clock.now,
        refreshBeforeMs: MARGIN,
      });
      assert.equal(await tm.getAccessToken(), 'at-2');
      assert.equal((await watched.get(KEY))?.accessToken, 'at-2');
      assert.equal(refresh.calls.length, 1);
    });

    it('works with a store that has no update: re-reads, then stores the refreshed set', async () => {
      const entries = new Map<string, TokenSet>([[KEY, tokenSet(1, T0 + 60_000)]]);
      const plain: TokenStore = {
        get: async (key) => entries.get(key),
        set: async (key, tokens) => void entries.set(key, tokens),
        delete: async (key) => void entries.delete(key),
      };
      refresh.then(rotate(clock));
      const tm = new TokenManager({
        key: KEY,
        serverUrl: SERVER,
        store: plain,
        refresh: refresh.fn,
        now: () => clock.now,
        refreshBeforeMs: MARGIN,
      });
      assert.equal(await tm.getAccessToken(), 'at-2');
      assert.equal(entries.get(KEY)?.accessToken, 'at-2');
      assert.equal(await tm.getAccessToken(), 'at-2');
      assert.equal(refresh.calls.length, 1);
    });
  });

  describe('single flight', () => {
    it('20 concurrent getAccessToken calls on an expiring token cause exactly one refresh', async () => {
      await store.set(KEY, tokenSet(1, T0 + 10_000));
      refresh.then(async (tokens) => {
        await delay(20);
        return rotate(clock)(tokens, 1);
      });
      const tm = manager();
      const results = await Promise.all(Array.from({ length: 20 }, () => tm.getAccessToken()));
      assert.equal(refresh.calls.length, 1);
      assert.deepEqual(new Set(results), new Set(['at-2']));
    });

    it('getAccessToken, getTokens and forceRefresh racing share one refresh', async () => {
      await store.set(KEY, tokenSet(1, T0 + 10_000));
      refresh.then(async (tokens) => {
        await delay(20);
        return rotate(clock)(tokens, 1);
      });
      const tm = manager();
      const results = await Promise.all([
        ...Array.from({ length: 5 }, () => tm.getAccessToken()),
        ...Array.from({ length: 5 }, async () => (await tm.getTokens()).accessToken),
        ...Array.from({ length: 5 }, async () => (await tm.forceRefresh('at-1')).accessToken),
      ]);
      assert.equal(refresh.calls.length, 1);
      assert.deepEqual(new Set(results), new Set(['at-2']));
    });

    it('20 concurrent callers on a revoked session: one refresh, every caller gets not_signed_in', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1));
      refresh.then(async () => {
        await delay(10);
        throw new OAuthResponseError('refresh_failed', 'x', 'invalid_grant', 400);
      });
      const tm = manager();
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => tm.getAccessToken()));
      assert.equal(refresh.calls.length, 1);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(result.reason instanceof McpOAuthError);
        assert.equal(result.reason.code, 'not_signed_in');
      }
    });

    it('a refresh after a settled one is a new flight', async () => {
      await store.set(KEY, tokenSet(1, T0 + 10_000));
      refresh.then(rotate(clock));
      const tm = manager();
      assert.equal(await tm.getAccessToken(), 'at-2');
      clock.now += HOUR;
      assert.equal(await tm.getAccessToken(), 'at-3');
      assert.equal(refresh.calls.length, 2);
    });
  });

  describe('forceRefresh', () => {
    it('returns the newer stored token without a request when the rejected one was already replaced', async () => {
      await store.set(KEY, tokenSet(2, T0 + HOUR));
      const tm = manager();
      const tokens = await tm.forceRefresh('at-1');
      assert.equal(tokens.accessToken, 'at-2');
      assert.equal(refresh.calls.length, 0);
      assert.equal(tm.status.state, 'valid');
    });

    it('refreshes when the stored token is the rejected one, even before expiry', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      refresh.then(rotate(clock));
      const tm = manager();
      assert.equal((await tm.forceRefresh('at-1')).accessToken, 'at-2');
      assert.equal(refresh.calls.length, 1);
    });

    it('refreshes when the replacement is itself about to expire', async () => {
      await store.set(KEY, tokenSet(2, T0 + 1000));
      refresh.then(rotate(clock));
      const tm = manager();
      assert.equal((await tm.forceRefresh('at-1')).accessToken, 'at-3');
      assert.equal(refresh.calls.length, 1);
    });

    it('refreshes unconditionally without a rejected token', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      refresh.then(rotate(clock));
      assert.equal((await manager().forceRefresh()).accessToken, 'at-2');
      assert.equal(refresh.calls.length, 1);
    });
  });

  describe('a rejected refresh token (invalid_grant)', () => {
    const invalidGrant = () => new OAuthResponseError('refresh_failed', 'x', 'invalid_grant', 400);

    it('throws not_signed_in and reports expired', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1));
      const cause = invalidGrant();
      refresh.then(() => {
        throw cause;
      });
      const tm = manager();
      await assert.rejects(tm.getAccessToken(), (error: unknown) => {
        assert.ok(error instanceof McpOAuthError);
        assert.equal(error.code, 'not_signed_in');
        assert.equal(error.cause, cause);
        return true;
      });
      assert.equal(tm.status.state, 'expired');
      assert.equal(tm.status.error, cause);
      assert.equal(refresh.calls.length, 1);
    });

    it('also when the token is still valid but the rejected one is forced', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      refresh.then(() => {
        throw invalidGrant();
      });
      const tm = manager();
      await assert.rejects(
        tm.forceRefresh('at-1'),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      assert.equal(tm.status.state, 'expired');
    });

    it('returns the newer tokens when another writer rotated the store meanwhile', async () => {
      await store.set(KEY, tokenSet(1, T0 + 10_000));
      refresh.then(async () => {
        // another window redeemed rt-1 first and stored its result; ours is now rejected
        await store.set(KEY, tokenSet(7, T0 + HOUR));
        throw invalidGrant();
      });
      const tm = manager();
      assert.equal(await tm.getAccessToken(), 'at-7');
      assert.deepEqual(tm.status, { state: 'valid', expiresAt: T0 + HOUR });
      assert.equal(refresh.calls.length, 1);
      assert.equal((await store.get(KEY))?.accessToken, 'at-7');
    });

    it('does not return a rotated set that has itself expired', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1));
      refresh.then(async () => {
        await store.set(KEY, tokenSet(7, T0 - 1));
        throw invalidGrant();
      });
      const tm = manager();
      await assert.rejects(
        tm.getAccessToken(),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      assert.equal(tm.status.state, 'expired');
    });
  });

  describe('a transient failure (the authorization server is unreachable)', () => {
    const transientErrors: [string, () => Error][] = [
      [
        'HttpRequestError network_error',
        () => new HttpRequestError('network_error', 'Could not reach https://as.example.com/token'),
      ],
      [
        'HttpRequestError timeout',
        () => new HttpRequestError('timeout', 'https://as.example.com/token did not answer within 30 s'),
      ],
      [
        'OAuthResponseError with status 503',
        () => new OAuthResponseError('refresh_failed', 'x', 'temporarily_unavailable', 503),
      ],
      [
        'HttpRequestError http_error',
        () => new HttpRequestError('http_error', 'https://as.example.com/token answered HTTP 502'),
      ],
    ];

    for (const [name, make] of transientErrors) {
      it(`${name} while the token is still valid: returns the old token, status stale; a later success → valid`, async () => {
        const old = tokenSet(1, T0 + 60_000);
        await store.set(KEY, old);
        const error = make();
        refresh.then(() => {
          throw error;
        });
        const tm = manager();
        assert.equal(await tm.getAccessToken(), 'at-1');
        assert.equal(tm.status.state, 'stale');
        assert.equal(tm.status.expiresAt, T0 + 60_000);
        assert.equal(tm.status.error, error);
        assert.deepEqual(await store.get(KEY), old);

        clock.now += 10_000;
        refresh.then(rotate(clock));
        assert.equal(await tm.getAccessToken(), 'at-2');
        assert.deepEqual(tm.status, { state: 'valid', expiresAt: clock.now + HOUR });
        assert.equal(refresh.calls.length, 2);
      });
    }

    it('stays stale while the outage lasts', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then(() => {
        throw new HttpRequestError('network_error', 'down');
      });
      const tm = manager();
      for (let i = 0; i < 3; i++) {
        assert.equal(await tm.getAccessToken(), 'at-1');
        assert.equal(tm.status.state, 'stale');
        clock.now += 10_000;
      }
      assert.ok(refresh.calls.length >= 1);
    });

    it('throws once the token has hard-expired', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      const error = new HttpRequestError('network_error', 'down');
      refresh.then(() => {
        throw error;
      });
      const tm = manager();
      assert.equal(await tm.getAccessToken(), 'at-1');
      clock.now = T0 + 60_000;
      await assert.rejects(tm.getAccessToken(), (thrown: unknown) => {
        assert.equal(thrown, error);
        return true;
      });
      assert.notEqual(tm.status.state, 'valid');
      assert.equal(tm.status.error, error);
    });

    it('throws on an already expired token (status not valid)', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1));
      refresh.then(() => {
        throw new OAuthResponseError('refresh_failed', 'x', 'temporarily_unavailable', 503);
      });
      const tm = manager();
      await assert.rejects(
        tm.getAccessToken(),
        (error: unknown) => error instanceof OAuthResponseError && error.status === 503,
      );
      assert.notEqual(tm.status.state, 'valid');
    });

    it('reports valid again when another window stored a fresh token during the outage', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then(() => {
        throw new HttpRequestError('network_error', 'down');
      });
      const tm = manager();
      assert.equal(await tm.getAccessToken(), 'at-1');
      assert.equal(tm.status.state, 'stale');
      await store.set(KEY, tokenSet(5, T0 + HOUR));
      assert.equal(await tm.getAccessToken(), 'at-5');
      assert.deepEqual(tm.status, { state: 'valid', expiresAt: T0 + HOUR });
      assert.equal(refresh.calls.length, 1);
    });
  });

  describe('other failures', () => {
    it('a non-McpOAuthError from refresh becomes refresh_failed with the original as cause', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1));
      const bug = new TypeError('boom');
      refresh.then(() => {
        throw bug;
      });
      const tm = manager();
      await assert.rejects(tm.getAccessToken(), (error: unknown) => {
        assert.ok(error instanceof McpOAuthError);
        assert.equal(error.code, 'refresh_failed');
        assert.equal(error.cause, bug);
        return true;
      });
      assert.equal(tm.status.state, 'expired');
    });

    it('refresh reporting not_signed_in (no refresh token) → rethrown as is, status expired', async () => {
      await store.set(KEY, tokenSet(1, T0 - 1, { refreshToken: undefined }));
      const noRefresh = new McpOAuthError('not_signed_in', 'no refresh token');
      refresh.then(() => {
        throw noRefresh;
      });
      const tm = manager();
      await assert.rejects(tm.getAccessToken(), (error: unknown) => error === noRefresh);
      assert.equal(tm.status.state, 'expired');
      assert.equal(refresh.calls.length, 1);
    });
  });

  describe('signed out', () => {
    it('no stored tokens → not_signed_in, status signed_out, no refresh', async () => {
      const tm = manager();
      await assert.rejects(
        tm.getAccessToken(),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      assert.deepEqual(tm.status, { state: 'signed_out' });
      await assert.rejects(
        tm.forceRefresh(),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      await assert.rejects(
        tm.forceRefresh('at-1'),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      assert.equal(refresh.calls.length, 0);
    });

    it('tokens deleted from the store (signed out elsewhere) → signed_out', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      const tm = manager();
      await tm.getAccessToken();
      await store.delete(KEY);
      await assert.rejects(
        tm.getAccessToken(),
        (error: unknown) => error instanceof McpOAuthError && error.code === 'not_signed_in',
      );
      assert.deepEqual(tm.status, { state: 'signed_out' });
    });
  });

  describe('onStatus', () => {
    it('fires on each change and only on a change', async () => {
      await store.set(KEY, tokenSet(1, T0 + HOUR));
      const tm = manager();
      await tm.getAccessToken();
      await tm.getAccessToken();
      assert.deepEqual(statuses, [{ state: 'valid', expiresAt: T0 + HOUR }]);

      clock.now = T0 + HOUR - 60_000;
      refresh.then(rotate(clock));
      await tm.getAccessToken();
      assert.deepEqual(statuses.at(-1), { state: 'valid', expiresAt: clock.now + HOUR });

      clock.now += HOUR - 60_000;
      const down = new HttpRequestError('network_error', 'down');
      refresh.then(() => {
        throw down;
      });
      await tm.getAccessToken();
      assert.deepEqual(statuses.at(-1), { state: 'stale', expiresAt: clock.now + 60_000, error: down });

      refresh.then(rotate(clock));
      await tm.getAccessToken();
      assert.deepEqual(statuses.at(-1), { state: 'valid', expiresAt: clock.now + HOUR });

      await store.delete(KEY);
      await tm.getAccessToken().catch(() => undefined);
      assert.deepEqual(
        statuses.map((s) => s.state),
        ['valid', 'valid', 'stale', 'valid', 'signed_out'],
      );
    });

    it('does not fire for the initial signed-out state', async () => {
      const tm = manager();
      await tm.getAccessToken().catch(() => undefined);
      assert.deepEqual(statuses, []);
      assert.equal(tm.status.state, 'signed_out');
    });

    it('fires expired when the session is revoked', async () => {
      await store.set(KEY, tokenSet(1, T0 + 60_000));
      refresh.then(() => {
        throw new OAuthResponseError('refresh_failed', 'x', 'invalid_grant', 400);
      });
      const tm = manager();
      await tm.getAccessToken().catch(() => undefined);
      assert.deepEqual(
        statuses.map((s) => s.state),
        ['expired'],
      );
    });
  });
});
