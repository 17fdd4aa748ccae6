import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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

/** Writes `text` as the store would: a 0600 file in 0700 directories (anything looser is refused or fixed). */
async function writePrivate(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, text, { mode: 0o600 });
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
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

  it('refuses a file that other users can read, naming the fix, and takes it again once it is 0600', async function () {
    if (isWindows) this.skip();
    await writePrivate(file, JSON.stringify({ version: 1, entries: { old: 1 } }));
    await fs.chmod(file, 0o644);
    const store = new JsonFileStore<number>(file);
    for (const call of [() => store.keys(), () => store.set('k', 2)]) {
      await assertStorageError(call(), (message) => {
        assert.ok(message.includes(file), message);
        assert.match(message, /can be read or changed by other users \(mode 0644\)/);
        assert.ok(message.includes(`chmod 600 ${file}`), message);
      });
    }
    await fs.chmod(file, 0o600);
    await store.set('k', 2);
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
    await writePrivate(file, '{"version":1,"entries":{"k":"SECRET-REFRESH-TOKEN"');
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
      await writePrivate(file, text);
      await assertStorageError(new JsonFileStore<string>(file).get('k'), (message) => {
        assert.match(message, /not an mcp-oauth store/);
      });
    });
  }

  it('refuses a file written by a newer format', async () => {
    await writePrivate(file, '{"version": 2, "entries": {}}');
    await assertStorageError(new JsonFileStore<string>(file).keys(), (message) =>
      assert.match(message, /newer version/),
    );
  });

  it('treats an empty file as an empty store', async () => {
    await writePrivate(file, '');
    const store = new JsonFileStore<string>(file);
    assert.deepEqual(await store.keys(), []);
    await store.set('k', 'v');
    assert.equal(await store.get('k'), 'v');
  });

  it('checks entries with isValue, and still lets the damaged one be replaced or deleted', async () => {
    await writePrivate(file, JSON.stringify({ version: 1, entries: { bad: 'SECRET', good: 3 } }));
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

  describe('on a machine shared with other users', () => {
    let fifo: string | undefined;
    beforeEach(function () {
      if (isWindows) this.skip(); // no owners, modes or O_NOFOLLOW there
    });
    afterEach(async () => {
      // Should a read block on the FIFO after all, a writer end releases it, so the run can exit.
      if (fifo)
        await fs.open(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK).then(
          (h) => h.close(),
          () => undefined,
        );
      fifo = undefined;
    });

    it('never follows a symbolic link planted as the file, for reading or for writing', async () => {
      const target = path.join(dir, 'elsewhere.json');
      const planted = JSON.stringify({ version: 1, entries: { k: 'planted' } });
      await fs.writeFile(target, planted, { mode: 0o600 }); // a file the store would otherwise accept
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.symlink(target, file);
      const store = new JsonFileStore<string>(file);
      for (const call of [() => store.get('k'), () => store.set('k', 'v')]) {
        await assertStorageError(call(), (message) => {
          assert.ok(message.includes(`${file} is a symbolic link`), message);
          assert.doesNotMatch(message, /planted/);
        });
      }
      assert.equal(await fs.readFile(target, 'utf8'), planted);
      assert.ok((await fs.lstat(file)).isSymbolicLink(), 'the link is left for the user to see');
    });

    it('refuses a FIFO planted as the file instead of hanging on it', async function () {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      fifo = file;
      await promisify(execFile)('mkfifo', ['-m', '600', file]);
      await assertStorageError(new JsonFileStore<string>(file).get('k'), (message) =>
        assert.match(message, /is not a regular file/),
      );
    });

    it('makes an existing directory of its own that others can enter 0700, and says so once', async () => {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
      await fs.chmod(path.dirname(file), 0o755);
      const notices: string[] = [];
      const notify = (message: string) => void notices.push(message);
      await new JsonFileStore<string>(file, { notify }).set('k', 'v');
      await new JsonFileStore<string>(file, { notify }).get('k');
      assert.equal((await fs.stat(path.dirname(file))).mode & 0o777, 0o700);
      assert.equal(notices.length, 1, notices.join('\n'));
      assert.ok(notices[0]!.includes(`${path.dirname(file)} could be reached by other users (mode 0755)`), notices[0]);
      assert.match(notices[0]!, /it is now 0700/);
    });

    it('refuses a directory whose parent others can write (unless it is sticky, as /tmp is)', async () => {
      const parent = path.join(dir, 'state');
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.chmod(parent, 0o777);
      await assertStorageError(new JsonFileStore<string>(file).set('k', 'v'), (message) => {
        assert.ok(message.includes(`${parent} can be written by other users (mode 0777, group `), message);
        assert.ok(message.includes(`chmod go-w ${parent}`), message);
      });
      await fs.chmod(parent, 0o1777);
      await new JsonFileStore<string>(file).set('k', 'v');
      assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.json']);
    });

    it('accepts a parent writable by your own primary group only (a umask of 002)', async () => {
      const parent = path.join(dir, 'state');
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.chmod(parent, 0o770);
      assert.equal((await fs.stat(parent)).gid, process.getgid!());
      await new JsonFileStore<string>(file).set('k', 'v');
      assert.equal(await new JsonFileStore<string>(file).get('k'), 'v');
    });

    it('refuses a parent writable by another group', async function () {
      if (process.getuid!() !== 0) {
        console.log('      (skipped: only root can give a directory to a group it is not in)');
        this.skip();
      }
      const parent = path.join(dir, 'state');
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.chmod(parent, 0o770);
      await fs.chown(parent, 0, 65534);
      await assertStorageError(new JsonFileStore<string>(file).set('k', 'v'), (message) =>
        assert.ok(message.includes(`${parent} can be written by other users (mode 0770, group 65534)`), message),
      );
    });

    it('follows a symbolic link of its own to the directory once: a link changed later leads nowhere new', async () => {
      const first = path.join(dir, 'first');
      const second = path.join(dir, 'second');
      await fs.mkdir(first, { mode: 0o700 });
      await fs.mkdir(second, { mode: 0o700 });
      const link = path.join(dir, 'link');
      await fs.symlink(first, link);
      const store = new JsonFileStore<string>(path.join(link, 'store.json'));
      await store.set('k', 'v');
      await fs.rm(link);
      await fs.symlink(second, link);
      await store.set('k', 'w');
      assert.deepEqual(await fs.readdir(second), []);
      assert.equal(JSON.parse(await fs.readFile(path.join(first, 'store.json'), 'utf8')).entries.k, 'w');
    });

    it('deletes temporary files left by killed writers (a gone process, or old), not a live writer’s', async () => {
      const state = path.dirname(file);
      await writePrivate(file, JSON.stringify({ version: 1, entries: { k: 'v' } }));
      const temp = (pid: number) => path.join(state, `.store.json.${pid}.${randomUUID()}.tmp`);
      const gone = temp(await deadPid());
      const live = temp(process.pid);
      const old = temp(process.pid);
      for (const leftover of [gone, live, old]) await fs.writeFile(leftover, '{"SECRET-TOKEN"', { mode: 0o600 });
      const longAgo = new Date(Date.now() - 5 * 60_000);
      await fs.utimes(old, longAgo, longAgo);
      assert.equal(await new JsonFileStore<string>(file).get('k'), 'v');
      assert.deepEqual((await fs.readdir(state)).sort(), [path.basename(live), 'store.json'].sort());
    });
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
      await writePrivate(`${file}.lock`, `${process.pid}\n${hostname()}\n`); // a live process
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
      await writePrivate(`${file}.lock`, `${process.pid}\n${hostname()}\n`);
      const store = new JsonFileStore<string>(file, { lockTimeoutMs: 150, lockRetryMs: 10 });
      await assertStorageError(store.set('k', 'v'), (message) => {
        assert.ok(message.includes(`${file}.lock`), message);
        assert.match(message, /locked by another mcp-oauth process/);
      });
      assert.equal(await store.get('k'), undefined);
    });

    it('breaks a stale lock, even when its pid is taken by a live process now', async () => {
      await writePrivate(`${file}.lock`, `${process.pid}\n${hostname()}\n`);
      const old = new Date(Date.now() - 60_000);
      await fs.utimes(`${file}.lock`, old, old);
      const store = new JsonFileStore<string>(file, { lockStaleMs: 1_000, lockTimeoutMs: 500 });
      await store.set('k', 'v');
      assert.equal(await store.get('k'), 'v');
      assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.json']);
    });

    it('breaks at once a lock whose process is gone, without waiting for it to go stale', async () => {
      await writePrivate(`${file}.lock`, `${await deadPid()}\n${hostname()}\n`);
      const store = new JsonFileStore<string>(file, { lockTimeoutMs: 1_000 }); // stale only after the default 10 s
      const started = Date.now();
      await store.set('k', 'v');
      assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
      assert.deepEqual(await fs.readdir(path.dirname(file)), ['store.json']);
    });

    for (const [label, text] of [
      ['written on another machine (its pid means nothing here)', (pid: number) => `${pid}\nanother-host\n`],
      ['whose pid line is not complete yet', (pid: number) => `${pid}`],
    ] as const) {
      it(`waits for a lock ${label}`, async () => {
        await writePrivate(`${file}.lock`, text(await deadPid()));
        const store = new JsonFileStore<string>(file, { lockTimeoutMs: 150, lockRetryMs: 10 });
        await assertStorageError(store.set('k', 'v'), (message) => assert.match(message, /locked/));
      });
    }

    it('refuses a lock file planted as a symbolic link, and leaves its target alone', async function () {
      if (isWindows) this.skip();
      const target = path.join(dir, 'target');
      await fs.writeFile(target, 'precious\n', { mode: 0o600 });
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      await fs.symlink(target, `${file}.lock`);
      const store = new JsonFileStore<string>(file, { lockTimeoutMs: 5_000 });
      await assertStorageError(store.set('k', 'v'), (message) => {
        assert.ok(message.includes(`${file}.lock is a symbolic link`), message);
        assert.match(message, /Delete it/);
      });
      assert.equal(await fs.readFile(target, 'utf8'), 'precious\n');
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
    await fs.writeFile(file, JSON.stringify({ version: 1, entries: { k: { accessToken: 'SECRET' } } }), {
      mode: 0o600,
    });
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
