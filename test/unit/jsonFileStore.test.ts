import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { McpOAuthError } from '../../src/oauth/errors';
import { FileTokenStore } from '../../src/cli/store/fileTokenStore';
import { isTokenSet } from '../../src/oauth/tokens/tokenSet';
import { JsonFileStore } from '../../src/cli/store/jsonFileStore';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';

const isWindows = process.platform === 'win32';
const repoRoot = path.resolve(__dirname, '..', '..');

function isCount(value: unknown): value is number {
  return typeof value === 'number';
}

function tokens(accessToken: string, refreshToken?: string): TokenSet {
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresAt: 1_700_000_060_000,
    ...(refreshToken !== undefined && { refreshToken }),
    scopes: ['read', 'write'],
    issuer: 'https://as.example',
    clientId: 'client-1',
    tokenEndpoint: 'https://as.example/token',
    obtainedAt: 1_700_000_000_000,
  };
}

/** An update callback that yields to the event loop between read and write, so unserialised writers would race. */
function slowIncrement(current: number | undefined): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve((current ?? 0) + 1)));
}

async function assertStorageError(promise: Promise<unknown>, check: (message: string) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof McpOAuthError);
    assert.equal(error.code, 'storage_error');
    check(error.message);
    return true;
  });
}

describe('JsonFileStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'mcp-oauth-store-'));
    file = path.join(dir, 'state', 'nested', 'store.json');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('sets, gets, lists and deletes entries', async () => {
    const store = new JsonFileStore<{ n: number }>(file);
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(await store.keys(), []);
    await store.set('b', { n: 2 });
    await store.set('a', { n: 1 });
    assert.deepEqual(await store.get('a'), { n: 1 });
    assert.deepEqual(await store.keys(), ['a', 'b']);
    await store.delete('a');
    await store.delete('missing');
    assert.deepEqual(await store.keys(), ['b']);
  });

  it('keeps keys that look like object internals as plain entries', async () => {
    const store = new JsonFileStore<string>(file);
    await store.set('__proto__', 'x');
    await store.set('constructor', 'y');
    const again = new JsonFileStore<string>(file);
    assert.equal(await again.get('__proto__'), 'x');
    assert.equal(await again.get('constructor'), 'y');
    assert.equal(await again.get('toString'), undefined);
  });

  it('creates the directory 0700 and the file 0600', async function () {
    if (isWindows) this.skip();
    const store = new JsonFileStore<string>(file);
    await store.set('k', 'v');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(dir, 'state'))).mode & 0o777, 0o700);
  });

  it('replaces a file with looser permissions by a 0600 one on write', async function () {
    if (isWindows) this.skip();
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify({ version: 1, entries: { old: 1 } }), { mode: 0o644 });
    await fs.chmod(file, 0o644);
    const store = new JsonFileStore<number>(file);
    await store.set('k', 2);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await store.keys(), ['k', 'old']);
  });

  it('writes atomically: a concurrent reader always sees a whole file, and no temporary file is left', async () => {
    const store = new JsonFileStore<string>(file);
    await store.set('seed', 'x');
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        JSON.parse(await fs.readFile(file, 'utf8')); // throws on a partial file
        reads++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const big = 'y'.repeat(64 * 1024);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.set(`k${i}`, big)));
    writing = false;
    await reader;
    assert.ok(reads > 0);
    assert.equal((await store.keys()).length, 41);
    assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.json']);
  });

  it('re-reads the file on every call, so two instances see each other’s writes', async () => {
    const a = new JsonFileStore<string>(file);
    const b = new JsonFileStore<string>(file);
    await a.set('token', 'first');
    assert.equal(await b.get('token'), 'first');
    await b.set('token', 'rotated');
    assert.equal(await a.get('token'), 'rotated');
    await b.delete('token');
    assert.equal(await a.get('token'), undefined);
  });

  it('reports a corrupt file with its path and how to reset it, without quoting its contents', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"version":1,"entries":{"k":"SECRET-REFRESH-TOKEN"');
    const store = new JsonFileStore<string>(file);
    for (const call of [
      () => store.get('k'),
      () => store.keys(),
      () => store.set('x', 'y'),
      () => store.update('k', (c) => c),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof McpOAuthError);
        assert.equal(error.code, 'storage_error');
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, /delete or rename it/i);
        assert.doesNotMatch(error.message, /SECRET/);
        assert.equal(error.cause, undefined);
        return true;
      });
    }
  });

  for (const [label, text] of [
    ['an array', '[1, 2]'],
    ['an object without entries', '{"tokens": {}}'],
    ['a plain string', '"text"'],
  ] as const) {
    it(`reports ${label} as not a store`, async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, text);
      await assertStorageError(new JsonFileStore<string>(file).get('k'), (message) => {
        assert.match(message, /not an mcp-oauth store/);
      });
    });
  }

  it('refuses a file written by a newer format', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '{"version": 2, "entries": {}}');
    await assertStorageError(new JsonFileStore<string>(file).keys(), (message) =>
      assert.match(message, /newer version/),
    );
  });

  it('treats an empty file as an empty store', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '');
    const store = new JsonFileStore<string>(file);
    assert.deepEqual(await store.keys(), []);
    await store.set('k', 'v');
    assert.equal(await store.get('k'), 'v');
  });

  it('checks entries with isValue, and still lets the damaged one be replaced or deleted', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify({ version: 1, entries: { bad: 'SECRET', good: 3 } }));
    const store = new JsonFileStore<number>(file, { isValue: isCount });
    assert.equal(await store.get('good'), 3);
    await assertStorageError(store.get('bad'), (message) => {
      assert.match(message, /"bad"/);
      assert.doesNotMatch(message, /SECRET/);
    });
    await assertStorageError(
      store.update('bad', (c) => c),
      () => undefined,
    );
    await store.set('other', 4);
    await store.delete('bad');
    assert.deepEqual(await store.keys(), ['good', 'other']);
  });

  describe('update', () => {
    it('stores what the callback returns and resolves with it', async () => {
      const store = new JsonFileStore<number>(file);
      assert.equal(await store.update('n', (current) => (current ?? 10) + 1), 11);
      assert.equal(await store.update('n', async (current) => (current ?? 0) * 2), 22);
      assert.equal(await store.get('n'), 22);
    });

    it('deletes the entry when the callback returns undefined', async () => {
      const store = new JsonFileStore<number>(file);
      await store.set('n', 1);
      assert.equal(await store.update('n', () => undefined), undefined);
      assert.deepEqual(await store.keys(), []);
    });

    it('writes nothing when the callback returns the current value', async () => {
      const store = new JsonFileStore<{ n: number }>(file);
      assert.equal(await store.update('n', (current) => current), undefined);
      await assert.rejects(fs.stat(file), { code: 'ENOENT' });
      await store.set('n', { n: 1 });
      const before = await fs.stat(file);
      const same = await store.update('n', (current) => current);
      assert.deepEqual(same, { n: 1 });
      assert.equal((await fs.stat(file)).ino, before.ino);
    });

    it('writes nothing when the callback throws, rethrows, and releases the lock', async () => {
      const store = new JsonFileStore<number>(file);
      await store.set('n', 1);
      await assert.rejects(
        store.update('n', () => {
          throw new Error('refresh failed');
        }),
        /refresh failed/,
      );
      assert.equal(await store.get('n'), 1);
      await assert.rejects(fs.stat(`${file}.lock`), { code: 'ENOENT' });
      assert.equal(await store.update('n', (current) => (current ?? 0) + 1), 2);
    });

    it('serialises concurrent read-modify-writes, across two instances on the same file', async () => {
      const a = new JsonFileStore<number>(file);
      const b = new JsonFileStore<number>(file);
      await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).update('counter', slowIncrement)));
      assert.equal(await a.get('counter'), 60);
      await assert.rejects(fs.stat(`${file}.lock`), { code: 'ENOENT' });
    });

    it('serialises read-modify-writes across processes with the lock file', async function () {
      this.timeout(60_000);
      const rounds = 25;
      // Every process starts at the same moment, once the children have had time to load.
      const startAt = Date.now() + 2_000;
      const child = [
        `const { JsonFileStore } = require(${JSON.stringify(path.join(repoRoot, 'src/cli/store/jsonFileStore.ts'))});`,
        `const store = new JsonFileStore(${JSON.stringify(file)});`,
        'const slow = (c) => new Promise((r) => setTimeout(() => r((c ?? 0) + 1), 2));',
        `setTimeout(async () => { for (let i = 0; i < ${rounds}; i++) await store.update('counter', slow); }, ${startAt} - Date.now());`,
      ].join('\n');
      const run = promisify(execFile);
      const children = [1, 2].map(() => run(process.execPath, ['--import', 'tsx', '-e', child], { cwd: repoRoot }));
      const here = new JsonFileStore<number>(file);
      await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
      const slow = (current: number | undefined) =>
        new Promise<number>((r) => setTimeout(() => r((current ?? 0) + 1), 2));
      for (let i = 0; i < rounds; i++) await here.update('counter', slow);
      await Promise.all(children);
      assert.equal(await here.get('counter'), rounds * 3);
    });
  });

  describe('lock file', () => {
    it('waits for a lock held by another process, then proceeds once it is released', async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.lock`, '99999\n');
      const store = new JsonFileStore<string>(file, { lockRetryMs: 5 });
      let done = false;
      const writing = store.set('k', 'v').then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(done, false);
      await fs.rm(`${file}.lock`);
      await writing;
      assert.equal(await store.get('k'), 'v');
    });

    it('gives up on a live lock after the timeout, naming the lock file', async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.lock`, '99999\n');
      const store = new JsonFileStore<string>(file, { lockTimeoutMs: 150, lockRetryMs: 10 });
      await assertStorageError(store.set('k', 'v'), (message) => {
        assert.ok(message.includes(`${file}.lock`), message);
        assert.match(message, /locked by another mcp-oauth process/);
      });
      assert.equal(await store.get('k'), undefined);
    });

    it('breaks a stale lock left by a crashed process', async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.lock`, '99999\n');
      const old = new Date(Date.now() - 60_000);
      await fs.utimes(`${file}.lock`, old, old);
      const store = new JsonFileStore<string>(file, { lockStaleMs: 1_000, lockTimeoutMs: 500 });
      await store.set('k', 'v');
      assert.equal(await store.get('k'), 'v');
      assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.json']);
    });

    it('keeps its own lock fresh while a slow update runs, so it is not taken for stale', async () => {
      const slowStore = new JsonFileStore<number>(file, { lockStaleMs: 150 });
      const other = new JsonFileStore<number>(file, { lockStaleMs: 150 });
      const slow = slowStore.update('n', async (current) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return (current ?? 0) + 1;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const stat = await fs.stat(`${file}.lock`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.ok((await fs.stat(`${file}.lock`)).mtimeMs > stat.mtimeMs, 'the lock was touched');
      await other.update('n', (current) => (current ?? 0) + 10);
      await slow;
      assert.equal(await other.get('n'), 11);
    });
  });
});

describe('FileTokenStore', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'mcp-oauth-tokens-'));
    file = path.join(dir, 'tokens.json');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('round-trips token sets through the file', async () => {
    const store = new FileTokenStore(file);
    await store.set('server|account', tokens('at-1', 'rt-1'));
    assert.deepEqual(await new FileTokenStore(file).get('server|account'), tokens('at-1', 'rt-1'));
    assert.deepEqual(await store.keys(), ['server|account']);
    await store.delete('server|account');
    assert.equal(await store.get('server|account'), undefined);
  });

  it('lets two stores on one file rotate a refresh token without replaying it', async () => {
    const windowA = new FileTokenStore(file);
    const windowB = new FileTokenStore(file);
    await windowA.set('k', tokens('at-1', 'rt-1'));
    const redeemed: string[] = [];
    const refresh = (current: TokenSet | undefined): Promise<TokenSet> =>
      new Promise((resolve) =>
        setImmediate(() => {
          const used = current?.refreshToken ?? 'none';
          redeemed.push(used);
          const n = Number(used.slice(3)) + 1;
          resolve(tokens(`at-${n}`, `rt-${n}`));
        }),
      );
    await Promise.all([windowA.update('k', refresh), windowB.update('k', refresh)]);
    assert.deepEqual(redeemed, ['rt-1', 'rt-2']);
    assert.equal((await windowA.get('k'))?.refreshToken, 'rt-3');
  });

  it('reports a damaged token entry as a storage error', async () => {
    await fs.writeFile(file, JSON.stringify({ version: 1, entries: { k: { accessToken: 'SECRET' } } }));
    await assertStorageError(new FileTokenStore(file).get('k'), (message) => assert.doesNotMatch(message, /SECRET/));
  });

  it('recognises token sets', () => {
    assert.equal(isTokenSet(tokens('a')), true);
    assert.equal(isTokenSet(tokens('a', 'r')), true);
    assert.equal(isTokenSet({ ...tokens('a'), scopes: 'read' }), false);
    assert.equal(isTokenSet({ ...tokens('a'), expiresAt: 'soon' }), false);
    assert.equal(isTokenSet({ ...tokens('a'), accessToken: '' }), false);
    assert.equal(isTokenSet(null), false);
    assert.equal(isTokenSet([]), false);
  });
});
