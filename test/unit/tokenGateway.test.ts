// The token gateway end to end: an SDK client pointed at the gateway the way VS Code's MCP client is,
// real tokens from a real sign-in against oidc-provider, and SDK-built protected MCP servers upstream.
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { SIGN_IN_REQUIRED } from '../../src/mcp/gateway/gatewayReplies';
import { TokenGateway, type GatewayRegistration } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource, type GatewayTokenSource } from '../../src/mcp/gateway/gatewayTokens';
import type { BearerChallenge } from '../../src/oauth/discovery/challenge';
import type { McpOAuthError } from '../../src/oauth/errors';
import { CancelledError } from '../../src/oauth/errors';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { coreEnvironment, newServerAuth, RecordingLogger, ScriptedUser, text } from './support/coreHarness';
import {
  closedPort,
  connectViaGateway,
  rawRequest,
  RecordingFetch,
  signInHint,
  sleep,
  startRecordingUpstream,
  staticTokens,
  until,
} from './support/gatewayHarness';

const refreshGrants = (as: AuthServer) => as.grants.filter((g) => g.grantType === 'refresh_token' && !g.error).length;

const initializeBody = (id: number | string = 1) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });

describe('token gateway', () => {
  let as: AuthServer;
  let split: McpServerFixture;
  let gateway: TokenGateway;
  let logger: RecordingLogger;
  const cleanups: (() => Promise<void> | void)[] = [];
  let nextId = 0;

  before(async () => {
    as = await startAuthServer();
    split = await startSplitDomainServer({ as });
    logger = new RecordingLogger();
    gateway = await TokenGateway.start({ logger, signInHint });
  });
  afterEach(async () => {
    // Reverse order: clients before routes before upstreams.
    while (cleanups.length) await cleanups.pop()!();
  });
  after(async () => {
    await gateway.close();
    await split.close();
    await as.close();
  });

  const register = (
    upstreamUrl: string,
    tokens: GatewayTokenSource,
    id = `server-${++nextId}`,
  ): GatewayRegistration & { id: string } => {
    const registration = gateway.register({ id, upstreamUrl, tokens });
    cleanups.push(() => registration.dispose());
    return { ...registration, id };
  };

  const connect = async (url: string, fetch?: RecordingFetch) => {
    const connection = await connectViaGateway(url, gateway, fetch?.fetch);
    cleanups.push(() => connection.client.close());
    return connection;
  };

  /** A signed-in ServerAuth for `server` (read scope), with the scripted user that did it. */
  const signedIn = async (server: McpServerFixture, options: Parameters<typeof coreEnvironment>[0] = {}) => {
    const env = coreEnvironment(options);
    const auth = newServerAuth(env, server.url);
    const user = new ScriptedUser();
    const tokens = await auth.signIn(user, { challenge: { scopes: ['mcp:read'] } }); // as the server's 401 asks
    return { env, auth, user, tokens };
  };

  it('serves a VS Code-style MCP client: initialize, tools/list and tools/call, keeping the Mcp-Session-Id', async () => {
    const { auth, tokens } = await signedIn(split);
    const route = register(split.url, tokenManagerSource(auth.tokenManager()));
    assert.equal(route.url, `${gateway.origin}/servers/${route.id}/mcp`);
    assert.match(gateway.origin, /^http:\/\/127\.0\.0\.1:\d+$/);

    const seen = new RecordingFetch();
    const { client, transport } = await connect(route.url, seen);
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
    const who = JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))) as {
      sub: string;
      scopes: string[];
    };
    assert.equal(who.sub, 'alice');
    assert.ok(who.scopes.includes('mcp:read'));

    const sessionId = transport.sessionId;
    assert.ok(sessionId, 'the client got the upstream session id through the gateway');
    assert.ok(split.sessionIds().includes(sessionId), 'the upstream has that session');
    const inSession = split.requests.filter((r) => r.sessionId === sessionId);
    assert.deepEqual(
      inSession.filter((r) => r.method === 'POST').map((r) => r.rpcMethod),
      ['notifications/initialized', 'tools/list', 'tools/call'],
    );
    // The SDK opens the standalone GET SSE stream after initialization; it stays open through the gateway.
    await until(() => split.requests.some((r) => r.sessionId === sessionId && r.method === 'GET'), 'the GET stream');
    assert.ok(split.requests.filter((r) => r.sessionId === sessionId).every((r) => r.hasAuthorization));
    assert.ok(
      seen.statuses.every((s) => s === 200 || s === 202),
      `statuses seen by the client: ${seen.statuses.join(', ')}`,
    );
    assert.ok(!logger.lines.join('\n').includes(tokens.accessToken), 'no token in the log');

    await transport.terminateSession(); // DELETE with the session id, through the gateway
    assert.ok(!split.sessionIds().includes(sessionId), 'the upstream session was ended');
  });

  it('keeps working across an access-token expiry, with one refresh and no prompt or 401 for the client', async function () {
    this.timeout(15_000);
    const shortAs = await startAuthServer({ accessTokenTtl: 2 });
    const server = await startSplitDomainServer({ as: shortAs });
    cleanups.push(
      () => shortAs.close(),
      () => server.close(),
    );
    const { auth, user, tokens } = await signedIn(server, { refreshBeforeMs: 0 });
    const route = register(server.url, tokenManagerSource(auth.tokenManager()));
    const seen = new RecordingFetch();
    const { client } = await connect(route.url, seen);
    await client.listTools();

    await sleep(tokens.expiresAt! - Date.now() + 100);
    const direct = await fetch(server.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: initializeBody(),
    });
    assert.equal(direct.status, 401, 'the first access token has really expired at the server');
    await direct.body?.cancel();

    const before = refreshGrants(shortAs);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    assert.equal(refreshGrants(shortAs) - before, 1, 'exactly one refresh_token grant');
    assert.equal(user.shown.length, 1, 'no second sign-in');
    assert.ok(
      !seen.statuses.includes(401) && !seen.statuses.includes(403),
      `statuses seen by the client: ${seen.statuses.join(', ')}`,
    );
  });

  it('refreshes once and retries when the server rejects a token the client still thinks valid', async () => {
    const { env, auth } = await signedIn(split);
    const route = register(split.url, tokenManagerSource(auth.tokenManager()));
    const seen = new RecordingFetch();
    const { client, transport } = await connect(route.url, seen);
    const stored = (await env.tokens.get(auth.tokenKey))!;
    await env.tokens.set(auth.tokenKey, { ...stored, accessToken: 'garbage-not-a-jwt' }); // revoked server-side, say

    const before = refreshGrants(as);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    assert.equal(refreshGrants(as) - before, 1);
    const calls = split.requests.filter((r) => r.sessionId === transport.sessionId && r.rpcMethod === 'tools/call');
    assert.deepEqual(
      calls.map((r) => r.status),
      [401, 200],
      'one rejected attempt upstream, then the retry',
    );
    assert.ok(!seen.statuses.includes(401), `statuses seen by the client: ${seen.statuses.join(', ')}`);
    assert.notEqual((await env.tokens.get(auth.tokenKey))!.accessToken, 'garbage-not-a-jwt');
  });

  it('answers "sign-in required" (HTTP 200, JSON-RPC error) when the refresh token is dead too', async () => {
    const { env, auth } = await signedIn(split);
    const onSignInRequired: string[] = [];
    const ownGateway = await TokenGateway.start({ signInHint, onSignInRequired: (id) => onSignInRequired.push(id) });
    cleanups.push(() => ownGateway.close());
    const route = ownGateway.register({
      id: 'dead',
      upstreamUrl: split.url,
      tokens: tokenManagerSource(auth.tokenManager()),
    });
    const stored = (await env.tokens.get(auth.tokenKey))!;
    await env.tokens.set(auth.tokenKey, { ...stored, accessToken: 'garbage', refreshToken: 'revoked-refresh-token' });

    const response = await rawRequest(ownGateway.port, {
      method: 'POST',
      path: new URL(route.url).pathname,
      body: initializeBody(7),
      headers: {
        ...ownGateway.requestHeaders,
        host: `127.0.0.1:${ownGateway.port}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
    });
    assert.equal(response.status, 200);
    const body = JSON.parse(response.text) as { id: number; error: { code: number; message: string } };
    assert.equal(body.id, 7);
    assert.equal(body.error.code, SIGN_IN_REQUIRED);
    assert.equal(body.error.message, `Sign-in required for dead: ${signInHint('dead')}`);
    assert.deepEqual(onSignInRequired, ['dead']);
  });

  it('steps up on 403 insufficient_scope: asks with the challenge, then retries with the wider token', async () => {
    const { auth, user } = await signedIn(split);
    const challenges: BearerChallenge[] = [];
    const route = register(
      split.url,
      tokenManagerSource(auth.tokenManager(), async (challenge) => {
        challenges.push(challenge);
        await auth.signIn(user, { challenge, extraScopes: challenge.scopes ?? [] });
        return true;
      }),
    );
    const seen = new RecordingFetch();
    const { client } = await connect(route.url, seen);
    const result = await client.callTool({ name: 'admin_action', arguments: {} });
    assert.equal(text(result), 'admin action done for alice');
    assert.equal(challenges.length, 1);
    assert.equal(challenges[0]!.error, 'insufficient_scope');
    assert.ok(challenges[0]!.scopes?.includes('mcp:write'), `challenge scopes: ${challenges[0]!.scopes?.join(' ')}`);
    assert.equal(user.shown.length, 2, 'the first sign-in and the step-up');
    assert.ok(!seen.statuses.includes(403), `statuses seen by the client: ${seen.statuses.join(', ')}`);
  });

  it('answers a JSON-RPC error, not a 403, when the step-up is declined', async () => {
    const { auth } = await signedIn(split);
    let asked = 0;
    const route = register(
      split.url,
      tokenManagerSource(auth.tokenManager(), async () => {
        asked++;
        return false;
      }),
    );
    const seen = new RecordingFetch();
    const { client } = await connect(route.url, seen);
    await assert.rejects(client.callTool({ name: 'admin_action', arguments: {} }), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, SIGN_IN_REQUIRED);
      assert.match(
        error.message,
        /needs more permission for this request \(scope "mcp:read mcp:write"\), and it was not granted/,
      );
      assert.ok(error.message.includes(signInHint(route.id)));
      return true;
    });
    assert.equal(asked, 1);
    assert.ok(!seen.statuses.includes(403), `statuses seen by the client: ${seen.statuses.join(', ')}`);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/, 'the session still works');
  });

  it('tells a client that is not signed in which command to run: HTTP 200 with a JSON-RPC error, never a 401', async () => {
    const env = coreEnvironment();
    const auth = newServerAuth(env, split.url);
    const route = register(split.url, tokenManagerSource(auth.tokenManager()));
    const before = split.requests.length;
    const seen = new RecordingFetch();
    await assert.rejects(connectViaGateway(route.url, gateway, seen.fetch), (error: unknown) => {
      assert.ok(error instanceof McpError, String(error));
      assert.equal(error.code, SIGN_IN_REQUIRED);
      assert.ok(error.message.includes(`Sign-in required for ${route.id}: ${signInHint(route.id)}`), error.message);
      return true;
    });
    assert.deepEqual(seen.statuses, [200]);

    const headers = {
      ...gateway.requestHeaders,
      host: `127.0.0.1:${gateway.port}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const path = new URL(route.url).pathname;
    const batch = await rawRequest(gateway.port, {
      method: 'POST',
      path,
      headers,
      body: JSON.stringify([
        JSON.parse(initializeBody('a')),
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 2, method: 'ping' },
      ]),
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      (JSON.parse(batch.text) as { id: unknown }[]).map((m) => m.id),
      ['a', 2],
      'an error for each request of a batch',
    );
    for (const request of [
      { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } },
      { method: 'DELETE', headers },
      { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) },
      { method: 'POST', headers, body: 'not json' },
    ]) {
      const response = await rawRequest(gateway.port, { ...request, path });
      assert.equal(response.status, 503, `${request.method} ${request.body ?? ''}`);
      assert.match(String(response.headers['content-type']), /^text\/plain/);
      assert.equal(response.text.trim(), `Sign-in required for ${route.id}: ${signInHint(route.id)}`);
    }
    assert.equal(split.requests.length, before, 'nothing was sent upstream without a token');
  });

  it('passes a slow SSE stream through as it arrives, and a client that leaves ends the upstream stream', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let upstreamClosed = false;
    let upstreamFinished = false;
    const upstream = await startRecordingUpstream((_record, res, req) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(
        'id: 1\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"first"}}\n\n',
      );
      req.socket.once('close', () => (upstreamClosed = true));
      void released.then(() => {
        if (res.destroyed) return;
        res.write(
          'id: 2\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"second"}}\n\n',
        );
        upstreamFinished = true;
        res.end();
      });
    });
    cleanups.push(() => upstream.close());
    const route = register(upstream.url, staticTokens('static-token'));

    const response = await fetch(route.url, {
      headers: { ...gateway.requestHeaders, accept: 'text/event-stream', 'last-event-id': '0' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /"data":"first"/);
    assert.equal(upstreamFinished, false, 'the first event arrived while the upstream stream was still open');
    assert.equal(upstream.requests[0]!.headers['last-event-id'], '0');
    release();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"data":"second"/);

    // A long-lived stream that the client abandons: the upstream request is aborted.
    const held = await startRecordingUpstream((_record, res, req) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      req.socket.once('close', () => (upstreamClosed = true));
    });
    cleanups.push(() => held.close());
    upstreamClosed = false;
    const heldRoute = register(held.url, staticTokens('static-token'));
    const abort = new AbortController();
    const stream = await fetch(heldRoute.url, {
      headers: { ...gateway.requestHeaders, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    const heldReader = stream.body!.getReader();
    assert.match(new TextDecoder().decode((await heldReader.read()).value), /: open/);
    abort.abort();
    await until(() => upstreamClosed, 'the upstream stream to be aborted');
  });

  it("cuts the client's copy of a stream that breaks upstream, rather than ending it cleanly", async () => {
    const upstream = await startRecordingUpstream((_record, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: {}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    cleanups.push(() => upstream.close());
    const route = register(upstream.url, staticTokens('t'));
    const response = await fetch(route.url, { headers: { ...gateway.requestHeaders, accept: 'text/event-stream' } });
    const reader = response.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /id: 1/);
    await assert.rejects(reader.read(), 'the break reaches the client as an error');
  });

  it('makes one refresh request for 50 concurrent tool calls on an expiring token', async () => {
    let skew = 0;
    const { auth, tokens } = await signedIn(split, { now: () => Date.now() + skew });
    const route = register(split.url, tokenManagerSource(auth.tokenManager()));
    const seen = new RecordingFetch();
    const { client } = await connect(route.url, seen);
    skew = tokens.expiresAt! - Date.now() - 1000; // inside the refresh margin for the token manager
    const before = refreshGrants(as);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => client.callTool({ name: 'whoami', arguments: {} })),
    );
    assert.ok(results.every((r) => /alice/.test(text(r))));
    assert.equal(refreshGrants(as) - before, 1);
    assert.ok(
      seen.statuses.every((s) => s === 200 || s === 202),
      `statuses seen by the client: ${seen.statuses.join(', ')}`,
    );
  });

  it('answers 502 with a clear message, and no token, when the upstream is down', async () => {
    const port = await closedPort();
    const token = 'secret-token-for-a-down-server';
    const route = register(`http://127.0.0.1:${port}/mcp`, staticTokens(token));
    const response = await fetch(route.url, {
      method: 'POST',
      headers: { ...gateway.requestHeaders, 'content-type': 'application/json' },
      body: initializeBody(),
    });
    assert.equal(response.status, 502);
    const body = await response.text();
    assert.match(
      body,
      new RegExp(
        `could not reach the MCP server for ${route.id} at http://127\\.0\\.0\\.1:${port}/mcp \\(ECONNREFUSED\\)`,
      ),
    );
    assert.ok(!body.includes(token));
  });

  it('never lets an upstream 401 or 403 through', async () => {
    const upstream = await startRecordingUpstream((record, res) => {
      const forbidden = record.url.endsWith('/forbidden');
      res.writeHead(forbidden ? 403 : 401, {
        'www-authenticate': forbidden ? 'Bearer error="access_denied"' : 'Bearer error="invalid_token"',
        'content-type': 'application/json',
      });
      res.end('{"error":"nope"}');
    });
    cleanups.push(() => upstream.close());
    let refreshes = 0;
    const tokens = staticTokens('first', { refresh: async () => `renewed-${++refreshes}` });
    const route = register(upstream.url, tokens);
    const headers = { ...gateway.requestHeaders, 'content-type': 'application/json' };

    const unauthorized = await fetch(route.url, { method: 'POST', headers, body: initializeBody(3) });
    assert.equal(unauthorized.status, 200);
    assert.equal(((await unauthorized.json()) as { error: { code: number } }).error.code, SIGN_IN_REQUIRED);
    assert.equal(refreshes, 1, 'renewed once, not in a loop');
    assert.deepEqual(
      upstream.requests.map((r) => r.headers.authorization),
      ['Bearer first', 'Bearer renewed-1'],
    );

    const stream = await fetch(route.url, { headers: { ...headers, accept: 'text/event-stream' } });
    assert.equal(stream.status, 503);
    await stream.body?.cancel();

    const forbidden = await fetch(`${route.url}/forbidden`, { method: 'POST', headers, body: initializeBody(4) });
    assert.equal(forbidden.status, 200);
    const message = ((await forbidden.json()) as { error: { message: string } }).error.message;
    assert.match(message, /refused the request \(HTTP 403, "access_denied"\)/);
    assert.equal(forbidden.headers.get('www-authenticate'), null);
  });

  it('a step-up source that throws, or none at all, yields a JSON-RPC error for a 403 insufficient_scope', async () => {
    const upstream = await startRecordingUpstream((_record, res) => {
      res.writeHead(403, { 'www-authenticate': 'Bearer error="insufficient_scope", scope="mcp:write"' }).end();
    });
    cleanups.push(() => upstream.close());
    const throwing = register(
      upstream.url,
      staticTokens('t', {
        stepUp: async () => {
          throw new CancelledError('The user cancelled');
        },
      }),
    );
    const without = register(upstream.url, staticTokens('t'));
    for (const route of [throwing, without]) {
      const response = await fetch(route.url, {
        method: 'POST',
        headers: { ...gateway.requestHeaders, 'content-type': 'application/json' },
        body: initializeBody(9),
      });
      assert.equal(response.status, 200);
      const { error } = (await response.json()) as { error: { message: string } };
      assert.equal(
        error.message,
        `${route.id} needs more permission for this request (scope "mcp:write"), and it was not granted. To grant it: ${signInHint(route.id)}`,
      );
    }
  });

  it('dispose() removes the route and cuts its open streams; close() ends everything and refuses new routes', async () => {
    let upstreamClosed = 0;
    const upstream = await startRecordingUpstream((_record, res, req) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      req.socket.once('close', () => upstreamClosed++);
    });
    cleanups.push(() => upstream.close());
    const own = await TokenGateway.start({ signInHint });
    cleanups.push(() => own.close());
    const open = async (url: string) => {
      const response = await fetch(url, { headers: { ...own.requestHeaders, accept: 'text/event-stream' } });
      const reader = response.body!.getReader();
      await reader.read();
      return reader;
    };
    const a = own.register({ id: 'a', upstreamUrl: upstream.url, tokens: staticTokens('t') });
    const b = own.register({ id: 'b', upstreamUrl: upstream.url, tokens: staticTokens('t') });
    assert.throws(
      () => own.register({ id: '', upstreamUrl: upstream.url, tokens: staticTokens('t') }),
      (e: McpOAuthError) => e.code === 'invalid_config',
    );

    const streamA = await open(a.url);
    a.dispose();
    await assert.rejects(streamA.read(), 'the stream of a disposed route is cut');
    await until(() => upstreamClosed === 1, 'the upstream stream of the disposed route to close');
    const gone = await rawRequest(own.port, {
      path: new URL(a.url).pathname,
      headers: { ...own.requestHeaders, host: `127.0.0.1:${own.port}` },
    });
    assert.equal(gone.status, 404);

    const streamB = await open(b.url);
    await own.close();
    await assert.rejects(streamB.read(), 'close() cuts open streams');
    await until(() => upstreamClosed === 2, 'the upstream stream to close with the gateway');
    await assert.rejects(fetch(b.url, { headers: own.requestHeaders }), 'nothing listens any more');
    assert.throws(
      () => own.register({ id: 'c', upstreamUrl: upstream.url, tokens: staticTokens('t') }),
      (e: McpOAuthError) => e.code === 'gateway_closed',
    );
  });

  it('replaces a route registered again under the same id; the older registration no longer removes it', async () => {
    const first = await startRecordingUpstream();
    const second = await startRecordingUpstream();
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    const old = register(first.url, staticTokens('t'), 'again');
    const current = register(second.url, staticTokens('t'), 'again');
    assert.equal(current.url, old.url);
    old.dispose();
    const response = await fetch(current.url, { headers: gateway.requestHeaders });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(first.requests.length, 0);
    assert.equal(second.requests.length, 1);
  });

  it('refuses an upstream URL that is neither https nor loopback http', () => {
    assert.throws(
      () => gateway.register({ id: 'plain', upstreamUrl: 'http://mcp.example.com/mcp', tokens: staticTokens('t') }),
      (e: McpOAuthError) => e.code === 'insecure_url',
    );
  });

  it("forwards the path remainder and merges the query with the upstream URL's own", async () => {
    const upstream = await startRecordingUpstream();
    cleanups.push(() => upstream.close());
    const route = register(`${upstream.url}?tenant=t1`, staticTokens('t'), 'id with spaces/and slash');
    assert.ok(route.url.endsWith('/servers/id%20with%20spaces%2Fand%20slash/mcp'));
    const response = await fetch(`${route.url}/sub?x=1`, { headers: gateway.requestHeaders });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(upstream.requests[0]!.url, '/mcp/sub?tenant=t1&x=1');
  });
});
