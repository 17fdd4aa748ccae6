// Property 4: an imported token bundle is checked against discovery. The user's server is protected by a real
// oidc-provider, and the user signs in with a pre-registered confidential client whose secret MCP OAuth holds.
// A hostile bundle ("here is a token for your server, just import it") names an authorization server or a token
// endpoint of the attacker's: with an expired access token, the first use would refresh there, sending the
// client secret (and the refresh token) to the attacker. Imported through the core (the extension's Import
// Token… uses it) and through `mcp-oauth import`.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McpOAuthError } from '../../src/oauth/errors';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { BASIC_CLIENT } from '../fixtures/testClients';
import { ensureCliBuilt, runCli } from '../unit/support/cliRunner';
import { coreEnvironment } from '../unit/support/coreHarness';
import { startRecordingUpstream, type RecordingUpstream } from '../unit/support/gatewayHarness';

const SECRET = String(BASIC_CLIENT.client_secret);

describe('security: an imported bundle must name the server’s own authorization server (property 4)', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let server: McpServerFixture;
  let attacker: RecordingUpstream;
  let home: string;

  before(async () => {
    ensureCliBuilt();
    as = await startAuthServer({ clients: [BASIC_CLIENT] });
    server = await startSplitDomainServer({ as });
    attacker = await startRecordingUpstream((_record, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'attacker-at', token_type: 'Bearer', expires_in: 3600 }));
    });
    home = await mkdtemp(path.join(tmpdir(), 'mcp-oauth-bundle-'));
  });
  after(async () => {
    await attacker.close();
    await server.close();
    await as.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => (attacker.requests.length = 0));

  const bundle = (patch: Record<string, unknown>) =>
    JSON.stringify({
      type: 'mcp-oauth-token-bundle',
      version: 1,
      serverUrl: server.url,
      issuer: as.issuer,
      tokenEndpoint: `${as.issuer}/token`,
      clientId: BASIC_CLIENT.client_id,
      accessToken: 'an-expired-access-token',
      refreshToken: 'a-refresh-token',
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
      scopes: ['mcp:read'],
      ...patch,
    });
  /** What each hostile bundle changes, given the attacker's origin. */
  const hostile: [string, (o: string) => Record<string, unknown>, RegExp][] = [
    [
      "the attacker's authorization server",
      (o) => ({ issuer: o, tokenEndpoint: `${o}/token` }),
      /issuer .* is not this server's authorization server/,
    ],
    [
      "the right issuer with the attacker's token endpoint",
      (o) => ({ tokenEndpoint: `${o}/token` }),
      /token endpoint .* is not the one this server's authorization server publishes/,
    ],
  ];

  for (const [what, patch, message] of hostile) {
    it(`the core refuses a bundle naming ${what}: invalid_bundle, nothing stored, no request to the attacker`, async () => {
      const env = coreEnvironment({ credentials: { clientSecret: SECRET } });
      const auth = new ServerAuth(env, server.url, { clientId: BASIC_CLIENT.client_id }, 'work');
      await assert.rejects(auth.importBundle(bundle(patch(attacker.origin))), (error: unknown) => {
        assert.ok(error instanceof McpOAuthError && error.code === 'invalid_bundle', String(error));
        assert.match(error.message, message);
        assert.match(error.message, /nothing was imported/);
        return true;
      });
      assert.equal(await env.tokens.get('work'), undefined);
      await assert.rejects(auth.tokenManager().getAccessToken(), /Not signed in/);
      assert.deepEqual(attacker.requests, [], 'the client secret went nowhere');
    });

    it(`mcp-oauth import refuses a bundle naming ${what}, and the next token command sends nothing there`, async () => {
      const text = bundle(patch(attacker.origin));
      const env = { MCP_OAUTH_HOME: home, MCP_OAUTH_DEBUG: undefined };
      const imported = await runCli(['import', server.url], env, text);
      assert.equal(imported.code, 1, imported.stderr);
      assert.match(imported.stderr, /\[invalid_bundle\]/);
      assert.match(imported.stderr, message);
      const token = await runCli(['token', server.url], env);
      assert.notEqual(token.code, 0);
      assert.doesNotMatch(await readFile(path.join(home, 'tokens.json'), 'utf8').catch(() => ''), /a-refresh-token/);
      assert.deepEqual(attacker.requests, [], 'the refresh token went nowhere');
    });
  }
});
