// Property 11, the CLI's state directory is safe on a shared machine: the real `mcp-oauth` (dist/cli.js)
// with $MCP_OAUTH_HOME in a world-writable, sticky directory (as /tmp is), where another local user plants
// directories, symbolic links, token files and locks. The other user is `nobody`, whose steps run through
// setpriv; that needs root, and the tests that need it say so and skip otherwise. The CLI's own crash is
// a real one: a CLI paused between writing its temporary file and renaming it, then killed with SIGKILL.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { listenOnLoopback, type LoopbackServer } from '../fixtures/loopback';
import { CLI, ensureCliBuilt, REPO, runCli, type CliResult } from '../unit/support/cliRunner';

const NOBODY = 65534;

/**
 * The MCP server the tokens are imported for: `mcp-oauth import` checks a bundle against what discovery finds,
 * so a small loopback server publishes its resource metadata and (being its own AS) its AS metadata.
 */
let discovery: LoopbackServer;
let SERVER = '';

/** What `mcp-oauth import` takes: a token for SERVER, valid for an hour. */
function bundle(accessToken: string): string {
  return JSON.stringify({
    type: 'mcp-oauth-token-bundle',
    version: 1,
    serverUrl: SERVER,
    issuer: discovery.origin,
    tokenEndpoint: `${discovery.origin}/token`,
    clientId: 'client-1',
    accessToken,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    scopes: ['mcp:read'],
  });
}

/** Why another local user cannot be played here, or `undefined` when it can. */
function noOtherUser(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root, so no step can run as another user';
  try {
    execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'true']);
  } catch {
    return `setpriv cannot run a command as uid ${NOBODY}`;
  }
  return undefined;
}

/** Runs `sh -c script` as nobody, the other local user, with `input` on its stdin. */
function asNobody(script: string, input?: string): void {
  const uid = String(NOBODY);
  execFileSync('setpriv', ['--reuid', uid, '--regid', uid, '--clear-groups', 'sh', '-c', script], {
    input: input ?? '',
  });
}

/** Shell-quotes a path for the scripts above. */
const sh = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function failedWith(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 1, `exit ${result.code}; stdout: ${result.stdout}; stderr: ${result.stderr}`);
  assert.match(result.stderr, /\[storage_error\]\n$/);
  assert.match(result.stderr, pattern);
}

describe('Property 11: the CLI state directory is safe on a shared machine', function () {
  this.timeout(30_000);
  let root: string;
  /** World-writable and sticky, as /tmp is: where both users can create things. */
  let shared: string;
  let otherUserMissing: string | undefined;

  before(async function () {
    if (process.platform === 'win32') {
      console.log('      (skipped: owners, modes and O_NOFOLLOW do not apply on Windows)');
      this.skip();
    }
    ensureCliBuilt();
    root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-state-'));
    await chmod(root, 0o755); // the other user may pass through, not write
    shared = path.join(root, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    otherUserMissing = noOtherUser();
    discovery = await listenOnLoopback((req, res) => {
      const o = discovery.origin;
      const documents: Record<string, object> = {
        '/.well-known/oauth-protected-resource/mcp': { resource: `${o}/mcp`, authorization_servers: [o] },
        '/.well-known/oauth-authorization-server': { issuer: o, token_endpoint: `${o}/token` },
      };
      const document = documents[req.url ?? ''];
      res.writeHead(document ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(document ?? {}));
    });
    SERVER = `${discovery.origin}/mcp`;
  });
  after(async () => {
    await discovery?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Skips a test that needs another local user, saying why. */
  function needsOtherUser(context: Mocha.Context): void {
    if (!otherUserMissing) return;
    console.log(`      (skipped: ${otherUserMissing})`);
    context.skip();
  }

  const cli = (home: string, args: string[], input?: string) =>
    runCli(args, { MCP_OAUTH_HOME: home, MCP_OAUTH_DEBUG: undefined }, input);
  const importToken = (home: string, accessToken = 'at-victim') => cli(home, ['import', SERVER], bundle(accessToken));
  /** A directory of ours that others can write to, as one made in a shared place with a loose umask. */
  const openHome = async (name: string) => {
    const home = path.join(shared, name);
    await mkdir(home);
    await chmod(home, 0o777);
    return home;
  };
  /** A tokens.json that the real CLI wrote for `accessToken` (to plant elsewhere). */
  const tokensFileFor = async (accessToken: string): Promise<string> => {
    const scratch = path.join(root, `scratch-${randomUUID()}`);
    assert.equal((await importToken(scratch, accessToken)).code, 0);
    return readFile(path.join(scratch, 'tokens.json'), 'utf8');
  };

  describe('the state directory', () => {
    it('one of ours that others can enter is made 0700, and stderr says so once', async () => {
      const home = await openHome('loose');
      const first = await importToken(home);
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await stat(home)).mode & 0o7777, 0o700);
      assert.equal(
        first.stderr,
        `mcp-oauth: The state directory ${home} could be reached by other users (mode 0777); it is now 0700. Files in it that others could have changed are refused when read.\n`,
      );
      const second = await cli(home, ['token', SERVER]);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, 'at-victim\n');
      assert.equal(second.stderr, '', 'said once');
    });

    it('one that another user created in the shared directory is refused, and nothing is written in it', async function () {
      needsOtherUser(this);
      const home = path.join(shared, 'taken');
      asNobody(`mkdir -m 777 ${sh(home)}`);
      const result = await importToken(home);
      failedWith(result, new RegExp(`The state directory ${home} belongs to another user \\(uid ${NOBODY}\\)`));
      assert.match(result.stderr, /set MCP_OAUTH_HOME to a directory of your own/);
      assert.deepEqual(await readdir(home), []);
    });

    it('a symbolic link of another user is not followed, even to a directory of ours', async function () {
      needsOtherUser(this);
      const ours = path.join(root, 'ours');
      await mkdir(ours, { mode: 0o700 });
      const link = path.join(shared, 'link');
      asNobody(`ln -s ${sh(ours)} ${sh(link)}`);
      const result = await importToken(link);
      failedWith(result, new RegExp(`${link} is a symbolic link that belongs to another user \\(uid ${NOBODY}\\)`));
      assert.deepEqual(await readdir(ours), [], 'nothing written where it pointed');
    });

    it('one inside a directory of another user is refused: they could swap it for their own', async function () {
      needsOtherUser(this);
      const theirs = path.join(shared, 'theirs');
      asNobody(`mkdir -m 755 ${sh(theirs)}`);
      const home = path.join(theirs, 'state');
      await mkdir(home, { mode: 0o700 }); // ours: root may create it there
      const result = await importToken(home);
      failedWith(result, new RegExp(`${theirs} belongs to another user \\(uid ${NOBODY}\\), who could replace`));
      assert.deepEqual(await readdir(home), []);
    });
  });

  describe('the files in it', () => {
    it('a tokens.json planted by another user (for a server of theirs) is refused, never printed', async function () {
      needsOtherUser(this);
      const home = await openHome('planted-file');
      const planted = await tokensFileFor('at-attacker');
      asNobody(`umask 077; cat > ${sh(path.join(home, 'tokens.json'))}`, planted); // 0600, as the CLI writes it
      const result = await cli(home, ['token', SERVER]);
      failedWith(
        result,
        new RegExp(`tokens\\.json belongs to another user \\(uid ${NOBODY}\\), so what it holds cannot be trusted`),
      );
      assert.equal(result.stdout, '');
      assert.ok(!result.stderr.includes('at-attacker'));
    });

    it('a tokens.json that others can read is refused, naming the fix', async () => {
      const home = path.join(root, 'readable');
      assert.equal((await importToken(home, 'at-readable')).code, 0);
      const file = path.join(home, 'tokens.json');
      await chmod(file, 0o644);
      const result = await cli(home, ['token', SERVER]);
      failedWith(result, /can be read or changed by other users \(mode 0644\)/);
      assert.ok(result.stderr.includes(`run chmod 600 ${file}`), result.stderr);
      assert.equal(result.stdout, '');
    });

    /** Plants `tokens.json → target` in `home` as nobody when possible (else as ourselves: the link is what counts). */
    const plantLink = (home: string, target: string) => {
      const file = path.join(home, 'tokens.json');
      if (otherUserMissing) return symlink(target, file);
      asNobody(`ln -s ${sh(target)} ${sh(file)}`);
    };

    it('a tokens.json planted as a link to a file of ours is not followed when writing (authorized_keys)', async () => {
      const home = await openHome('link-write');
      const victim = path.join(root, 'authorized_keys');
      await writeFile(victim, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me\n', {
        mode: 0o600,
      });
      await plantLink(home, victim);
      const result = await importToken(home);
      failedWith(result, new RegExp(`${home}/tokens\\.json is a symbolic link, which mcp-oauth never follows`));
      assert.match(readFileSync(victim, 'utf8'), /^ssh-ed25519 \S+ me\n$/);
      assert.ok((await lstat(path.join(home, 'tokens.json'))).isSymbolicLink());
    });

    it('a tokens.json planted as a link to a token file of ours is not followed when reading', async () => {
      const home = await openHome('link-read');
      const elsewhere = path.join(root, 'elsewhere');
      assert.equal((await importToken(elsewhere, 'at-elsewhere')).code, 0);
      await plantLink(home, path.join(elsewhere, 'tokens.json'));
      const result = await cli(home, ['token', SERVER]);
      failedWith(result, /tokens\.json is a symbolic link, which mcp-oauth never follows/);
      assert.equal(result.stdout, '', 'no token read through the link');
    });
  });

  describe('locks', () => {
    const plantLock = async (home: string, text: string, ageMs = 0) => {
      await mkdir(home, { recursive: true, mode: 0o700 });
      const lock = path.join(home, 'tokens.json.lock');
      await writeFile(lock, text, { mode: 0o600 });
      const at = new Date(Date.now() - ageMs);
      await utimes(lock, at, at);
    };
    const deadPid = async () => {
      const child = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => child.on('exit', resolve));
      return child.pid!;
    };

    it('a fresh lock whose process is gone is broken at once, not after it goes stale (10 s)', async () => {
      const home = path.join(root, 'dead-lock');
      await plantLock(home, `${await deadPid()}\n${hostname()}\n`);
      const started = Date.now();
      const result = await importToken(home);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.ok(!existsSync(path.join(home, 'tokens.json.lock')));
    });

    it('an old lock still goes stale, even when its pid now belongs to a live process', async () => {
      const home = path.join(root, 'old-lock');
      await plantLock(home, `${process.pid}\n${hostname()}\n`, 60_000);
      const result = await importToken(home);
      assert.equal(result.code, 0, result.stderr);
    });

    it('a lock planted by another user is refused at once, with a message, never waited for', async function () {
      needsOtherUser(this);
      const home = await openHome('their-lock');
      asNobody(`printf '1\\n%s\\n' "$(hostname)" > ${sh(path.join(home, 'tokens.json.lock'))}`); // pid 1 is alive
      const started = Date.now();
      const result = await importToken(home);
      failedWith(
        result,
        new RegExp(
          `tokens\\.json\\.lock belongs to another user \\(uid ${NOBODY}\\), so mcp-oauth neither waits for it nor removes it`,
        ),
      );
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
      assert.ok(existsSync(path.join(home, 'tokens.json.lock')), 'left for the user to look at');
    });
  });

  describe('a crash between writing the temporary file and renaming it', () => {
    /** Loaded into the CLI with --require: the rename of a temporary file never happens; stderr says so. */
    const PAUSE = `
      const fs = require('node:fs');
      const rename = fs.promises.rename;
      fs.promises.rename = (from, to) => {
        if (!String(from).endsWith('.tmp')) return rename(from, to);
        process.stderr.write('paused before the rename\\n');
        setInterval(() => undefined, 1000);
        return new Promise(() => undefined);
      };
    `;

    /** Runs `mcp-oauth import` until it has written its temporary file, then kills it with SIGKILL. */
    const importKilledBeforeRename = async (home: string, accessToken: string): Promise<void> => {
      const preload = path.join(root, 'pause-before-rename.cjs');
      await writeFile(preload, PAUSE);
      const child = spawn(process.execPath, ['--require', preload, CLI, 'import', SERVER], {
        cwd: REPO,
        env: { ...process.env, MCP_OAUTH_HOME: home },
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      child.stdin.end(bundle(accessToken));
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the CLI never paused; stderr: ${stderr}`)), 15_000);
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (!stderr.includes('paused before the rename')) return;
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        });
      });
      const [, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (code, sig) => resolve([code, sig])),
      );
      assert.equal(signal, 'SIGKILL');
    };

    it('leaves a temporary file holding the token, which the next run of the CLI deletes', async () => {
      const home = path.join(root, 'crashed');
      await importKilledBeforeRename(home, 'at-in-the-temp-file');
      const left = (await readdir(home)).filter((name) => name.endsWith('.tmp'));
      assert.equal(left.length, 1, 'the crash left its temporary file');
      assert.match(left[0]!, /^\.tokens\.json\.\d+\.[0-9a-f-]{36}\.tmp$/);
      assert.match(await readFile(path.join(home, left[0]!), 'utf8'), /at-in-the-temp-file/);
      assert.equal((await stat(path.join(home, left[0]!))).mode & 0o777, 0o600);

      const next = await cli(home, ['token', SERVER]); // reads only: the killed writer's lock stays
      assert.equal(next.code, 1, 'nothing was imported');
      assert.match(next.stderr, /\[not_signed_in\]/);
      assert.deepEqual(await readdir(home), ['tokens.json.lock'], 'no temporary file is left behind');

      const again = await importToken(home, 'at-imported-again'); // its lock's process is gone: broken at once
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(await readdir(home), ['tokens.json']);
    });
  });
});
