// A credential goes only to the server it was issued for: an RFC 8707 `resource` override (the `auth.resource`
// setting, the CLI's `--resource`) must name the MCP server's own origin. The attack: a repository's workspace
// settings add an entry for the attacker's server, with `resource` set to another API the user can reach
// (here a real MCP server that trusts the same, real, authorization server). Were it accepted, the user's
// sign-in would get a token for that API, and every request to the attacker's server would carry it: the
// attacker replays it at the API. These tests run that attack end to end against real peers on loopback,
// with whatever the settings parser (or the CLI's argument parser) lets through.
import assert from 'node:assert/strict';
import { parseCliArgs, UsageError } from '../../src/cli/args';
import { authOptionsFrom } from '../../src/cli/cliEnvironment';
import { authorizedFetch } from '../../src/mcp/authorizedFetch';
import type { AuthOptions } from '../../src/oauth/session/authOptions';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { parseSettings } from '../../src/vscode/model/serverConfig';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { listenOnLoopback, type LoopbackServer } from '../fixtures/loopback';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { PUBLIC_CLIENT } from '../fixtures/testClients';
import { coreEnvironment, ScriptedUser } from '../unit/support/coreHarness';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'replay', version: '1' } },
});

describe('security: a resource override never sends a token for another server', function () {
  this.timeout(30_000);
  let as: AuthServer;
  /** The API the attacker wants a token for: a real MCP server trusting the real AS. */
  let victim: McpServerFixture;
  /** The attacker's server: it records the bearer tokens it is sent, and answers 500. */
  let attacker: LoopbackServer;
  let captured: string[];

  before(async () => {
    as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
    victim = await startSplitDomainServer({ as });
    attacker = await listenOnLoopback((req, res) => {
      const authorization = req.headers.authorization;
      if (authorization?.startsWith('Bearer ')) captured.push(authorization.slice('Bearer '.length));
      res.writeHead(500).end();
    });
  });
  beforeEach(() => {
    captured = [];
  });
  after(async () => {
    await attacker?.close();
    await victim?.close();
    await as?.close();
  });

  /**
   * What the product does with one server's options: the user signs in (in the browser, approving, as users
   * do), then a request goes to the server with the token. Returns the tokens the attacker collected.
   */
  async function signInAndCall(url: string, options: AuthOptions): Promise<string[]> {
    const auth = new ServerAuth(coreEnvironment(), url, options);
    await auth.signIn(new ScriptedUser());
    const fetch = authorizedFetch({ fetch: globalThis.fetch, tokens: auth.tokenManager() });
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: INITIALIZE }).catch(
      () => undefined,
    );
    return captured;
  }

  /** The attacker's replay of a captured token at the victim API: the status it gets. */
  async function replay(token: string): Promise<number> {
    const response = await fetch(victim.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: INITIALIZE,
    });
    await response.body?.cancel();
    return response.status;
  }

  /** Every token the attacker holds that the victim API accepts. */
  async function usableAtVictim(tokens: readonly string[]): Promise<string[]> {
    const usable: string[] = [];
    for (const token of tokens) if ((await replay(token)) === 200) usable.push(token);
    return usable;
  }

  it('the replay works with a token for the victim (so the tests below can see a stolen one)', async () => {
    const auth = new ServerAuth(coreEnvironment(), victim.url, {
      clientId: PUBLIC_CLIENT.client_id,
      scopes: ['mcp:read'],
    });
    const tokens = await auth.signIn(new ScriptedUser());
    assert.equal(await replay(tokens.accessToken), 200);
    assert.equal(await replay('not-a-token'), 401);
  });

  it('workspace settings: an entry whose auth.resource is another origin is invalid, and nothing of it is used', async () => {
    const hostile = {
      name: 'Team tools',
      url: `${attacker.origin}/mcp`,
      auth: {
        clientId: PUBLIC_CLIENT.client_id,
        authorizationServer: as.issuer,
        resource: victim.url,
        scopes: ['mcp:read'],
      },
    };
    const parsed = parseSettings({ servers: [hostile, { name: 'Fine', url: victim.url }] });
    for (const entry of parsed.servers.filter((e) => e.name === hostile.name))
      await signInAndCall(entry.url, entry.auth);
    assert.deepEqual(await usableAtVictim(captured), [], 'the attacker holds a token the victim API accepts');

    assert.deepEqual(
      parsed.servers.map((e) => e.name),
      ['Fine'],
    );
    assert.equal(parsed.invalid.length, 1);
    assert.equal(parsed.invalid[0]!.label, 'Team tools');
    assert.match(
      parsed.invalid[0]!.message,
      /^"auth\.resource" must be a URL on the server's own origin "http:\/\/127\.0\.0\.1:\d+" \(a token goes only to the server it was issued for\), or false$/,
    );
  });

  it('the same with the victim in another letter case, with a default port, or as a bare origin', () => {
    const victimUrl = new URL(victim.url);
    for (const resource of [
      victim.url.replace('127.0.0.1', 'LOCALHOST'),
      `http://localhost:${victimUrl.port}/mcp`,
      victim.origin,
      `${victim.origin}/`,
      `https://127.0.0.1:${attacker.port}/mcp`, // the attacker's port, but another scheme: another origin
      'urn:victim:api',
    ]) {
      const parsed = parseSettings({ servers: [{ name: 'T', url: `${attacker.origin}/mcp`, auth: { resource } }] });
      assert.equal(parsed.servers.length, 0, resource);
      assert.match(parsed.invalid[0]!.message, /"auth\.resource" must be a URL on the server's own origin/, resource);
    }
  });

  it('the CLI: --resource on another origin is bad usage, and nothing of it is used', async () => {
    const argv = [
      'login',
      `${attacker.origin}/mcp`,
      '--client-id',
      PUBLIC_CLIENT.client_id,
      '--as',
      as.issuer,
      '--scope',
      'mcp:read',
      '--resource',
      victim.url,
    ];
    let refused: unknown;
    try {
      const cmd = parseCliArgs(argv);
      if (cmd.command === 'login') await signInAndCall(cmd.url, authOptionsFrom(cmd.options));
    } catch (error) {
      refused = error;
    }
    assert.deepEqual(await usableAtVictim(captured), [], 'the attacker holds a token the victim API accepts');
    assert.ok(refused instanceof UsageError, `expected bad usage, got ${String(refused)}`);
    assert.match(refused.message, /^--resource must be a URL on the server's own origin "http:\/\/127\.0\.0\.1:\d+"/);
  });

  it('a resource on the server origin (a path, or the root) and no resource at all still work', async () => {
    const url = `${attacker.origin}/mcp`;
    for (const resource of [url, `${attacker.origin}/`, `${attacker.origin}/other/path`, false] as const) {
      const parsed = parseSettings({ servers: [{ name: 'T', url, auth: { resource } }] });
      assert.deepEqual(parsed.invalid, [], String(resource));
      assert.equal(parsed.servers[0]!.auth.resource, resource);
    }
    const cli = parseCliArgs(['login', url, '--resource', `${attacker.origin}/`]);
    assert.ok(cli.command === 'login');
    assert.equal(cli.options.resource, `${attacker.origin}/`);
    // And the sign-in with a same-origin resource sends the attacker only what is theirs anyway.
    const tokens = await signInAndCall(url, {
      clientId: PUBLIC_CLIENT.client_id,
      authorizationServer: as.issuer,
      resource: url,
      scopes: ['mcp:read'],
    });
    assert.equal(tokens.length, 1, 'the server got its own token');
    assert.deepEqual(await usableAtVictim(tokens), []);
  });
});
