// Who may use the token gateway, and where its tokens may go: the gateway key, the Host and Origin checks
// (DNS rebinding, web pages, other local processes), redirects, and the headers passed either way.
import assert from 'node:assert/strict';
import { TokenGateway, type GatewayRegistration } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource } from '../../src/mcp/gateway/gatewayTokens';
import { startAuthServer } from '../fixtures/authServer';
import { startSplitDomainServer } from '../fixtures/mcpServers';
import { coreEnvironment, newServerAuth, RecordingLogger, ScriptedUser, text } from './support/coreHarness';
import {
  connectViaGateway,
  rawRequest,
  RecordingFetch,
  signInHint,
  startRecordingUpstream,
  staticTokens,
  type RawRequest,
  type RecordingUpstream,
  type UpstreamHandler,
} from './support/gatewayHarness';

const TOKEN = 'eyJ.secret-access-token.sig';

function headerLines(headers: Headers): string {
  const lines: string[] = [];
  headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  return lines.join('\n');
}

describe('token gateway security', () => {
  let gateway: TokenGateway;
  let logger: RecordingLogger;
  let upstream: RecordingUpstream;
  let route: GatewayRegistration;
  let path: string;
  let handler: UpstreamHandler | undefined;

  beforeEach(async () => {
    handler = undefined;
    upstream = await startRecordingUpstream((record, res, req) => {
      if (handler) return handler(record, res, req);
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'upstream-session' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: {} }));
    });
    logger = new RecordingLogger();
    gateway = await TokenGateway.start({ logger, signInHint });
    route = gateway.register({ id: 'srv', upstreamUrl: upstream.url, tokens: staticTokens(TOKEN) });
    path = new URL(route.url).pathname;
  });
  afterEach(async () => {
    await gateway.close();
    await upstream.close();
  });

  /** A request as VS Code's client sends it (right Host, the key, no Origin), with `changes` applied. */
  const send = (changes: Partial<RawRequest> & { drop?: string[] } = {}) => {
    const headers: Record<string, string> = {
      host: `127.0.0.1:${gateway.port}`,
      ...gateway.requestHeaders,
      'content-type': 'application/json',
      ...changes.headers,
    };
    for (const name of changes.drop ?? []) delete headers[name];
    return rawRequest(gateway.port, {
      method: 'POST',
      path,
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      ...changes,
      headers,
    });
  };

  it('forwards a well-formed request (the baseline for the refusals below), addressed to 127.0.0.1 or localhost', async () => {
    assert.equal((await send()).status, 200);
    assert.equal((await send({ headers: { host: `LocalHost:${gateway.port}` } })).status, 200);
    assert.equal(upstream.requests.length, 2);
  });

  const refusals: [string, Partial<RawRequest> & { drop?: string[] }, number][] = [
    ['no gateway key', { drop: ['x-mcp-oauth-gateway-key'] }, 403],
    ['a wrong key of the same length', { headers: { 'x-mcp-oauth-gateway-key': 'A'.repeat(43) } }, 403],
    ['a wrong key of another length', { headers: { 'x-mcp-oauth-gateway-key': 'short' } }, 403],
    ['an empty key', { headers: { 'x-mcp-oauth-gateway-key': '' } }, 403],
    ['a foreign Host (DNS rebinding)', { headers: { host: 'evil.example' } }, 421],
    ['a foreign Host on the gateway port', { headers: { host: 'evil.example:PORT' } }, 421],
    ['the loopback host on another port', { headers: { host: '127.0.0.2:PORT' } }, 421],
    ['no Host', { drop: ['host'] }, 400], // Node's own HTTP/1.1 check (requireHostHeader) answers first
    ['a web page Origin', { headers: { origin: 'http://evil.example' } }, 403],
    ["the gateway's own origin as Origin", { headers: { origin: 'http://127.0.0.1:PORT' } }, 403],
    ['Origin: null (a sandboxed page)', { headers: { origin: 'null' } }, 403],
  ];
  for (const [what, changes, status] of refusals) {
    it(`refuses a request with ${what} (${status}, never 401) and never calls the upstream`, async () => {
      const withPort = {
        ...changes,
        headers: Object.fromEntries(
          Object.entries(changes.headers ?? {}).map(([k, v]) => [k, v.replace('PORT', String(gateway.port))]),
        ),
      };
      const response = await send(withPort);
      assert.equal(response.status, status);
      if (status !== 400) assert.match(String(response.headers['content-type']), /^text\/plain/);
      assert.equal(response.headers['www-authenticate'], undefined);
      assert.equal(upstream.requests.length, 0);
      assert.ok(!response.text.includes(gateway.key));
    });
  }

  it('also refuses a GET stream, a DELETE, and a request for an unknown route, without a key', async () => {
    for (const method of ['GET', 'DELETE']) {
      assert.equal((await send({ method, body: undefined, drop: ['x-mcp-oauth-gateway-key'] })).status, 403);
    }
    assert.equal(
      (await send({ path: '/servers/other/mcp', drop: ['x-mcp-oauth-gateway-key'] })).status,
      403,
      'routes cannot be probed without the key',
    );
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 404 for unknown routes and paths outside a route, with the key', async () => {
    for (const other of [
      '/servers/other/mcp',
      '/servers/srv',
      '/servers/srv/mcpx',
      '/servers/srv/other',
      '/',
      '/mcp',
      '/servers/srv/mcp/../../other/mcp',
      '/servers/srv/mcp/%2e%2e/x',
      '/servers/%E0%A4%A/mcp',
      'http://evil.example/servers/srv/mcp',
    ]) {
      const response = await send({ path: other });
      assert.equal(response.status, 404, other);
    }
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 405 for methods MCP does not use', async () => {
    for (const method of ['PUT', 'PATCH', 'OPTIONS']) assert.equal((await send({ method })).status, 405, method);
    assert.equal(upstream.requests.length, 0);
  });

  it('answers 413 for a body over the limit, and sends nothing upstream', async () => {
    const small = await TokenGateway.start({ signInHint, maxBodyBytes: 1024 });
    try {
      const r = small.register({ id: 'srv', upstreamUrl: upstream.url, tokens: staticTokens(TOKEN) });
      const headers = { host: `127.0.0.1:${small.port}`, ...small.requestHeaders, 'content-type': 'application/json' };
      const declared = await rawRequest(small.port, {
        method: 'POST',
        path: new URL(r.url).pathname,
        headers,
        body: 'x'.repeat(2048),
      });
      assert.equal(declared.status, 413);
      const chunked = await rawRequest(small.port, {
        method: 'POST',
        path: new URL(r.url).pathname,
        headers: { ...headers, 'transfer-encoding': 'chunked' },
        body: 'x'.repeat(2048),
      });
      assert.equal(chunked.status, 413);
      assert.equal(upstream.requests.length, 0);
    } finally {
      await small.close();
    }
  });

  it("sends its own bearer token, strips the client's Authorization, Cookie, key and hop-by-hop headers, and keeps the MCP ones", async () => {
    const body = '{"jsonrpc":"2.0","id":5,"method":"tools/list"}';
    const response = await send({
      body,
      headers: {
        authorization: 'Bearer client-supplied',
        cookie: 'session=abc',
        'proxy-authorization': 'Basic eA==',
        connection: 'keep-alive, x-hop',
        'x-hop': 'connection-scoped',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'sess-1',
        'mcp-protocol-version': '2025-06-18',
        'last-event-id': 'ev-9',
        'user-agent': 'vscode-test',
        'x-custom': 'kept',
      },
    });
    assert.equal(response.status, 200);
    const seen = upstream.requests[0]!;
    assert.equal(seen.headers.authorization, `Bearer ${TOKEN}`);
    for (const name of ['cookie', 'proxy-authorization', 'x-hop', 'x-mcp-oauth-gateway-key', 'origin'])
      assert.equal(seen.headers[name], undefined, name);
    assert.ok(!JSON.stringify(seen.headers).includes(gateway.key), 'the key never goes upstream');
    assert.equal(seen.headers.host, new URL(upstream.url).host);
    assert.equal(seen.headers['mcp-session-id'], 'sess-1');
    assert.equal(seen.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen.headers['last-event-id'], 'ev-9');
    assert.equal(seen.headers.accept, 'application/json, text/event-stream');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['user-agent'], 'vscode-test');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.body, body);
    assert.equal(response.headers['mcp-session-id'], 'upstream-session', 'the session id comes back');
  });

  it('does not pass cookies or challenges back to the client', async () => {
    handler = (_record, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': 'affinity=1',
        'www-authenticate': 'Bearer realm="x"',
        connection: 'x-private',
        'x-private': '1',
      });
      res.end('{}');
    };
    const response = await send();
    assert.equal(response.status, 200);
    for (const name of ['set-cookie', 'www-authenticate', 'x-private'])
      assert.equal(response.headers[name], undefined, name);
  });

  for (const status of [301, 302, 303, 307, 308]) {
    it(`does not follow a ${status} to another origin, and the token never reaches it`, async () => {
      const other = await startRecordingUpstream();
      try {
        handler = (_record, res) => {
          res.writeHead(status, { location: `${other.origin}/steal` });
          res.end();
        };
        for (const method of ['POST', 'GET']) {
          const response = await send({ method, ...(method === 'GET' ? { body: undefined } : {}) });
          assert.equal(response.status, 502, method);
          assert.equal(
            response.headers.location,
            undefined,
            'the client is not sent there either (it would carry the key)',
          );
          assert.match(
            response.text,
            /redirected to another origin \("http:\/\/127\.0\.0\.1:\d+"\)\. The gateway does not follow it/,
          );
          assert.ok(!response.text.includes(TOKEN));
        }
        assert.equal(other.requests.length, 0, 'the other origin got no request at all');
      } finally {
        await other.close();
      }
    });
  }

  it('follows a same-origin 307/308 with the body, and refuses a same-origin 302 of a POST', async () => {
    handler = (record, res) => {
      if (record.url === '/mcp') {
        res.writeHead(308, { location: '/mcp/' }).end();
      } else if (record.url === '/mcp/') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: record.body }));
      } else {
        res.writeHead(302, { location: '/mcp/' }).end();
      }
    };
    const followed = await send();
    assert.equal(followed.status, 200);
    assert.deepEqual(
      upstream.requests.map((r) => [r.url, r.headers.authorization]),
      [
        ['/mcp', `Bearer ${TOKEN}`],
        ['/mcp/', `Bearer ${TOKEN}`],
      ],
    );
    assert.equal((JSON.parse(followed.text) as { got: string }).got, '{"jsonrpc":"2.0","id":1,"method":"ping"}');
    const dropped = await send({ path: `${path}/legacy` });
    assert.equal(dropped.status, 502);
    assert.match(dropped.text, /redirect \(HTTP 302\) that would drop the request body/);
  });

  it('logs method, route and status, but never the token, the key or the query string', async () => {
    await send({ path: `${path}?code=query-secret` });
    await send({ drop: ['x-mcp-oauth-gateway-key'] });
    const log = logger.lines.join('\n');
    assert.match(log, /\[gateway\] \[srv\] POST 200/);
    assert.match(log, /refused a POST request: a missing or wrong gateway key/);
    for (const secret of [TOKEN, gateway.key, 'query-secret'])
      assert.ok(!log.includes(secret), `${secret} reached the log`);
  });

  it('with real tokens: no response the client sees contains the access token', async () => {
    const as = await startAuthServer();
    const server = await startSplitDomainServer({ as });
    try {
      const env = coreEnvironment();
      const auth = newServerAuth(env, server.url);
      const tokens = await auth.signIn(new ScriptedUser(), { challenge: { scopes: ['mcp:read'] } });
      const real = gateway.register({
        id: 'real',
        upstreamUrl: server.url,
        tokens: tokenManagerSource(auth.tokenManager(), async () => false),
      });
      const seen = new RecordingFetch();
      const { client } = await connectViaGateway(real.url, gateway, seen.fetch);
      assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
      await client.listTools();
      await assert.rejects(client.callTool({ name: 'admin_action', arguments: {} })); // the declined step-up's error
      await env.tokens.set(auth.tokenKey, { ...tokens, accessToken: `${tokens.accessToken}x`, refreshToken: 'dead' });
      await assert.rejects(client.callTool({ name: 'whoami', arguments: {} })); // sign-in required
      await client.close();
      const bodies = await Promise.all(seen.bodies);
      assert.ok(bodies.length >= 5);
      const everything = bodies.join('\n') + seen.headers.map(headerLines).join('\n') + logger.lines.join('\n');
      assert.ok(!everything.includes(tokens.accessToken), 'the access token reached the client or the log');
      assert.ok(!everything.includes(tokens.refreshToken!), 'the refresh token reached the client or the log');
      assert.ok(seen.statuses.every((s) => s !== 401 && s !== 403));
    } finally {
      await server.close();
      await as.close();
    }
  });

  it('uses a fresh random key per gateway, compared in constant time', async () => {
    const other = await TokenGateway.start({ signInHint });
    try {
      assert.notEqual(other.key, gateway.key);
      assert.match(gateway.key, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
      const r = other.register({ id: 'srv', upstreamUrl: upstream.url, tokens: staticTokens(TOKEN) });
      const crossed = await rawRequest(other.port, {
        method: 'GET',
        path: new URL(r.url).pathname,
        headers: { host: `127.0.0.1:${other.port}`, ...gateway.requestHeaders },
      });
      assert.equal(crossed.status, 403, "one gateway's key does not open another");
    } finally {
      await other.close();
    }
  });
});
