// The built `mcp-oauth` CLI as a child process, against the real peers: an oidc-provider AS and an
// SDK-built protected MCP server. $BROWSER is a scripted user that approves in the "browser" and comes
// back to the CLI's loopback receiver; $MCP_OAUTH_HOME is a temporary directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { BASIC_CLIENT, staticClients } from '../fixtures/testClients';
import { ensureCliBuilt, REPO, runCli, type CliResult } from './support/cliRunner';

const BROWSER_SCRIPT = path.join(REPO, 'test', 'unit', 'support', 'approvingBrowser.ts');

describe('mcp-oauth CLI against real peers', function () {
  let as: AuthServer;
  let split: McpServerFixture;
  let root: string;
  let home: string;
  let browserLog: string;
  /** Every stderr the CLI wrote, and every token it held: none of the latter may appear in the former. */
  const stderrs: string[] = [];
  const secrets = new Set<string>();

  before(async function () {
    this.timeout(60_000);
    ensureCliBuilt();
    as = await startAuthServer({ clients: staticClients({ keys: [] }) });
    split = await startSplitDomainServer({ as });
    root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-'));
    home = path.join(root, 'home', 'state'); // not there yet: the CLI creates it
    browserLog = path.join(root, 'browser.log');
  });
  after(async () => {
    await split?.close();
    await as?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const browser = `"${process.execPath}" --import tsx "${BROWSER_SCRIPT}" %s`;
  const cli = async (
    args: string[],
    options: { home?: string; env?: Record<string, string>; input?: string; debug?: boolean } = {},
  ): Promise<CliResult> => {
    const result = await runCli(
      args,
      {
        MCP_OAUTH_HOME: options.home ?? home,
        BROWSER: browser,
        APPROVING_BROWSER_LOG: browserLog,
        APPROVING_BROWSER_REQUESTS: `${browserLog}.requests`,
        MCP_OAUTH_DEBUG: options.debug === false ? undefined : '1', // the most diagnostics, for the leak check
        ...options.env,
      },
      options.input,
    );
    stderrs.push(result.stderr);
    for (const tokens of storedTokens(options.home ?? home)) {
      secrets.add(tokens.accessToken);
      if (tokens.refreshToken) secrets.add(tokens.refreshToken);
    }
    return result;
  };
  const ok = (result: CliResult) => {
    assert.equal(
      result.code,
      0,
      `exit ${result.code}; stderr: ${result.stderr}; browser: ${browserActions().join(' | ')}`,
    );
    return result;
  };
  const browserActions = () =>
    existsSync(browserLog) ? readFileSync(browserLog, 'utf8').trim().split('\n').filter(Boolean) : [];
  /** The browser script writes its line after the callback answered, which may be just after the CLI exits. */
  const browserActionsOnce = async (count: number) => {
    for (let i = 0; i < 40 && browserActions().length < count; i++) await new Promise((r) => setTimeout(r, 50));
    return browserActions();
  };
  const storedTokens = (dir: string): TokenSet[] => {
    const file = path.join(dir, 'tokens.json');
    if (!existsSync(file)) return [];
    return Object.values((JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, TokenSet> }).entries);
  };
  const onlyTokens = (dir: string): TokenSet => {
    const all = storedTokens(dir);
    assert.equal(all.length, 1);
    return all[0]!;
  };

  it('login signs in through the browser and prints the account and scopes; the files are private', async () => {
    const result = ok(await cli(['login', split.url]));
    assert.equal(result.stdout, `Signed in to ${split.url} as alice@example.test; scopes: mcp:read\n`);
    assert.match(result.stderr, /Open this URL to sign in/);
    assert.deepEqual(await browserActionsOnce(1), ['approved authorization, callback answered 200']);
    const tokens = onlyTokens(home);
    assert.ok(tokens.refreshToken);
    assert.equal(statSync(path.join(home, 'tokens.json')).mode & 0o777, 0o600, 'tokens.json is 0600');
    assert.equal(statSync(path.join(home, 'clients.json')).mode & 0o777, 0o600, 'clients.json is 0600');
    assert.equal(statSync(home).mode & 0o777, 0o700, 'the state directory is 0700');
  });

  it('tools lists whoami and admin_action without signing in again', async () => {
    const result = ok(await cli(['tools', split.url]));
    const names = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0])
      .sort();
    assert.deepEqual(names, ['admin_action', 'whoami']);
    assert.equal(browserActions().length, 1, 'no new browser sign-in');
    const json = ok(await cli(['tools', split.url, '--json']));
    assert.deepEqual((JSON.parse(json.stdout) as { name: string }[]).map((t) => t.name).sort(), [
      'admin_action',
      'whoami',
    ]);
  });

  it('call <url> whoami prints the result', async () => {
    const result = ok(await cli(['call', split.url, 'whoami']));
    const who = JSON.parse(result.stdout) as { sub: string; scopes: string[] };
    assert.equal(who.sub, 'alice');
    assert.deepEqual(who.scopes, ['mcp:read']);
  });

  it('call <url> admin_action steps up through the browser and prints the result', async () => {
    const result = ok(await cli(['call', split.url, 'admin_action']));
    assert.equal(result.stdout, 'admin action done for alice\n');
    assert.equal((await browserActionsOnce(2)).length, 2, 'one more browser round trip');
    assert.match(result.stderr, /Open this URL to sign in:\n\s+http:\/\/127\.0\.0\.1:\d+\/start\//);
    const asked = readFileSync(`${browserLog}.requests`, 'utf8').trim().split('\n').at(-1);
    assert.ok(asked, 'the browser reached the authorization server');
    assert.deepEqual(new URL(asked).searchParams.get('scope')!.split(' ').sort(), [
      'mcp:read',
      'mcp:write',
      'offline_access',
    ]);
    assert.deepEqual([...onlyTokens(home).scopes].sort(), ['mcp:read', 'mcp:write']);
  });

  it('token prints the stored access token', async () => {
    const result = ok(await cli(['token', split.url]));
    const printed = result.stdout.trim();
    assert.equal(printed, onlyTokens(home).accessToken);
    assert.equal(decodeJwt(printed).aud, split.url);
  });

  it('export, then import into a fresh MCP_OAUTH_HOME, gives a working session there', async () => {
    const exported = ok(await cli(['export', split.url]));
    const bundle = JSON.parse(exported.stdout) as { type: string; accessToken: string; refreshToken?: string };
    assert.equal(bundle.type, 'mcp-oauth-token-bundle');
    assert.equal(bundle.accessToken, onlyTokens(home).accessToken);
    assert.ok(bundle.refreshToken);

    const fresh = path.join(root, 'imported');
    const imported = ok(await cli(['import', split.url], { home: fresh, input: exported.stdout }));
    assert.match(imported.stdout, /^Imported a token for .* \(alice@example\.test; refreshable\)\.\n$/);
    assert.equal(statSync(path.join(fresh, 'tokens.json')).mode & 0o777, 0o600);
    const browsedBefore = browserActions().length;
    const called = ok(await cli(['call', split.url, 'whoami'], { home: fresh }));
    assert.equal((JSON.parse(called.stdout) as { sub: string }).sub, 'alice');
    assert.equal(browserActions().length, browsedBefore, 'no sign-in was needed');
    assert.equal(ok(await cli(['token', split.url], { home: fresh })).stdout.trim(), bundle.accessToken);

    const refused = await cli(['import', split.url], { home: fresh, input: '{"type":"nope"', debug: false });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\[invalid_bundle\]/);
  });

  it('logout says revoked; a following token exits 1 with a one-line message', async () => {
    const before = onlyTokens(home);
    const result = ok(await cli(['logout', split.url]));
    assert.match(result.stdout, /^Signed out of .*: refresh token revoked/);
    assert.equal((await as.introspect(before.refreshToken!)).active, false, 'revoked at the AS');
    assert.deepEqual(storedTokens(home), []);

    const token = await cli(['token', split.url], { debug: false });
    assert.equal(token.code, 1);
    assert.equal(token.stdout, '');
    assert.equal(token.stderr.split('\n').filter(Boolean).length, 1, `one line: ${JSON.stringify(token.stderr)}`);
    assert.match(token.stderr, /^mcp-oauth: .*\[not_signed_in\]/);
  });

  it('login --device signs in with a device code approved in the browser', async function () {
    this.timeout(20_000); // the CLI really waits its 5 s polling interval
    const browsedBefore = browserActions().length;
    const result = ok(await cli(['login', split.url, '--device']));
    assert.equal(result.stdout, `Signed in to ${split.url} as alice@example.test; scopes: mcp:read\n`);
    assert.match(result.stderr, /To sign in, open http:\/\/127\.0\.0\.1:\d+\/device and enter the code \S+/);
    assert.equal(
      (await browserActionsOnce(browsedBefore + 1))[browsedBefore],
      'approved device http://127.0.0.1:' + new URL(as.issuer).port + '/device',
    );
    assert.ok(onlyTokens(home).refreshToken);
    assert.ok(as.grants.some((g) => g.grantType === 'urn:ietf:params:oauth:grant-type:device_code' && !g.error));
  });

  it('login --client-credentials with a secret from the environment', async () => {
    const machine = path.join(root, 'machine');
    const flags = ['--client-credentials', '--client-id', BASIC_CLIENT.client_id!, '--client-secret-env', 'MY_SECRET'];
    const env = { MY_SECRET: BASIC_CLIENT.client_secret as string };
    const browsedBefore = browserActions().length;
    const result = ok(await cli(['login', split.url, ...flags], { home: machine, env }));
    assert.equal(result.stdout, `Signed in to ${split.url} as static-basic; scopes: mcp:read\n`);
    const tokens = onlyTokens(machine);
    assert.equal(tokens.grantType, 'client_credentials');
    assert.equal(tokens.clientId, BASIC_CLIENT.client_id);
    const called = ok(await cli(['call', split.url, 'whoami', ...flags], { home: machine, env }));
    assert.equal((JSON.parse(called.stdout) as { clientId: string }).clientId, BASIC_CLIENT.client_id);
    assert.equal(browserActions().length, browsedBefore, 'no browser for a machine client');
    secrets.add(env.MY_SECRET);
    assert.ok(
      !readFileSync(path.join(machine, 'tokens.json'), 'utf8').includes(env.MY_SECRET),
      'the secret is not stored',
    );

    const missing = await cli(['login', split.url, ...flags], { home: machine, debug: false });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /MY_SECRET/);
  });

  it('remembers the machine client, so tools, token and logout need only the URL', async () => {
    const machine = path.join(root, 'machine-2');
    const env = { MY_SECRET: BASIC_CLIENT.client_secret as string };
    ok(
      await cli(
        [
          'login',
          split.url,
          '--client-credentials',
          '--client-id',
          BASIC_CLIENT.client_id!,
          '--client-secret-env',
          'MY_SECRET',
        ],
        { home: machine, env },
      ),
    );
    const saved = JSON.parse(readFileSync(path.join(machine, 'servers.json'), 'utf8')) as object;
    assert.ok(!JSON.stringify(saved).includes(env.MY_SECRET), 'the profile names the variable, never the secret');
    const listed = ok(await cli(['tools', split.url], { home: machine, env }));
    assert.match(listed.stdout, /whoami/);
    const grantsBefore = as.grants.filter((g) => g.grantType === 'client_credentials' && !g.error).length;
    const stored = JSON.parse(readFileSync(path.join(machine, 'tokens.json'), 'utf8')) as {
      entries: Record<string, { expiresAt: number }>;
    };
    for (const entry of Object.values(stored.entries)) entry.expiresAt = Date.now() - 1000; // expired
    writeFileSync(path.join(machine, 'tokens.json'), JSON.stringify(stored), { mode: 0o600 });
    ok(await cli(['token', split.url], { home: machine, env }));
    assert.equal(
      as.grants.filter((g) => g.grantType === 'client_credentials' && !g.error).length,
      grantsBefore + 1,
      'renewed with the remembered client',
    );
    const out = ok(await cli(['logout', split.url], { home: machine, env }));
    assert.doesNotMatch(out.stdout, /invalid_client|NOT revoked/);
  });

  it('bad usage exits 2 with a one-line message and a pointer to --help', async () => {
    for (const args of [
      [],
      ['login'],
      ['frobnicate', split.url],
      ['login', split.url, '--client-secret', 'hunter2'],
      ['login', split.url, '--device', '--client-credentials'],
      ['call', split.url, 'whoami', '{not json'],
      ['token', 'ftp://example.com/'],
    ]) {
      const result = await cli(args, { debug: false });
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 2, result.stderr);
      assert.match(lines[0]!, /^mcp-oauth: /);
      assert.match(lines[1]!, /--help/);
      assert.ok(!result.stderr.includes('hunter2'), 'a secret given on the command line is not echoed');
    }
  });

  it('never wrote an access token, refresh token or secret to stderr', () => {
    assert.ok(secrets.size >= 6, `collected ${secrets.size} secrets`);
    const all = stderrs.join('\n');
    assert.ok(all.length > 0);
    for (const secret of secrets) assert.ok(!all.includes(secret), 'a token or secret reached stderr');
  });
});
