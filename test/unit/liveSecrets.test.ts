import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { buildSync } from 'esbuild';
import * as vm from 'node:vm';
import { quote } from '../../src/oauth/errors';
import { holdSecrets, scrubLive } from '../../src/oauth/http/liveSecrets';
import type * as LiveSecrets from '../../src/oauth/http/liveSecrets';
import { safeLine } from '../../src/oauth/http/logger';
import { holdingSecrets } from '../../src/oauth/tokens/holdingSecrets';
import { MemoryTokenStore } from '../../src/oauth/tokens/memoryTokenStore';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import type { TokenStore } from '../../src/oauth/tokens/tokenStore';

const tokenSet = (accessToken: string, refreshToken?: string): TokenSet => ({
  accessToken,
  tokenType: 'Bearer',
  ...(refreshToken ? { refreshToken } : {}),
  scopes: ['mcp'],
  issuer: 'https://as.example.com',
  clientId: 'c',
  tokenEndpoint: 'https://as.example.com/token',
  obtainedAt: 0,
});

/** Whether `value` is scrubbed from a line now, raw and base64-encoded. */
const live = (value: string): boolean =>
  !scrubLive(`a ${value} b`).includes(value) && !scrubLive(Buffer.from(value).toString('base64')).includes(value);

describe('live secrets (the process-wide registry the log sinks consult)', () => {
  it('scrubs a held value from any line until it is released', () => {
    const release = holdSecrets(['live-secret-0001', undefined, 'short']);
    try {
      assert.ok(live('live-secret-0001'));
      assert.equal(scrubLive('x short y'), 'x short y', 'a value too short to be a secret is not held');
    } finally {
      release();
    }
    assert.ok(!live('live-secret-0001'));
  });

  it('counts holders: a value held twice stays until both let go; releasing again does nothing', () => {
    const first = holdSecrets(['shared-secret-0001']);
    const second = holdSecrets(['shared-secret-0001']);
    first();
    first();
    assert.ok(live('shared-secret-0001'), 'still held by the second holder');
    second();
    assert.ok(!live('shared-secret-0001'));
  });

  it('is one registry for every bundle in the process (the extension loads its core as a second bundle)', () => {
    const { outputFiles } = buildSync({
      entryPoints: ['src/oauth/http/liveSecrets.ts'],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      write: false,
      minify: true,
    });
    const module = { exports: {} as Record<string, unknown> };
    vm.runInThisContext(`(function (module, exports) {${outputFiles[0]!.text}\n})`)(module, module.exports);
    const other = module.exports as unknown as typeof LiveSecrets;
    const release = other.holdSecrets(['held-by-the-other-bundle-0001']);
    try {
      assert.ok(live('held-by-the-other-bundle-0001'));
    } finally {
      release();
    }
  });

  it('never shows what it holds: not enumerable on globalThis, and nothing in it to inspect', () => {
    const release = holdSecrets(['never-listed-0001']);
    try {
      const key = Symbol.for('mcp-oauth.liveSecrets');
      assert.ok(!Object.prototype.propertyIsEnumerable.call(globalThis, key));
      const registry = (globalThis as Record<symbol, unknown>)[key];
      assert.ok(!inspect(registry, { showHidden: true, depth: 10 }).includes('never-listed-0001'));
      assert.ok(!JSON.stringify(registry ?? null).includes('never-listed-0001'));
    } finally {
      release();
    }
  });

  it('safeLine (what every sink writes) removes the live values and the credential shapes', () => {
    const release = holdSecrets(['opaque-live-value-0001']);
    try {
      assert.equal(
        safeLine('careless: opaque-live-value-0001, {"accessToken":"Zm9vYmFy"}'),
        'careless: [redacted], {"accessToken":"[redacted]"}',
      );
    } finally {
      release();
    }
  });

  it('quote() scrubs the live values before it bounds the text, so no cut leaves a live secret behind', () => {
    const secret = 'live-value-at-the-cut-0001';
    const text = `${'x'.repeat(190)} ${secret}`;
    assert.ok(quote(text).includes(secret.slice(0, 9)), 'unheld, the first part survives the cut');
    const release = holdSecrets([secret]);
    try {
      assert.ok(!quote(text).includes(secret.slice(0, 9)), quote(text));
    } finally {
      release();
    }
  });
});

describe('holdingSecrets (a token store whose current sets are live)', () => {
  const stores: [string, () => TokenStore][] = [
    [
      'a store without update',
      () => {
        const memory = new MemoryTokenStore();
        return { get: (k) => memory.get(k), set: (k, t) => memory.set(k, t), delete: (k) => memory.delete(k) };
      },
    ],
    ['a store with update', () => new MemoryTokenStore()],
  ];
  for (const [name, create] of stores) {
    it(`${name}: holds a set when stored or loaded, lets it go when replaced or deleted`, async () => {
      const backing = create();
      await backing.set('other-window', tokenSet('loaded-access-0001', 'loaded-refresh-0001'));
      const store = holdingSecrets(backing);
      await store.get('other-window');
      assert.ok(live('loaded-access-0001') && live('loaded-refresh-0001'), 'loaded');

      await store.set('k', tokenSet('first-access-0001', 'kept-refresh-0001'));
      assert.ok(live('first-access-0001') && live('kept-refresh-0001'), 'stored');
      await store.set('k', tokenSet('second-access-0001', 'kept-refresh-0001'));
      assert.ok(!live('first-access-0001'), 'replaced');
      assert.ok(live('second-access-0001') && live('kept-refresh-0001'), 'a token in both sets stays held');

      assert.equal(!!store.update, name === 'a store with update', 'update only where the store has one');
      if (store.update) {
        await store.update('k', async () => tokenSet('updated-access-0001', 'kept-refresh-0001'));
        assert.ok(!live('second-access-0001') && live('updated-access-0001'), 'renewed in an update');
      }
      await store.delete('k');
      await store.delete('other-window');
      for (const value of ['loaded-access-0001', 'loaded-refresh-0001', 'updated-access-0001', 'kept-refresh-0001'])
        assert.ok(!live(value), `${value} let go on delete`);
    });
  }

  it('re-reading the same tokens holds them once', async () => {
    const store = holdingSecrets(new MemoryTokenStore());
    await store.set('k', tokenSet('reread-access-0001'));
    await store.get('k');
    await store.get('k');
    assert.ok(live('reread-access-0001'));
    await store.delete('k');
    assert.ok(!live('reread-access-0001'), 'one delete lets go of it: it was held once');
  });
});
