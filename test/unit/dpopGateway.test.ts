// The token gateway does DPoP for VS Code: an SDK client sends plain requests to the gateway, as VS Code's MCP
// client does, and the gateway presents the DPoP-bound token upstream with a fresh proof for the upstream URL,
// answers the server's nonce (buffering the body for the one retry) and steps up under a DPoP challenge. Against
// the DPoP-verifying MCP server and oidc-provider, and against scripted upstreams for what a real one won't do.
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { SIGN_IN_REQUIRED } from '../../src/mcp/gateway/gatewayReplies';
import { clientResponseHeaders, upstreamRequestHeaders } from '../../src/mcp/gateway/proxyHeaders';
import { TokenGateway } from '../../src/mcp/gateway/tokenGateway';
import { tokenManagerSource, type GatewayTokenSource } from '../../src/mcp/gateway/gatewayTokens';
import { signInToServer } from '../../src/mcp/serverSession';
import type { BearerChallenge } from '../../src/oauth/discovery/challenge';
import { generateDpopKey as generateKey } from '../../src/oauth/dpop/dpopKeys';
import { DpopProver } from '../../src/oauth/dpop/dpopProver';
import { ServerAuth } from '../../src/oauth/session/serverAuth';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { accessTokenHash } from '../fixtures/dpopProofs';
import { startSplitDomainServer, type McpServerFixture } from '../fixtures/mcpServers';
import { coreEnvironment, RecordingLogger, ScriptedUser, text } from './support/coreHarness';
import {
  connectViaGateway,
  rawRequest,
  RecordingFetch,
  signInHint,
  startRecordingUpstream,
  staticTokens,
  type RecordingUpstream,
} from './support/gatewayHarness';

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' });

describe('token gateway with DPoP', function () {
  this.timeout(30_000);
  let as: AuthServer;
  let dpop: DpopMcpServer;
  let nonced: DpopMcpServer;
  let bearer: McpServerFixture;
  let gateway: TokenGateway;
  let logger: RecordingLogger;
  const cleanups: (() => Promise<void> | void)[] = [];
  let nextId = 0;

  before(async () => {
    as = await startAuthServer();
    dpop = await startDpopMcpServer({ as });
    nonced = await startDpopMcpServer({ as, nonce: true });
    bearer = await startSplitDomainServer({ as });
    logger = new RecordingLogger();
    gateway = await TokenGateway.start({ logger, signInHint });
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  after(async () => {
    await gateway.close();
    await Promise.all([dpop.close(), nonced.close(), bearer.close()]);
    await as.close();
  });

  /** A signed-in ServerAuth for `url` (its challenge decides DPoP), with the user who signed in. */
  const signedIn = async (url: string) => {
    const env = coreEnvironment();
    const auth = new ServerAuth(env, url);
    const user = new ScriptedUser();
    await signInToServer(auth, user);
    return { env, auth, user };
  };

  /** The gateway route of a session, as SessionService.gatewayRoute makes it. */
  const route = (auth: ServerAuth, upstreamUrl: string, stepUp?: (challenge: BearerChallenge) => Promise<boolean>) => {
    const registration = gateway.register({
      id: `dpop-${++nextId}`,
      upstreamUrl,
      tokens: tokenManagerSource(auth.tokenManager(), stepUp, (tokens) => auth.dpopProver(tokens)),
    });
    cleanups.push(() => registration.dispose());
    return registration;
  };

  const connect = async (url: string, fetch?: RecordingFetch) => {
    const connection = await connectViaGateway(url, gateway, fetch?.fetch);
    cleanups.push(() => connection.client.close());
    return connection;
  };

  it('presents the DPoP-bound token with a fresh proof for the upstream URL on every request: POST, the GET stream, DELETE', async () => {
    const { env, auth } = await signedIn(dpop.url);
    const tokens = (await env.tokens.get(auth.tokenKey))!;
    assert.equal(tokens.tokenType, 'DPoP');
    const { url } = route(auth, dpop.url);
    const before = dpop.requests.length;
    const seen = new RecordingFetch();
    const { client, transport } = await connect(url, seen);
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['admin_action', 'whoami']);
    assert.equal(JSON.parse(text(await client.callTool({ name: 'whoami', arguments: {} }))).sub, 'alice');
    await transport.terminateSession();

    const upstream = dpop.requests.slice(before);
    assert.deepEqual([...new Set(upstream.map((r) => r.method))].sort(), ['DELETE', 'GET', 'POST']);
    for (const request of upstream) {
      assert.equal(request.outcome, 'ok', `${request.method}: ${request.detail}`);
      assert.equal(request.scheme, 'DPoP');
      assert.equal(request.proof?.htm, request.method);
      assert.equal(request.proof?.htu, dpop.url, 'the upstream URL, never the gateway’s');
      assert.equal(request.proof?.ath, accessTokenHash(tokens.accessToken));
    }
    assert.equal(new Set(upstream.map((r) => r.proof?.jti)).size, upstream.length, 'a fresh proof each time');
    assert.ok(!seen.statuses.includes(401), `the client saw ${seen.statuses.join(', ')}`);
    for (const headers of seen.headers) {
      assert.equal(headers.get('dpop-nonce'), null);
      assert.equal(headers.get('www-authenticate'), null);
    }
  });

  it('answers the server’s nonce: one retry with it (the body buffered), then the nonce kept for the next requests', async () => {
    const { auth } = await signedIn(nonced.url);
    const { url } = route(auth, nonced.url);
    const before = nonced.requests.length;
    const grants = as.grants.length;
    const seen = new RecordingFetch();
    const { client } = await connect(url, seen);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    const upstream = nonced.requests.slice(before);
    assert.equal(upstream[0]!.outcome, 'use_dpop_nonce', 'the first proof had no nonce');
    assert.equal(upstream[1]!.rpcMethod, upstream[0]!.rpcMethod, 'the same request again, body and all');
    // POSTs: the open GET stream's check may still be under way.
    const posts = upstream.slice(1).filter((r) => r.method === 'POST');
    assert.ok(
      posts.length >= 3 && posts.every((r) => r.outcome === 'ok' && r.proof?.nonce === nonced.nonce),
      `then every proof carries the nonce: ${posts.map((r) => r.outcome).join()}`,
    );
    assert.ok(!seen.statuses.includes(401), `the client saw ${seen.statuses.join(', ')}`);
    assert.equal(as.grants.length, grants, 'the nonce, not a renewal, made the retry work');

    // Rotated: the answer bringing the new nonce is kept, and the proof after it carries the new one.
    const next = nonced.rotateNonce();
    await client.callTool({ name: 'whoami', arguments: {} });
    await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(nonced.requests.at(-1)!.proof?.nonce, next);
    // Retired: one 401 use_dpop_nonce, one retry.
    nonced.rotateNonce();
    nonced.rotateNonce();
    const count = nonced.requests.length;
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    assert.deepEqual(
      nonced.requests.slice(count).map((r) => r.outcome),
      ['use_dpop_nonce', 'ok'],
    );
  });

  it('steps up on a 403 DPoP insufficient_scope, and retries with the wider DPoP-bound token', async () => {
    const { env, auth, user } = await signedIn(dpop.url);
    const challenges: BearerChallenge[] = [];
    const { url } = route(auth, dpop.url, async (challenge) => {
      challenges.push(challenge);
      await auth.signIn(user, { challenge, extraScopes: challenge.scopes ?? [], stepUp: true });
      return true;
    });
    const seen = new RecordingFetch();
    const { client } = await connect(url, seen);
    const before = (await env.tokens.get(auth.tokenKey))!;
    assert.equal(text(await client.callTool({ name: 'admin_action', arguments: {} })), 'admin action done for alice');
    assert.equal(challenges.length, 1);
    assert.equal(challenges[0]!.error, 'insufficient_scope');
    assert.ok(challenges[0]!.dpop, 'the DPoP challenge, seen as one');
    assert.ok(challenges[0]!.scopes?.includes('mcp:write'), 'the challenge names mcp:write');
    const after = (await env.tokens.get(auth.tokenKey))!;
    assert.equal(after.tokenType, 'DPoP');
    assert.equal(after.dpopJkt, before.dpopJkt, 'the same key');
    assert.ok(!seen.statuses.includes(403), `the client saw ${seen.statuses.join(', ')}`);
  });

  it('renews a DPoP-bound token the server refuses (401 invalid_token) and retries with a proof for the new one', async () => {
    const { env, auth } = await signedIn(dpop.url);
    const stored = (await env.tokens.get(auth.tokenKey))!;
    // A token the server refuses but that is still ours to renew: the signature is broken.
    const broken = `${stored.accessToken.slice(0, -4)}AAAA`;
    await env.tokens.set(auth.tokenKey, { ...stored, accessToken: broken });
    const { url } = route(auth, dpop.url);
    const before = dpop.requests.length;
    const { client } = await connect(url);
    assert.match(text(await client.callTool({ name: 'whoami', arguments: {} })), /alice/);
    const upstream = dpop.requests.slice(before);
    assert.equal(upstream[0]!.outcome, 'invalid_token');
    assert.equal(upstream[1]!.outcome, 'ok');
    const renewed = (await env.tokens.get(auth.tokenKey))!;
    assert.notEqual(renewed.accessToken, broken);
    assert.equal(upstream[1]!.proof?.ath, accessTokenHash(renewed.accessToken), 'the proof is for the new token');
  });

  it('keeps Bearer routes Bearer: no proof, and a DPoP header the client sends is never forwarded', async () => {
    const { env, auth } = await signedIn(bearer.url);
    assert.equal((await env.tokens.get(auth.tokenKey))!.tokenType, 'Bearer');
    const upstream = await startRecordingUpstream();
    cleanups.push(() => upstream.close());
    const { url } = route(auth, upstream.url);
    const response = await rawRequest(gateway.port, {
      method: 'POST',
      path: new URL(url).pathname,
      body: TOOLS_LIST,
      headers: {
        ...gateway.requestHeaders,
        ...MCP_HEADERS,
        host: `127.0.0.1:${gateway.port}`,
        dpop: 'a-proof-the-client-made-up',
      },
    });
    assert.equal(response.status, 200);
    const [sent] = upstream.requests;
    assert.match(String(sent!.headers.authorization), /^Bearer /);
    assert.equal(sent!.headers.dpop, undefined);
  });

  it('forwards no DPoP header from the client, and returns no DPoP-Nonce to it', () => {
    const up = upstreamRequestHeaders({ dpop: 'made-up', 'mcp-session-id': 's', authorization: 'Bearer x' }, 'k');
    assert.deepEqual(up, { 'mcp-session-id': 's' });
    assert.deepEqual(clientResponseHeaders({ 'dpop-nonce': 'n', 'content-type': 'text/plain' }), {
      'content-type': 'text/plain',
    });
  });

  it('never sends a DPoP-bound token without its proof: no prover means sign-in required, and nothing upstream', async () => {
    const { auth } = await signedIn(dpop.url);
    const registration = gateway.register({
      id: `no-prover-${++nextId}`,
      upstreamUrl: dpop.url,
      tokens: tokenManagerSource(auth.tokenManager()), // no DPoP provers
    });
    cleanups.push(() => registration.dispose());
    const before = dpop.requests.length;
    const response = await rawRequest(gateway.port, {
      method: 'POST',
      path: new URL(registration.url).pathname,
      body: TOOLS_LIST,
      headers: { ...gateway.requestHeaders, ...MCP_HEADERS, host: `127.0.0.1:${gateway.port}` },
    });
    assert.equal(response.status, 200);
    assert.equal((JSON.parse(response.text) as { error: { code: number } }).error.code, SIGN_IN_REQUIRED);
    assert.equal(dpop.requests.length, before, 'the server never saw the token');
  });

  describe('against scripted upstreams', () => {
    let prover: DpopProver;
    before(async () => {
      prover = await DpopProver.load(await generateKey('ES256', Date.now()), Date.now);
    });

    /** A source handing out `token` bound to the test's key; `refresh` as the test says. */
    const bound = (token: string, refresh?: () => Promise<string>): GatewayTokenSource & { calls: string[] } =>
      staticTokens(token, {
        getAccessToken: async () => ({ accessToken: token, dpop: prover }),
        ...(refresh ? { refresh: async () => ({ accessToken: await refresh(), dpop: prover }) } : {}),
      });

    const post = (upstream: RecordingUpstream, tokens: GatewayTokenSource) => {
      const registration = gateway.register({ id: `scripted-${++nextId}`, upstreamUrl: upstream.url, tokens });
      cleanups.push(() => registration.dispose());
      return rawRequest(gateway.port, {
        method: 'POST',
        path: `${new URL(registration.url).pathname}?x=1`,
        body: TOOLS_LIST,
        headers: { ...gateway.requestHeaders, ...MCP_HEADERS, host: `127.0.0.1:${gateway.port}` },
      });
    };

    it('retries for a nonce once only: a server that keeps asking gets the token renewed, then a sign-in', async () => {
      let n = 0;
      const upstream = await startRecordingUpstream((_record, res) => {
        n++;
        res.writeHead(401, {
          'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce"',
          'dpop-nonce': `nonce-${n}`,
        });
        res.end();
      });
      cleanups.push(() => upstream.close());
      const tokens = bound('dpop-bound-token-1', async () => 'dpop-bound-token-2');
      const response = await post(upstream, tokens);
      assert.equal(response.status, 200);
      assert.equal((JSON.parse(response.text) as { error: { code: number } }).error.code, SIGN_IN_REQUIRED);
      const nonces = upstream.requests.map((r) => decodeJwt(String(r.headers.dpop)).nonce);
      assert.deepEqual(nonces, [undefined, 'nonce-1', 'nonce-2'], 'the nonce retry, then one with the renewed token');
      assert.deepEqual(
        upstream.requests.map((r) => String(r.headers.authorization)),
        ['DPoP dpop-bound-token-1', 'DPoP dpop-bound-token-1', 'DPoP dpop-bound-token-2'],
      );
      assert.deepEqual(
        upstream.requests.map((r) => r.body),
        [TOOLS_LIST, TOOLS_LIST, TOOLS_LIST],
        'the buffered body each time',
      );
      assert.deepEqual(tokens.calls, ['getAccessToken', 'refresh']);
    });

    it('makes each proof for the upstream URL without its query, and ignores a malformed nonce', async () => {
      const upstream = await startRecordingUpstream((_record, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'dpop-nonce': 'bad nonce "with" quotes' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: 3, result: { tools: [] } }));
      });
      cleanups.push(() => upstream.close());
      await post(upstream, bound('dpop-bound-token-3'));
      await post(upstream, bound('dpop-bound-token-3'));
      const claims = upstream.requests.map((r) => decodeJwt(String(r.headers.dpop)));
      assert.equal(upstream.requests[0]!.url, '/mcp?x=1');
      assert.equal(claims[0]!.htu, upstream.url, 'no query in htu');
      assert.equal(claims[0]!.htm, 'POST');
      assert.equal(claims[1]!.nonce, undefined, 'the malformed nonce was not kept');
    });

    it('clears the proofs and the token from an error answer that echoes them', async () => {
      const upstream = await startRecordingUpstream((record, res) => {
        const echo = `you sent ${String(record.headers.authorization)} with ${String(record.headers.dpop)}`;
        res.writeHead(400, { 'content-type': 'text/plain', 'x-echo': String(record.headers.dpop) });
        res.end(echo);
      });
      cleanups.push(() => upstream.close());
      const response = await post(upstream, bound('dpop-bound-token-secret-4'));
      const proof = String(upstream.requests[0]!.headers.dpop);
      assert.equal(response.status, 400);
      assert.ok(!response.text.includes('dpop-bound-token-secret-4'), response.text);
      assert.ok(!response.text.includes(proof), 'the proof is not repeated');
      assert.ok(!String(response.headers['x-echo']).includes(proof), 'not in the headers either');
      for (const line of logger.lines)
        assert.ok(!line.includes(proof) && !line.includes('dpop-bound-token-secret-4'), `a secret in the log: ${line}`);
    });
  });
});
