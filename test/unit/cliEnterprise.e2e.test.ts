// The CLI's enterprise-managed authorization (`--enterprise --idp …`) and workload identity
// (`--workload-token-file`), end to end against the real peers. $BROWSER is the scripted user, who signs in at
// the IdP and comes back to the CLI's loopback receiver; $MCP_OAUTH_HOME is a temporary directory.
//
// Two ways in: the built CLI with its command line, and the CLI's commands in this process with the options
// the parser gives them, which run the same code from there on (the commands, the CLI environment and host, the
// file stores, the browser).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { parseCliArgs, type FlowOptions } from '../../src/cli/args';
import * as commands from '../../src/cli/commands';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { AS_CLIENT } from '../fixtures/idJagAuthServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { signIn as fixtureSignIn } from '../fixtures/signIn';
import { startWorkloadAuthServer, type WorkloadAuthServer } from '../fixtures/workloadAuthServer';
import { kubernetesServiceAccount, startWorkloadIssuer, type WorkloadIssuer } from '../fixtures/workloadIssuer';
import { ensureCliBuilt, REPO, runCli, type CliResult } from './support/cliRunner';
import {
  AS_SECRET,
  IDP_BASIC_CLIENT,
  IDP_SECRET,
  startEnterprisePeers,
  type EnterprisePeers,
} from './support/enterpriseHarness';

const BROWSER_SCRIPT = path.join(REPO, 'test', 'unit', 'support', 'approvingBrowser.ts');
const ROUTER = kubernetesServiceAccount('agents', 'router');
const INDEXER = kubernetesServiceAccount('agents', 'indexer');
const SECRET_ENV = { AS_SECRET_VAR: AS_SECRET, IDP_SECRET_VAR: IDP_SECRET };

/** The options `mcp-oauth login <url> …args` parses to. */
function loginOptions(url: string, args: string[]): FlowOptions {
  const command = parseCliArgs(['login', url, ...args]);
  assert.equal(command.command, 'login');
  return (command as { options: FlowOptions }).options;
}

describe('mcp-oauth CLI: enterprise-managed authorization and workload identity, against real peers', function () {
  let peers: EnterprisePeers;
  let mcp: string;
  let issuer: WorkloadIssuer;
  let workloadAs: WorkloadAuthServer;
  let workloadMcp: McpServerFixture;
  let root: string;
  let browserLog: string;
  /** Everything the CLI wrote on stderr, and every token it held or was given: none of the latter in the former. */
  const stderrs: string[] = [];
  const secrets = new Set<string>(Object.values(SECRET_ENV));

  before(async function () {
    this.timeout(60_000);
    peers = await startEnterprisePeers(1);
    mcp = peers.servers[0]!.url;
    issuer = await startWorkloadIssuer();
    workloadAs = await startWorkloadAuthServer({
      trustedIssuers: [issuer.issuer],
      workloads: { [ROUTER.sub]: ['mcp:read', 'mcp:write'], [INDEXER.sub]: ['mcp:read', 'mcp:write'] },
    });
    workloadMcp = await startSplitDomainServer({ as: workloadAs });
    root = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-cli-enterprise-'));
    browserLog = path.join(root, 'browser.log');
  });
  after(async () => {
    await workloadMcp?.close();
    await workloadAs?.close();
    await issuer?.close();
    await peers?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const browser = `"${process.execPath}" --import tsx "${BROWSER_SCRIPT}" %s`;
  const baseEnv = (home: string) => ({
    MCP_OAUTH_HOME: home,
    BROWSER: browser,
    APPROVING_BROWSER_LOG: browserLog,
    MCP_OAUTH_DEBUG: '1', // the most diagnostics, for the leak check
    ...SECRET_ENV,
  });
  const browserActions = () =>
    existsSync(browserLog) ? readFileSync(browserLog, 'utf8').trim().split('\n').filter(Boolean) : [];
  const browserActionsOnce = async (count: number) => {
    for (let i = 0; i < 40 && browserActions().length < count; i++) await new Promise((r) => setTimeout(r, 50));
    return browserActions();
  };
  const stored = (home: string): Record<string, TokenSet> => {
    const file = path.join(home, 'tokens.json');
    if (!existsSync(file)) return {};
    const entries = (JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, TokenSet> }).entries;
    for (const tokens of Object.values(entries))
      for (const value of [tokens.accessToken, tokens.refreshToken, tokens.idToken]) if (value) secrets.add(value);
    return entries;
  };
  /** Makes every stored set of `home` look expired, as time passing would. */
  const expireAll = (home: string) => {
    const file = path.join(home, 'tokens.json');
    const content = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, { expiresAt: number }> };
    for (const entry of Object.values(content.entries)) entry.expiresAt = Date.now() - 1000;
    writeFileSync(file, JSON.stringify(content));
  };
  const mintWorkload = async (file: string, who = ROUTER) => {
    const token = await issuer.mint({ sub: who.sub, audience: workloadAs.tokenEndpoint, claims: who.claims });
    secrets.add(token);
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    return token;
  };
  const idpKey = () => `identity-provider:${peers.idp.issuer}`;
  const enterpriseFlags = () => [
    '--enterprise',
    '--idp',
    peers.idp.issuer,
    '--idp-client-id',
    IDP_BASIC_CLIENT.client_id!,
    '--idp-client-secret-env',
    'IDP_SECRET_VAR',
    '--client-id',
    AS_CLIENT.client_id!,
    '--client-secret-env',
    'AS_SECRET_VAR',
  ];

  describe('the CLI commands with the parsed options', () => {
    /** The parsed options of `--enterprise --idp … --client-id … --client-secret-env …` (and `extra`). */
    const enterpriseOptions = (extra: string[] = []): FlowOptions =>
      loginOptions(mcp, [...enterpriseFlags(), ...extra]);
    const workloadOptions = (file: string): FlowOptions =>
      loginOptions(workloadMcp.url, ['--workload-token-file', file]);
    const noFlags = { flow: 'auto', scopes: [], openBrowser: true } as FlowOptions;

    /** Runs `run` as the CLI's main would, with its environment, stdout and stderr. */
    const inProcess = async (
      home: string,
      run: (io: commands.CliIO) => Promise<void>,
    ): Promise<{ stdout: string; stderr: string; error?: Error }> => {
      const env = baseEnv(home);
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      Object.assign(process.env, env);
      let stdout = '';
      let stderr = '';
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array) => {
        stderr += String(chunk);
        return true;
      }) as typeof process.stderr.write;
      let error: Error | undefined;
      try {
        await run({ stdout: (text) => void (stdout += text), readStdin: async () => '' });
      } catch (thrown) {
        error = thrown as Error;
      } finally {
        process.stderr.write = write;
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      stderrs.push(stderr, error?.message ?? '');
      stored(home);
      return { stdout, stderr, ...(error ? { error } : {}) };
    };
    const ok = <T extends { error?: Error; stderr: string }>(result: T): T => {
      assert.equal(result.error, undefined, `${result.error?.stack}\nstderr: ${result.stderr}`);
      return result;
    };

    it('login --enterprise signs in to the IdP in the browser, exchanges, and prints the account', async () => {
      const home = path.join(root, 'enterprise');
      const browsed = browserActions().length;
      const result = ok(
        await inProcess(home, (io) => commands.login({ command: 'login', url: mcp, options: enterpriseOptions() }, io)),
      );
      assert.equal(result.stdout, `Signed in to ${mcp} as alice@example.test; scopes: mcp:read\n`);
      assert.match(result.stderr, /Open this URL to sign in:/);
      assert.equal((await browserActionsOnce(browsed + 1)).length, browsed + 1, 'one sign-in, at the IdP');
      const entries = stored(home);
      assert.equal(entries[mcp]!.grantType, 'id_jag');
      assert.ok(entries[idpKey()]!.idToken && entries[idpKey()]!.refreshToken, 'the IdP session is kept');
      const profiles = readFileSync(path.join(home, 'servers.json'), 'utf8');
      for (const secret of Object.values(SECRET_ENV)) assert.ok(!profiles.includes(secret), 'a secret in servers.json');
    });

    it('tools with only the URL: the remembered options, no browser', async () => {
      const home = path.join(root, 'enterprise');
      const browsed = browserActions().length;
      const result = ok(
        await inProcess(home, (io) =>
          commands.tools({ command: 'tools', url: mcp, options: noFlags, json: false }, io),
        ),
      );
      assert.deepEqual(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' ')[0])
          .sort(),
        ['admin_action', 'whoami'],
      );
      assert.equal(browserActions().length, browsed);
    });

    it('token exchanges again once the token expired, and renews the ID token, with no browser', async () => {
      const home = path.join(root, 'enterprise');
      const before = stored(home);
      expireAll(home);
      const browsed = browserActions().length;
      const result = ok(await inProcess(home, (io) => commands.token({ url: mcp }, io)));
      const after = stored(home);
      assert.equal(result.stdout.trim(), after[mcp]!.accessToken);
      assert.notEqual(after[mcp]!.accessToken, before[mcp]!.accessToken);
      assert.notEqual(after[idpKey()]!.refreshToken, before[idpKey()]!.refreshToken, 'the IdP refresh token rotated');
      assert.equal(browserActions().length, browsed);
    });

    it('login --enterprise --id-token-file uses the ID token in the file, with no browser and no IdP session', async () => {
      const home = path.join(root, 'id-token-file');
      const file = path.join(root, 'id-token');
      const { id_token: idToken } = await fixtureSignIn({
        metadataUrl: peers.idp.metadataUrl,
        clientId: IDP_BASIC_CLIENT.client_id!,
        clientSecret: IDP_SECRET,
        scope: 'openid',
        user: { login: 'bob' },
      });
      secrets.add(idToken!);
      await writeFile(file, idToken!, { mode: 0o600 });
      const browsed = browserActions().length;
      const result = ok(
        await inProcess(home, (io) =>
          commands.login({ command: 'login', url: mcp, options: enterpriseOptions(['--id-token-file', file]) }, io),
        ),
      );
      assert.match(result.stdout, /as bob@example\.test/);
      assert.equal(browserActions().length, browsed, 'no browser');
      assert.deepEqual(Object.keys(stored(home)), [mcp]);
    });

    it('login --enterprise without the IdP secret variable says which variable, and prints no secret', async () => {
      const home = path.join(root, 'enterprise-no-secret');
      const flags = enterpriseFlags().map((flag) => (flag === 'IDP_SECRET_VAR' ? 'UNSET_IDP_SECRET' : flag));
      const options = loginOptions(mcp, flags);
      const browsed = browserActions().length;
      const result = await inProcess(home, (io) => commands.login({ command: 'login', url: mcp, options }, io));
      assert.match(String(result.error?.message), /UNSET_IDP_SECRET/);
      await new Promise((resolve) => setTimeout(resolve, 500)); // a browser that was started would have logged
      assert.equal(browserActions().length, browsed, 'no browser for a sign-in that cannot succeed');
    });

    it('login --workload-token-file gets a token with the workload JWT; a rotated file is read again', async () => {
      const home = path.join(root, 'workload');
      const file = path.join(root, 'workload-token');
      await mintWorkload(file);
      const browsed = browserActions().length;
      const login = ok(
        await inProcess(home, (io) =>
          commands.login({ command: 'login', url: workloadMcp.url, options: workloadOptions(file) }, io),
        ),
      );
      assert.equal(login.stdout, `Signed in to ${workloadMcp.url} as ${ROUTER.sub}; scopes: mcp:read\n`);
      assert.equal(browserActions().length, browsed, 'no browser');
      assert.equal(workloadAs.grants.at(-1)!.clientId, undefined, 'no client_id sent');
      const listed = ok(
        await inProcess(home, (io) =>
          commands.tools({ command: 'tools', url: workloadMcp.url, options: noFlags, json: true }, io),
        ),
      );
      assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((t) => t.name).sort(), [
        'admin_action',
        'whoami',
      ]);
      await mintWorkload(file, INDEXER);
      expireAll(home);
      const token = ok(await inProcess(home, (io) => commands.token({ url: workloadMcp.url }, io)));
      assert.equal(decodeJwt(token.stdout.trim()).sub, INDEXER.sub, 'the rotated token was read');
    });
  });

  describe('the built CLI with its command line', () => {
    before(function () {
      this.timeout(60_000);
      ensureCliBuilt();
    });
    const cli = async (args: string[], home: string, env: Record<string, string> = {}): Promise<CliResult> => {
      const result = await runCli(args, { ...baseEnv(home), ...env });
      stderrs.push(result.stderr);
      stored(home);
      return result;
    };
    const ok = (result: CliResult) => {
      assert.equal(result.code, 0, `exit ${result.code}; stderr: ${result.stderr}`);
      return result;
    };

    it('login --enterprise --idp … signs in at the IdP once; tools and token need only the URL', async () => {
      const home = path.join(root, 'argv-enterprise');
      const browsed = browserActions().length;
      const login = ok(await cli(['login', mcp, ...enterpriseFlags()], home));
      assert.equal(login.stdout, `Signed in to ${mcp} as alice@example.test; scopes: mcp:read\n`);
      assert.equal((await browserActionsOnce(browsed + 1)).length, browsed + 1);
      const tools = ok(await cli(['tools', mcp], home));
      assert.match(tools.stdout, /whoami/);
      expireAll(home);
      const token = ok(await cli(['token', mcp], home));
      assert.equal(token.stdout.trim(), stored(home)[mcp]!.accessToken);
      assert.equal(browserActions().length, browsed + 1, 'no second sign-in');
    });

    it('login --workload-token-file, then tools', async () => {
      const home = path.join(root, 'argv-workload');
      const file = path.join(root, 'argv-workload-token');
      await mintWorkload(file);
      const login = ok(await cli(['login', workloadMcp.url, '--workload-token-file', file], home));
      assert.match(login.stdout, new RegExp(`as ${ROUTER.sub}`));
      await mintWorkload(file); // the platform rotates it; the next token request reads it again
      expireAll(home);
      assert.match(ok(await cli(['tools', workloadMcp.url], home)).stdout, /whoami/);
    });
  });

  describe('afterwards', () => {
    it('never wrote a token, an ID token, a workload JWT or a secret to stderr', () => {
      assert.ok(secrets.size >= 8, `collected ${secrets.size} secrets`);
      const all = stderrs.join('\n');
      assert.ok(all.length > 0, 'the CLI wrote diagnostics');
      for (const secret of secrets) assert.ok(!all.includes(secret), 'a secret reached stderr');
    });
  });
});
