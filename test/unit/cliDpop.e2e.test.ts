// The built `mcp-oauth` CLI with DPoP (RFC 9449), as a child process against the real peers: oidc-provider
// requiring its DPoP nonce, the DPoP-verifying MCP server requiring its own, and a Bearer-only server of the
// same AS. `login`, `tools` and `call` get and use DPoP-bound tokens, the key lives in a 0600 dpop-keys.json,
// `export` is refused, and no token, proof or key ever reaches stdout or stderr.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import type { StoredDpopKey } from '../../src/oauth/dpop/dpopKeys';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { staticClients } from '../fixtures/testClients';
import { ensureCliBuilt, REPO, runCli, type CliResult } from './support/cliRunner';

const BROWSER_SCRIPT = path.join(REPO, 'test', 'unit', 'support', 'approvingBrowser.ts');

describe('mcp-oauth CLI with DPoP against real peers', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let dpop: DpopMcpServer;
  let bearer: McpServerFixture;
  let root: string;
  let home: string;
  let browserLog: string;
  const outputs: string[] = [];
  /** Every token and key the CLI held after each run: none may appear in what it printed. */
  const secrets = new Set<string>();

  before(async function () {
    this.timeout(60_000);
    ensureCliBuilt();
    as = await startAuthServer({ clients: staticClients({ keys: [] }), dpop: { nonce: true } });
    dpop = await startDpopMcpServer({ as, nonce: true });
    bearer = await startSplitDomainServer({ as });
    root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-dpop-'));
    home = path.join(root, 'state');
    browserLog = path.join(root, 'browser.log');
  });
  after(async () => {
    await dpop?.close();
    await bearer?.close();
    await as?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const cli = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(args, {
      MCP_OAUTH_HOME: home,
      BROWSER: `"${process.execPath}" --import tsx "${BROWSER_SCRIPT}" %s`,
      APPROVING_BROWSER_LOG: browserLog,
      APPROVING_BROWSER_REQUESTS: `${browserLog}.requests`,
      MCP_OAUTH_DEBUG: '1', // the most diagnostics, for the leak check
    });
    outputs.push(result.stdout, result.stderr);
    for (const tokens of Object.values(entries<TokenSet>('tokens.json'))) {
      secrets.add(tokens.accessToken);
      if (tokens.refreshToken) secrets.add(tokens.refreshToken);
    }
    for (const key of Object.values(entries<StoredDpopKey>('dpop-keys.json'))) secrets.add(String(key.privateJwk.d));
    return result;
  };
  const ok = (result: CliResult) => {
    assert.equal(result.code, 0, `exit ${result.code}; stderr: ${result.stderr}`);
    return result;
  };
  const entries = <T>(file: string): Record<string, T> =>
    existsSync(path.join(home, file))
      ? (JSON.parse(readFileSync(path.join(home, file), 'utf8')) as { entries: Record<string, T> }).entries
      : {};
  const tokensOf = (url: string) => entries<TokenSet>('tokens.json')[url]!;
  const browsed = () => (existsSync(browserLog) ? readFileSync(browserLog, 'utf8').trim().split('\n').length : 0);

  it('login gets DPoP-bound tokens and keeps the key in a private dpop-keys.json', async () => {
    const result = ok(await cli(['login', dpop.url]));
    assert.equal(result.stdout, `Signed in to ${dpop.url} as alice@example.test; scopes: mcp:read\n`);
    const tokens = tokensOf(dpop.url);
    assert.equal(tokens.tokenType, 'DPoP');
    const keys = entries<StoredDpopKey>('dpop-keys.json');
    assert.deepEqual(Object.keys(keys), [`${dpop.url} ${as.issuer}`], 'one key, for this server and its AS');
    const key = Object.values(keys)[0]!;
    assert.equal(key.jkt, tokens.dpopJkt);
    assert.deepEqual(decodeJwt(tokens.accessToken).cnf, { jkt: key.jkt });
    assert.equal(statSync(path.join(home, 'dpop-keys.json')).mode & 0o777, 0o600, 'dpop-keys.json is 0600');
    assert.ok(!readFileSync(path.join(home, 'tokens.json'), 'utf8').includes(String(key.privateJwk.d)));
    assert.deepEqual(
      as.grants.map((g) => g.error ?? g.tokenType),
      ['use_dpop_nonce', 'DPoP'],
      'the AS nonce, answered once',
    );
  });

  it('tools and call use the token with a fresh proof and the server’s nonce, without signing in again', async () => {
    const before = dpop.requests.length;
    const listed = ok(await cli(['tools', dpop.url]));
    assert.deepEqual(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0])
        .sort(),
      ['admin_action', 'whoami'],
    );
    const called = ok(await cli(['call', dpop.url, 'whoami']));
    assert.equal((JSON.parse(called.stdout) as { sub: string }).sub, 'alice');
    assert.equal(browsed(), 1, 'no new sign-in');
    const seen = dpop.requests.slice(before).filter((r) => r.hasAuthorization);
    assert.ok(
      seen.every((r) => r.scheme === 'DPoP'),
      'DPoP only',
    );
    // Each CLI run is a new process: its first proof has no nonce yet, and is answered with one.
    assert.deepEqual(
      [...new Set(seen.map((r) => r.outcome))].sort(),
      ['ok', 'use_dpop_nonce'],
      seen.map((r) => `${r.outcome}: ${r.detail}`).join('; '),
    );
    assert.equal(new Set(seen.map((r) => r.proof?.jti)).size, seen.length);
  });

  it('call admin_action steps up under the DPoP challenge, keeping the key', async () => {
    const jkt = tokensOf(dpop.url).dpopJkt;
    const result = ok(await cli(['call', dpop.url, 'admin_action']));
    assert.equal(result.stdout, 'admin action done for alice\n');
    const tokens = tokensOf(dpop.url);
    assert.deepEqual([...tokens.scopes].sort(), ['mcp:read', 'mcp:write']);
    assert.equal(tokens.dpopJkt, jkt);
  });

  it('export is refused: the tokens are useless without the key, which never leaves', async () => {
    const result = await cli(['export', dpop.url]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /\[not_exportable\]/);
    assert.match(result.stderr, /DPoP key/);
  });

  it('a Bearer-only server of the same AS keeps getting Bearer tokens, with no key made for it', async () => {
    ok(await cli(['login', bearer.url]));
    assert.equal(tokensOf(bearer.url).tokenType, 'Bearer');
    assert.equal(Object.keys(entries('dpop-keys.json')).length, 1);
    const exported = ok(await cli(['export', bearer.url]));
    assert.equal((JSON.parse(exported.stdout) as { type: string }).type, 'mcp-oauth-token-bundle');
    outputs.splice(outputs.indexOf(exported.stdout), 1); // a bundle holds its tokens: that is what it is for
  });

  it('logout signs out of the DPoP session; the next login binds to the same key', async () => {
    const jkt = tokensOf(dpop.url).dpopJkt;
    const out = ok(await cli(['logout', dpop.url]));
    assert.match(out.stdout, /refresh token revoked/, 'a DPoP-bound refresh token is revoked as any other');
    assert.equal(tokensOf(dpop.url), undefined);
    ok(await cli(['login', dpop.url]));
    assert.equal(tokensOf(dpop.url).dpopJkt, jkt);
  });

  it('never printed a token, a refresh token or the key', () => {
    assert.ok(secrets.size >= 5, `${secrets.size} secrets seen`);
    for (const output of outputs)
      for (const secret of secrets) assert.ok(!output.includes(secret), `a secret in the output: ${output}`);
  });
});
