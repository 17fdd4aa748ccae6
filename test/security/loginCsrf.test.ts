// Property 7: no login CSRF from another local user. The victim runs `mcp-oauth login` against a real
// oidc-provider; the CLI starts a browser with the one-time sign-in link on its command line, which every local
// user can read in /proc. The attacker, really another uid (nobody, through setpriv), watches for that link,
// opens it before the victim's (slow) browser does, has the AS issue a code for the attacker's own account
// (mallory) on the victim's state, and delivers it with the cookie the link set. Without the defence the victim's
// CLI stores mallory's session: the victim's later tool calls run as, and leak their data to, the attacker.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { approveAuthorization } from '../fixtures/userAgent';
import { ensureCliBuilt, REPO, runCli } from '../unit/support/cliRunner';

const NOBODY = 65534;
const NODE = '/usr/bin/node';
const BROWSER_SCRIPT = path.join(REPO, 'test', 'unit', 'support', 'approvingBrowser.ts');
const run = promisify(execFile);

/** Why another local user cannot be played here, or `undefined` when it can. */
function noOtherUser(): string | undefined {
  if (process.platform !== 'linux') return 'the attack reads /proc, which only Linux has';
  if (process.getuid?.() !== 0) return 'not running as root, so no step can run as another user';
  try {
    execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', NODE, '-e', '0']);
  } catch {
    return `setpriv cannot run ${NODE} as uid ${NOBODY}`;
  }
  return undefined;
}

describe('security: another local user cannot complete the loopback sign-in (property 7)', function () {
  this.timeout(60_000);
  let as: AuthServer;
  let server: McpServerFixture;
  let dir: string;
  let attacker: string;
  let missing: string | undefined;

  before(async function () {
    missing = noOtherUser();
    if (missing) {
      console.log(`      (skipped: ${missing})`);
      this.skip();
    }
    ensureCliBuilt();
    as = await startAuthServer();
    server = await startSplitDomainServer({ as });
    dir = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-csrf-'));
    await chmod(dir, 0o755);
    attacker = path.join(dir, 'attacker.mjs');
    await copyFile(path.join(__dirname, 'support', 'otherUserAttacker.mjs'), attacker);
    await chmod(attacker, 0o644);
  });
  after(async () => {
    await server?.close();
    await as?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the attacker script as nobody and returns what it printed. */
  const asOtherUser = async (...args: string[]): Promise<Record<string, string | number | null>> => {
    const uid = String(NOBODY);
    const { stdout } = await run('setpriv', [
      '--reuid',
      uid,
      '--regid',
      uid,
      '--clear-groups',
      NODE,
      attacker,
      ...args,
    ]);
    return JSON.parse(stdout) as Record<string, string | number | null>;
  };

  it("a link read off the browser's command line and opened first by another user ends the sign-in; no attacker session is stored", async () => {
    const home = path.join(dir, 'victim-home');
    // The victim's browser takes 3 s to open the link: the attacker always wins the race to it.
    const slowBrowser = path.join(dir, 'slow-browser.sh');
    await writeFile(
      slowBrowser,
      `#!/bin/sh\nsleep 3\nexec "${process.execPath}" --import tsx "${BROWSER_SCRIPT}" "$1"\n`,
    );
    await chmod(slowBrowser, 0o755);
    const victim = runCli(
      ['login', server.url],
      { MCP_OAUTH_HOME: home, BROWSER: `${slowBrowser} %s`, MCP_OAUTH_DEBUG: undefined },
      undefined,
      30_000,
    );
    const spied = await asOtherUser('spy');
    assert.ok(spied.url, 'the attacker found the sign-in link on a command line');
    let delivered: number | null = null;
    if (spied.status === 302 && typeof spied.location === 'string') {
      // The link worked for the attacker: the AS issues a code for mallory on the victim's state…
      const callback = await approveAuthorization(spied.location, { login: 'mallory' });
      // … which the attacker's own browser brings back, with the cookie the link gave it.
      delivered = (await asOtherUser('deliver', callback.href, String(spied.cookie ?? ''))).status as number;
    }
    const result = await victim;
    assert.doesNotMatch(result.stdout, /mallory/, "the victim's CLI is not signed in as the attacker");
    assert.equal(spied.status, 403, `the other user's open of the link is refused (got ${spied.status})`);
    assert.equal(delivered, null);
    assert.equal(result.code, 1, `the sign-in ends: stdout ${result.stdout} stderr ${result.stderr}`);
    assert.match(result.stderr, /Another user of this machine \(uid 65534\) opened the sign-in link/);
    assert.match(result.stderr, /\[browser_mismatch\]/);
    const stored = await readFile(path.join(home, 'tokens.json'), 'utf8').catch(() => '');
    assert.doesNotMatch(stored, /accessToken/, 'no session was stored');
  });
});
