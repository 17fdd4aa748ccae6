// Property 1: a stored sign-in is used only for the server it was issued for. The attacker is an entry that
// takes the key of the user's session (in VS Code an entry's id, which defaults to its name: a repository's
// settings can declare one with the same name and its own URL) and points it at a server that records every
// Authorization header. The user signed in to a real SDK server through the real oidc-provider.
import assert from 'node:assert/strict';
import { connectToServer } from '../../src/mcp/serverSession';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource } from '../../src/mcp/gateway/gatewayTokens';
import { McpOAuthError } from '../../src/oauth/errors';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import type { TokenSet } from '../../src/oauth/tokens/tokenSet';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { coreEnvironment, ScriptedUser } from '../unit/support/coreHarness';
import {
  connectViaGateway,
  signInHint,
  startRecordingUpstream,
  type RecordingUpstream,
} from '../unit/support/gatewayHarness';

const KEY = 'work'; // the entry id both the user's entry and the attacker's claim

describe('security: a stored sign-in goes only to the server it was issued for (property 1)', () => {
  let as: AuthServer;
  let server: McpServerFixture;
  let attacker: RecordingUpstream;
  let env: ReturnType<typeof coreEnvironment>;
  let tokens: TokenSet;

  before(async () => {
    as = await startAuthServer();
    server = await startSplitDomainServer({ as });
    attacker = await startRecordingUpstream((_record, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    });
  });
  after(async () => {
    await attacker.close();
    await server.close();
    await as.close();
  });
  beforeEach(async () => {
    env = coreEnvironment();
    tokens = await new ServerAuth(env, server.url, {}, KEY).signIn(new ScriptedUser());
    attacker.requests.length = 0;
  });

  const presented = () => attacker.requests.filter((r) => r.headers.authorization?.includes(tokens.accessToken)).length;
  const tokenRequests = () => as.requests.filter((r) => r.path === '/token').length;

  /** A not_signed_in error naming both URLs, so the user knows why and what to do. */
  const refusedForOtherServer = (error: unknown): boolean => {
    assert.ok(error instanceof McpOAuthError, String(error));
    assert.equal(error.code, 'not_signed_in');
    assert.ok(error.message.includes(server.url) && error.message.includes(attacker.url), error.message);
    assert.match(error.message, /sign in again/);
    assert.ok(!error.message.includes(tokens.accessToken));
    return true;
  };

  it('the token manager of an entry with the same key and another URL hands out nothing, not even after a refresh', async () => {
    const stolen = new ServerAuth(env, attacker.url, {}, KEY);
    await assert.rejects(stolen.tokenManager().getAccessToken(), refusedForOtherServer);
    const before = tokenRequests();
    await assert.rejects(stolen.tokenManager().forceRefresh(), refusedForOtherServer);
    assert.equal(tokenRequests(), before, 'the refresh token was not redeemed for the other entry');
    assert.equal(stolen.tokenManager().status.state, 'signed_out');
    assert.deepEqual(await env.tokens.get(KEY), tokens, "the user's session is untouched");
  });

  it("an MCP client for the other URL never sends the user's token", async () => {
    await assert.rejects(connectToServer(new ServerAuth(env, attacker.url, {}, KEY)), (error: unknown) => {
      assert.ok(error instanceof McpOAuthError, String(error));
      return true;
    });
    assert.ok(attacker.requests.length > 0, 'the client did reach the server');
    assert.equal(presented(), 0);
  });

  it('the gateway route of the other URL answers sign-in required and forwards no token', async () => {
    const gateway = await TokenGateway.start({ signInHint });
    try {
      const stolen = new ServerAuth(env, attacker.url, {}, KEY);
      const route = gateway.register({
        id: KEY,
        upstreamUrl: attacker.url,
        tokens: tokenManagerSource(stolen.tokenManager()),
      });
      await assert.rejects(connectViaGateway(route.url, gateway), /401|[Ss]ign-in required/);
      assert.equal(presented(), 0);
    } finally {
      await gateway.close();
    }
  });

  it('the entry the session was made for keeps using it, and one stored by an older version is bound by its resource', async () => {
    assert.equal(await new ServerAuth(env, server.url, {}, KEY).tokenManager().getAccessToken(), tokens.accessToken);
    const { serverUrl: _dropped, ...legacy } = tokens;
    assert.equal(legacy.resource, server.url, 'the sign-in sent the server URL as its RFC 8707 resource');
    await env.tokens.set(KEY, legacy);
    assert.equal(await new ServerAuth(env, server.url, {}, KEY).tokenManager().getAccessToken(), tokens.accessToken);
    await assert.rejects(new ServerAuth(env, attacker.url, {}, KEY).tokenManager().getAccessToken(), (e: unknown) => {
      assert.ok(e instanceof McpOAuthError && e.code === 'not_signed_in', String(e));
      return true;
    });
  });

  it('a refresh keeps the binding: the renewed session still belongs to its server only', async () => {
    const auth = new ServerAuth(env, server.url, {}, KEY);
    const renewed = await auth.tokenManager().forceRefresh();
    assert.notEqual(renewed.accessToken, tokens.accessToken);
    assert.equal((await env.tokens.get(KEY))?.serverUrl, server.url);
    await assert.rejects(new ServerAuth(env, attacker.url, {}, KEY).tokenManager().getAccessToken(), (e: unknown) => {
      assert.ok(e instanceof McpOAuthError && e.code === 'not_signed_in', String(e));
      return true;
    });
  });
});
