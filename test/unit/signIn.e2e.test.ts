// The authorization-code sign-in, end to end, against a real oidc-provider and SDK-built MCP servers.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { McpOAuthError } from '../../src/oauth/errors';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import {
  startCustomMetadataPathServer,
  startNoMetadataServer,
  startSelfHostedAsServer,
  startSplitDomainServer,
  type McpServerFixture,
} from '../fixtures/mcpServers';
import { BASIC_CLIENT, POST_CLIENT, PUBLIC_CLIENT, staticClients } from '../fixtures/testClients';
import type { MemoryClientStore } from './support/coreHarness';
import { connectWithSignIn, coreEnvironment, newServerAuth, ScriptedUser, text } from './support/coreHarness';

describe('authorization-code sign-in against real peers', () => {
  let as: AuthServer;
  let split: McpServerFixture;

  before(async () => {
    as = await startAuthServer({ clients: staticClients({ keys: [] }) });
    split = await startSplitDomainServer({ as });
  });
  after(async () => {
    await split.close();
    await as.close();
  });

  it('signs in to a split-domain server through its challenge, RFC 9728 and RFC 8414, then calls a tool', async () => {
    const env = coreEnvironment();
    const user = new ScriptedUser();
    const auth = newServerAuth(env, split.url);
    const client = await connectWithSignIn(auth, user);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
    await client.close();

    assert.equal(user.shown.length, 1, 'one browser round trip');
    const request = user.shown[0]!.searchParams;
    assert.equal(request.get('code_challenge_method'), 'S256');
    assert.equal(request.get('resource'), split.url, 'RFC 8707 resource on the authorization request');
    assert.equal(
      request.get('scope'),
      'mcp:read offline_access',
      'the challenge scope, plus offline_access the AS lists',
    );
    const tokens = (await env.tokens.get(auth.tokenKey))!;
    assert.equal(
      decodeJwt(tokens.accessToken).aud,
      split.url,
      'the token was issued for the resource (RFC 8707 on the token request too)',
    );
    assert.ok(tokens.refreshToken, 'a refresh token was issued');
    assert.equal(tokens.issuer, as.issuer);
    const registration = (await env.clients.get(as.issuer))!;
    assert.equal(registration.method, 'dcr');
    assert.equal(tokens.clientId, registration.clientId);
  });

  it('reuses the stored registration on the next sign-in, and registers again after a reset', async () => {
    const env = coreEnvironment();
    const auth = newServerAuth(env, split.url);
    const registrations = () => as.requests.filter((r) => r.method === 'POST' && r.path === '/reg').length;
    const before = registrations();
    await auth.signIn(new ScriptedUser());
    await auth.signIn(new ScriptedUser());
    assert.equal(registrations() - before, 1, 'registered once for two sign-ins');
    await auth.resetClientRegistration();
    await auth.signIn(new ScriptedUser());
    assert.equal(registrations() - before, 2, 'registered again after the reset');
  });

  for (const [label, clientId, secret] of [
    ['a pre-registered public client', PUBLIC_CLIENT.client_id, undefined],
    ['a pre-registered client_secret_basic client', BASIC_CLIENT.client_id, BASIC_CLIENT.client_secret],
    ['a pre-registered client_secret_post client', POST_CLIENT.client_id, POST_CLIENT.client_secret],
  ] as const) {
    it(`signs in with ${label} and refreshes with it`, async () => {
      const env = coreEnvironment({ ...(secret ? { credentials: { clientSecret: secret } } : {}) });
      const auth = newServerAuth(env, split.url, {
        clientId,
        ...(clientId === POST_CLIENT.client_id ? { tokenEndpointAuthMethod: 'client_secret_post' as const } : {}),
      });
      const tokens = await auth.signIn(new ScriptedUser());
      assert.equal(tokens.clientId, clientId);
      assert.equal((env.clients as MemoryClientStore).entries.size, 0, 'nothing registered');
      const refreshed = await auth.tokenManager().forceRefresh(tokens.accessToken);
      assert.notEqual(refreshed.accessToken, tokens.accessToken);
    });
  }

  it('rotates the refresh token on refresh, and the old one is then refused by the AS', async () => {
    const env = coreEnvironment();
    const auth = newServerAuth(env, split.url);
    const first = await auth.signIn(new ScriptedUser());
    const second = await auth.tokenManager().forceRefresh(first.accessToken);
    assert.ok(second.refreshToken && second.refreshToken !== first.refreshToken, 'rotated');
    assert.equal(
      (await env.tokens.get(auth.tokenKey))!.refreshToken,
      second.refreshToken,
      'the rotated token was stored',
    );
    await env.tokens.set(auth.tokenKey, first); // replaying the old refresh token …
    await assert.rejects(
      auth.tokenManager().forceRefresh(first.accessToken),
      (e: McpOAuthError) => e.code === 'not_signed_in',
    );
    assert.equal(auth.tokenManager().status.state, 'expired');
  });

  it('makes exactly one refresh request for 25 concurrent callers on an expiring token', async () => {
    let clock = Date.now();
    const env = coreEnvironment({ now: () => clock });
    const auth = newServerAuth(env, split.url);
    const tokens = await auth.signIn(new ScriptedUser());
    clock = tokens.expiresAt! - 1000; // inside the refresh margin
    const refreshesBefore = as.grants.filter((g) => g.grantType === 'refresh_token').length;
    const results = await Promise.all(Array.from({ length: 25 }, () => auth.tokenManager().getAccessToken()));
    assert.equal(as.grants.filter((g) => g.grantType === 'refresh_token').length - refreshesBefore, 1);
    assert.equal(new Set(results).size, 1, 'every caller got the same new token');
    assert.notEqual(results[0], tokens.accessToken);
  });

  it('refuses a denied consent with authorization_denied and stores nothing', async () => {
    const env = coreEnvironment();
    const auth = newServerAuth(env, split.url);
    await assert.rejects(
      auth.signIn(new ScriptedUser(undefined, { deny: true })),
      (e: McpOAuthError) => e.code === 'authorization_denied',
    );
    assert.equal(await env.tokens.get(auth.tokenKey), undefined);
  });

  it('never writes a token, code or verifier to the log', async () => {
    const env = coreEnvironment();
    const user = new ScriptedUser();
    const auth = newServerAuth(env, split.url);
    const tokens = await auth.signIn(user);
    const refreshed = await auth.tokenManager().forceRefresh(tokens.accessToken);
    const secrets = [
      tokens.accessToken,
      tokens.refreshToken!,
      refreshed.accessToken,
      refreshed.refreshToken!,
      user.shown[0]!.searchParams.get('code_challenge')!,
    ];
    const log = env.logger.lines.join('\n');
    assert.ok(env.logger.lines.length > 3);
    for (const secret of secrets) assert.ok(!log.includes(secret), 'a secret reached the log');
  });
});

describe('discovery shapes and overrides against real peers', () => {
  it('signs in to an MCP server that is its own authorization server (SDK auth router)', async () => {
    const server = await startSelfHostedAsServer();
    try {
      const env = coreEnvironment();
      const client = await connectWithSignIn(
        newServerAuth(env, server.url),
        new ScriptedUser('http://127.0.0.1:33418/callback'),
      );
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('needs the authorizationServer override for a server that publishes no resource metadata', async () => {
    const as = await startAuthServer();
    const server = await startNoMetadataServer({ as });
    try {
      const env = coreEnvironment();
      await assert.rejects(
        newServerAuth(env, server.url).signIn(new ScriptedUser()),
        (e: McpOAuthError) => e.code === 'metadata_not_found',
      );
      const client = await connectWithSignIn(
        newServerAuth(env, server.url, { authorizationServer: as.issuer, scopes: ['mcp:read'] }),
        new ScriptedUser(),
      );
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
      await client.close();
    } finally {
      await server.close();
      await as.close();
    }
  });

  it('needs the authorizationServerMetadataUrl override when the AS keeps its metadata at a custom path', async () => {
    const server = await startCustomMetadataPathServer();
    try {
      const env = coreEnvironment();
      await assert.rejects(
        newServerAuth(env, server.url).signIn(new ScriptedUser()),
        (e: McpOAuthError) => e.code === 'metadata_not_found',
      );
      const client = await connectWithSignIn(
        newServerAuth(env, server.url, { authorizationServerMetadataUrl: server.metadataUrl }),
        new ScriptedUser(),
      );
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /mcp:read/);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('takes resourceMetadataUrl as given, and refuses metadata naming another resource', async () => {
    const as = await startAuthServer();
    const a = await startSplitDomainServer({ as });
    const b = await startSplitDomainServer({ as });
    try {
      const env = coreEnvironment();
      const ok = newServerAuth(env, a.url, { resourceMetadataUrl: a.resourceMetadataUrl! });
      assert.equal((await ok.discover()).resourceMetadata?.resource, a.url);
      const wrong = newServerAuth(env, a.url, { resourceMetadataUrl: b.resourceMetadataUrl! });
      await assert.rejects(wrong.discover(), (e: McpOAuthError) => e.code === 'resource_mismatch');
    } finally {
      await a.close();
      await b.close();
      await as.close();
    }
  });

  it('sends no resource when it is configured off, and the given one when overridden', async () => {
    const as = await startAuthServer();
    const server = await startSplitDomainServer({ as });
    try {
      const off = new ScriptedUser();
      await newServerAuth(coreEnvironment(), server.url, { resource: false })
        .signIn(off)
        .catch(() => undefined);
      assert.equal(off.shown[0]!.searchParams.get('resource'), null);
      const custom = new ScriptedUser();
      await newServerAuth(coreEnvironment(), server.url, { resource: `${server.origin}/` })
        .signIn(custom)
        .catch(() => undefined);
      assert.equal(custom.shown[0]!.searchParams.get('resource'), `${server.origin}/`);
    } finally {
      await server.close();
      await as.close();
    }
  });
});
