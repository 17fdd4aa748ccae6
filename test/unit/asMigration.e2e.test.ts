// Authorization-server migration (SEP-2352), end to end: an MCP server moves from one real oidc-provider to
// another. Its 401 now comes with metadata naming the new authorization server; the client re-discovers,
// registers there (never presenting the old client id), signs in again as part of the call that hit the 401,
// and revokes the session the old one issued. A pre-registered client is never taken along.
import assert from 'node:assert/strict';
import { connectToServer } from '../../src/mcp/serverSession';
import { McpOAuthError } from '../../src/oauth/errors';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startMovingServer, type MovingServer } from '../fixtures/mcpServers';
import { BASIC_CLIENT } from '../fixtures/testClients';
import { coreEnvironment, ScriptedUser, text } from './support/coreHarness';

describe('authorization-server migration (SEP-2352) against real peers', function () {
  this.timeout(30_000);
  let oldAs: AuthServer;
  let newAs: AuthServer;
  let server: MovingServer;

  beforeEach(async () => {
    oldAs = await startAuthServer({ clients: [BASIC_CLIENT] });
    newAs = await startAuthServer();
    server = await startMovingServer({ as: oldAs });
  });
  afterEach(async () => {
    await server.close();
    await newAs.close();
    await oldAs.close();
  });

  for (const quietChallenge of [false, true])
    it(`a 401 naming a new authorization server leads to a new registration and sign-in there, within the same call${quietChallenge ? ' (metadata at the well-known URL only)' : ''}`, async () => {
      await server.close();
      server = await startMovingServer({ as: oldAs, quietChallenge });
      const env = coreEnvironment();
      const user = new ScriptedUser();
      const auth = new ServerAuth(env, server.url, {}, 'moving');
      const client = await connectToServer(auth, user);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      const before = (await env.tokens.get('moving'))!;
      const oldClient = (await env.clients.get(oldAs.issuer))!.clientId;
      assert.equal(before.issuer, oldAs.issuer);
      // What the extension asks after a 401, to name the move (a ServerAuth of its own: the one in use keeps
      // its discovery from the first sign-in).
      const asked = () => new ServerAuth(env, server.url, {}, 'moving').authorizationServerMove();
      assert.equal(await asked(), undefined, 'not moved yet');

      server.moveTo(newAs);
      const move = await asked();
      assert.deepEqual(move && { from: move.from, to: move.to }, { from: oldAs.issuer, to: newAs.issuer });
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/, 'the call went through');
      await client.close();

      const after = (await env.tokens.get('moving'))!;
      assert.equal(after.issuer, newAs.issuer);
      const newClient = (await env.clients.get(newAs.issuer))!.clientId;
      assert.equal(after.clientId, newClient);
      assert.notEqual(newClient, oldClient);
      const shown = user.shown.at(-1)!;
      assert.equal(shown.origin, newAs.issuer, 'the user signed in at the new authorization server');
      assert.equal(shown.searchParams.get('client_id'), newClient, 'with the client registered there');
      assert.ok(
        newAs.requests.some((r) => r.method === 'POST' && r.path === '/reg'),
        'registered at the new authorization server',
      );
      assert.equal((await oldAs.introspect(before.refreshToken!)).active, false, "the old server's session is revoked");
      assert.ok(env.logger.lines.some((l) => /moved from the authorization server/.test(l)));
    });

  it('a pre-registered client (and its secret) is never presented to the new authorization server', async () => {
    const env = coreEnvironment({ credentials: { clientSecret: String(BASIC_CLIENT.client_secret) } });
    const auth = new ServerAuth(env, server.url, { clientId: String(BASIC_CLIENT.client_id) }, 'moving');
    await auth.signIn(new ScriptedUser());
    server.moveTo(newAs);
    const call = connectToServer(auth, new ScriptedUser()).then((client) =>
      client.callTool({ name: 'whoami', arguments: {} }).finally(() => client.close()),
    );
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof McpOAuthError, String(error));
      assert.equal(error.code, 'invalid_config');
      assert.match(
        error.message,
        /moved from the authorization server .* auth\.clientId was registered at the old one/,
      );
      return true;
    });
    assert.deepEqual(
      newAs.requests.filter((r) => r.path === '/token' || r.path === '/reg' || r.path.startsWith('/auth')),
      [],
      'nothing was sent to the new authorization server but discovery',
    );
  });
});
