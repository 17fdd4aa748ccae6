// The DPoP peers: oidc-provider issuing DPoP-bound tokens, and an MCP server that verifies every proof (RFC 9449).
import assert from 'node:assert/strict';
import { decodeJwt, exportJWK, SignJWT, type JWTHeaderParameters } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startAuthServer, type AuthServer } from '../fixtures/authServer';
import { startDpopMcpServer, type DpopMcpServer } from '../fixtures/dpopMcpServer';
import { generateDpopKey, signDpopProof, type DpopKey, type ProofTampering } from '../fixtures/dpopProofs';
import { startSplitDomainServer } from '../fixtures/mcpServers';
import { dpopTokenRequest, fetchMetadata, signIn } from '../fixtures/signIn';
import { PUBLIC_CLIENT } from '../fixtures/testClients';

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fixture-test', version: '1' } },
});

/** The scheme and auth-params of a `WWW-Authenticate` header with one challenge. */
function challengeOf(response: Response): { scheme: string; params: Record<string, string> } {
  const header = response.headers.get('www-authenticate') ?? '';
  const scheme = header.split(' ', 1)[0]!;
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key!, value!]));
  return { scheme, params };
}

const form = (params: Record<string, string>) => new URLSearchParams(params);

/** Auth code + PKCE as the static public client, with a proof of `dpop` at the token endpoint when given. */
const signInTo = (as: AuthServer, dpop?: DpopKey, resource = 'http://127.0.0.1:65000/mcp', scope = 'mcp:read') =>
  signIn({ metadataUrl: as.metadataUrl, clientId: PUBLIC_CLIENT.client_id, resource, scope, dpop });

describe('DPoP test peers', function () {
  describe('authorization server', function () {
    let key: DpopKey;
    before(async function () {
      key = await generateDpopKey();
    });

    it('advertises DPoP by default and still issues Bearer tokens to requests without a proof', async function () {
      const as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
      try {
        const metadata = (await fetchMetadata(as.metadataUrl)) as unknown as Record<string, unknown>;
        assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'Ed25519', 'EdDSA']);
        const bearer = await signInTo(as);
        assert.equal(bearer.token_type, 'Bearer');
        assert.equal(decodeJwt(bearer.access_token).cnf, undefined);
        const bound = await signInTo(as, key);
        assert.equal(bound.token_type, 'DPoP');
        assert.deepEqual(decodeJwt(bound.access_token).cnf, { jkt: key.jkt });
        assert.deepEqual(
          as.grants.map(({ dpop, tokenType }) => ({ dpop, tokenType })),
          [
            { dpop: undefined, tokenType: 'Bearer' },
            { dpop: true, tokenType: 'DPoP' },
          ],
        );
      } finally {
        await as.close();
      }
    });

    describe('with nonces and bound tokens required', function () {
      let as: AuthServer;
      before(async function () {
        as = await startAuthServer({ clients: [PUBLIC_CLIENT], dpop: { nonce: true, requireBoundTokens: true } });
      });
      after(() => as.close());
      const token = () => `${as.issuer}/token`;

      it('asks for its nonce first (400 use_dpop_nonce with DPoP-Nonce), then issues DPoP-bound tokens', async function () {
        const tokens = await signInTo(as, key);
        assert.equal(tokens.token_type, 'DPoP');
        assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt: key.jkt });
        assert.deepEqual(
          as.grants.slice(-2).map((g) => g.error ?? g.tokenType),
          ['use_dpop_nonce', 'DPoP'],
        );
        const first = await fetch(token(), {
          method: 'POST',
          headers: { dpop: await signDpopProof(key, { htm: 'POST', htu: token() }) },
          body: form({ grant_type: 'refresh_token', client_id: 'static-public', refresh_token: tokens.refresh_token! }),
        });
        assert.equal(first.status, 400);
        assert.equal(((await first.json()) as { error: string }).error, 'use_dpop_nonce');
        assert.ok(first.headers.get('dpop-nonce'));
      });

      it('refuses token requests without a proof', async function () {
        await assert.rejects(signInTo(as), /invalid_grant/);
      });

      it('keeps a public client refresh token bound to its key', async function () {
        const tokens = await signInTo(as, key);
        const refresh = (dpop: DpopKey) =>
          dpopTokenRequest(
            token(),
            form({ grant_type: 'refresh_token', client_id: 'static-public', refresh_token: tokens.refresh_token! }),
            dpop,
          );
        const otherKey = await refresh(await generateDpopKey());
        assert.equal(otherKey.status, 400);
        assert.equal(((await otherKey.json()) as { error: string }).error, 'invalid_grant');
        const sameKey = await refresh(key);
        const refreshed = (await sameKey.json()) as { token_type: string; access_token: string };
        assert.equal(sameKey.status, 200, JSON.stringify(refreshed));
        assert.equal(refreshed.token_type, 'DPoP');
        assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { jkt: key.jkt });
      });

      it('refuses a proof made for another URL (invalid_dpop_proof)', async function () {
        const elsewhere = await fetch(token(), {
          method: 'POST',
          headers: { dpop: await signDpopProof(key, { htm: 'POST', htu: `${as.issuer}/elsewhere` }) },
          body: form({ grant_type: 'refresh_token', client_id: 'static-public', refresh_token: 'x' }),
        });
        assert.equal(((await elsewhere.json()) as { error: string }).error, 'invalid_dpop_proof');
      });
    });
  });

  describe('MCP server that requires DPoP', function () {
    let as: AuthServer;
    let server: DpopMcpServer;
    let key: DpopKey;
    let token: string;

    before(async function () {
      as = await startAuthServer({ clients: [PUBLIC_CLIENT] });
      server = await startDpopMcpServer({ as });
      key = await generateDpopKey();
      token = (await signInTo(as, key, server.url)).access_token;
    });
    after(async function () {
      await server.close();
      await as.close();
    });

    /** POSTs `body` with the given Authorization and DPoP headers (each proof its own header). */
    const post = (authorization: string | undefined, proofs: string[], body = INITIALIZE, url = server.url) => {
      const headers = new Headers(MCP_HEADERS);
      if (authorization) headers.set('authorization', authorization);
      for (const proof of proofs) headers.append('dpop', proof);
      return fetch(url, { method: 'POST', headers, body });
    };
    const proof = (tamper?: ProofTampering, signer = key, accessToken = token) =>
      signDpopProof(signer, { htm: 'POST', htu: server.url, accessToken }, tamper);

    /** A fetch that sends the token with a fresh proof, as a DPoP client would. */
    const dpopFetch =
      (accessToken: string, signer: DpopKey) =>
      async (url: string | URL, init?: RequestInit): Promise<Response> => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `DPoP ${accessToken}`);
        const htm = init?.method ?? 'GET';
        headers.set('dpop', await signDpopProof(signer, { htm, htu: String(url), accessToken }));
        return fetch(url, { ...init, headers });
      };

    it('publishes RFC 9728 metadata that requires DPoP, and challenges with the DPoP scheme', async function () {
      const unauthenticated = await post(undefined, []);
      assert.equal(unauthenticated.status, 401);
      assert.equal(server.requests.at(-1)!.outcome, 'no_credentials');
      const { scheme, params } = challengeOf(unauthenticated);
      assert.equal(scheme, 'DPoP');
      assert.deepEqual(params, {
        scope: 'mcp:read',
        algs: 'ES256 ES384 PS256 EdDSA',
        resource_metadata: `${server.origin}/.well-known/oauth-protected-resource/mcp`,
      });
      const metadata = (await (await fetch(params.resource_metadata!)).json()) as Record<string, unknown>;
      assert.equal(metadata.resource, server.url);
      assert.deepEqual(metadata.authorization_servers, [as.issuer]);
      assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'PS256', 'EdDSA']);
      assert.equal(metadata.dpop_bound_access_tokens_required, true);
    });

    it('serves an SDK client whose every request (POST, GET stream, DELETE) carries a fresh proof', async function () {
      const before = server.requests.length;
      const transport = new StreamableHTTPClientTransport(new URL(server.url), { fetch: dpopFetch(token, key) });
      const client = new Client({ name: 'fixture-test', version: '1.0.0' });
      await client.connect(transport);
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      assert.deepEqual(tools.sort(), ['admin_action', 'whoami']);
      const whoami = await client.callTool({ name: 'whoami' });
      assert.deepEqual(JSON.parse((whoami.content as { text: string }[])[0]!.text), {
        sub: 'alice',
        scopes: ['mcp:read'],
        clientId: 'static-public',
      });
      await transport.terminateSession();
      await client.close();

      const seen = server.requests.slice(before);
      assert.deepEqual([...new Set(seen.map((r) => r.method))].sort(), ['DELETE', 'GET', 'POST']);
      for (const request of seen) {
        assert.equal(request.outcome, 'ok', `${request.method}: ${request.detail}`);
        assert.equal(request.scheme, 'DPoP');
        assert.equal(request.proof?.htm, request.method);
        assert.equal(request.proof?.htu, server.url);
      }
      assert.equal(new Set(seen.map((r) => r.proof?.jti)).size, seen.length);
    });

    it('refuses a DPoP-bound token sent as Bearer, and tokens that are not DPoP-bound', async function () {
      const asBearer = await post(`Bearer ${token}`, []);
      assert.equal(asBearer.status, 401);
      assert.deepEqual(
        challengeOf(asBearer).params.error_description,
        'DPoP-bound access token presented as a Bearer token',
      );
      assert.equal(challengeOf(asBearer).scheme, 'DPoP');

      const unbound = (await signInTo(as, undefined, server.url)).access_token;
      const unboundBearer = await post(`Bearer ${unbound}`, []);
      assert.equal(challengeOf(unboundBearer).params.error, 'invalid_token');
      assert.equal(challengeOf(unboundBearer).params.error_description, 'DPoP-bound access token required');
      const unboundDpop = await post(`DPoP ${unbound}`, [await proof(undefined, key, unbound)]);
      assert.equal(unboundDpop.status, 401);
      assert.equal(challengeOf(unboundDpop).params.error_description, 'access token is not DPoP-bound');
    });

    it('accepts a proof whose htu carries a query or fragment, or is spelled unnormalised', async function () {
      const url = new URL(server.url);
      for (const htu of [`${server.url}?x=1#frag`, `HTTP://${url.host}${url.pathname}`]) {
        const response = await post(`DPoP ${token}`, [await proof({ payload: { htu } })]);
        assert.equal(response.status, 200, htu);
        await response.body?.cancel();
      }
    });

    it('refuses each broken proof with 401 invalid_dpop_proof', async function () {
      const other = await generateDpopKey();
      const url = new URL(server.url);
      const now = Math.floor(Date.now() / 1000);
      const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const unsigned = `${base64url({ typ: 'dpop+jwt', alg: 'none', jwk: key.publicJwk })}.${base64url({
        jti: 'x',
        htm: 'POST',
        htu: server.url,
        iat: now,
      })}.`;
      const secret = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
      const hmac = await new SignJWT({ jti: 'h', htm: 'POST', htu: server.url, iat: now })
        .setProtectedHeader({
          typ: 'dpop+jwt',
          alg: 'HS256',
          jwk: { kty: 'oct', k: Buffer.from(secret).toString('base64url') },
        } as JWTHeaderParameters)
        .sign(secret);
      const replayed = await proof();
      assert.equal((await post(`DPoP ${token}`, [replayed])).status, 200);

      const cases: [string, string[], RegExp][] = [
        ['no proof', [], /DPoP proof missing/],
        ['two proofs', [await proof(), await proof()], /more than one DPoP header/],
        ['not a JWS', ['not.a-jws'], /not a JWS/],
        ['typ JWT', [await proof({ header: { typ: 'JWT' } })], /typ must be dpop\+jwt/],
        ['alg none', [unsigned], /alg none not accepted/],
        ['alg HS256', [hmac], /alg HS256 not accepted/],
        ['alg ES512', [await proof(undefined, await generateDpopKey('ES512'))], /alg ES512 not accepted/],
        ['private jwk', [await proof({ header: { jwk: await exportJWK(key.privateKey) } })], /must be a public key/],
        ['jwk of another key', [await proof({ header: { jwk: other.publicJwk } })], /signature or claims invalid/],
        ['no jti', [await proof({ payload: { jti: undefined } })], /no jti/],
        ['no htm', [await proof({ payload: { htm: undefined } })], /no htm/],
        ['no htu', [await proof({ payload: { htu: undefined } })], /no htu/],
        ['no iat', [await proof({ payload: { iat: undefined } })], /no iat/],
        ['htm GET', [await proof({ payload: { htm: 'GET' } })], /htm GET does not match POST/],
        ['htu other path', [await proof({ payload: { htu: `${server.origin}/other` } })], /htu .* does not match/],
        ['htu localhost', [await proof({ payload: { htu: `http://localhost:${url.port}/mcp` } })], /htu/],
        ['iat 6 minutes old', [await proof({ payload: { iat: now - 360 } })], /iat is outside/],
        ['iat 6 minutes ahead', [await proof({ payload: { iat: now + 360 } })], /iat is outside/],
        ['no ath', [await proof({ payload: { ath: undefined } })], /ath does not match/],
        ['ath of another token', [await proof(undefined, key, 'another-token')], /ath does not match/],
        ['replayed jti', [replayed], /jti was used before/],
        ['key not bound to the token', [await proof(undefined, other)], /does not match cnf\.jkt/],
      ];
      for (const [name, proofs, detail] of cases) {
        const response = await post(`DPoP ${token}`, proofs);
        assert.equal(response.status, 401, name);
        const { scheme, params } = challengeOf(response);
        assert.equal(scheme, 'DPoP', name);
        assert.equal(params.error, 'invalid_dpop_proof', name);
        assert.match(params.error_description!, detail, name);
        assert.equal(params.algs, 'ES256 ES384 PS256 EdDSA', name);
        assert.equal(server.requests.at(-1)!.outcome, 'invalid_dpop_proof', name);
      }
    });

    it('refuses a bound token for another resource (401 invalid_token)', async function () {
      const elsewhere = (await signInTo(as, key, 'http://127.0.0.1:65000/mcp')).access_token;
      const response = await post(`DPoP ${elsewhere}`, [await proof(undefined, key, elsewhere)]);
      assert.equal(response.status, 401);
      assert.equal(challengeOf(response).params.error, 'invalid_token');
      assert.match(challengeOf(response).params.error_description!, /aud/);
    });

    it('answers 403 insufficient_scope in the DPoP scheme', async function () {
      const call = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'admin_action' } });
      const response = await post(`DPoP ${token}`, [await proof()], call);
      assert.equal(response.status, 403);
      assert.equal(server.requests.at(-1)!.outcome, 'ok', 'the DPoP check passed; the tool scope check refused');
      assert.deepEqual(challengeOf(response), {
        scheme: 'DPoP',
        params: {
          error: 'insufficient_scope',
          scope: 'mcp:read mcp:write',
          algs: 'ES256 ES384 PS256 EdDSA',
          resource_metadata: `${server.origin}/.well-known/oauth-protected-resource/mcp`,
        },
      });
      const writeOnly = (await signInTo(as, key, server.url, 'mcp:write')).access_token;
      const noBase = await post(`DPoP ${writeOnly}`, [await proof(undefined, key, writeOnly)]);
      assert.equal(noBase.status, 403);
      assert.equal(server.requests.at(-1)!.outcome, 'insufficient_scope');
      assert.equal(challengeOf(noBase).params.scope, 'mcp:read');
    });

    it('requires its nonce when asked to (401 use_dpop_nonce), and rotates it', async function () {
      const nonced = await startDpopMcpServer({ as, nonce: true });
      try {
        const bound = (await signInTo(as, key, nonced.url)).access_token;
        const send = async (nonce?: string) =>
          post(
            `DPoP ${bound}`,
            [await signDpopProof(key, { htm: 'POST', htu: nonced.url, accessToken: bound, nonce })],
            TOOLS_LIST,
            nonced.url,
          );

        const first = await send();
        assert.equal(first.status, 401);
        assert.deepEqual(challengeOf(first).params.error, 'use_dpop_nonce');
        assert.equal(challengeOf(first).params.error_description, 'Resource server requires nonce in DPoP proof');
        const nonce = first.headers.get('dpop-nonce')!;
        assert.equal(nonce, nonced.nonce);
        assert.equal((await send('made-up')).status, 401);

        const accepted = await send(nonce);
        assert.equal(accepted.status, 400, 'past the guard: the MCP layer wants a session');
        assert.equal(accepted.headers.get('dpop-nonce'), null);

        const next = nonced.rotateNonce();
        const stale = await send(nonce);
        assert.equal(stale.status, 400, 'the previous nonce is still good once rotated');
        assert.equal(stale.headers.get('dpop-nonce'), next);
        nonced.rotateNonce();
        const retired = await send(nonce);
        assert.equal(retired.status, 401);
        assert.equal(retired.headers.get('dpop-nonce'), nonced.nonce);
        assert.deepEqual(
          nonced.requests.map((r) => r.outcome),
          ['use_dpop_nonce', 'use_dpop_nonce', 'ok', 'ok', 'use_dpop_nonce'],
        );
        assert.deepEqual(
          nonced.requests.map((r) => r.proof?.nonce),
          [undefined, 'made-up', nonce, nonce, nonce],
        );
      } finally {
        await nonced.close();
      }
    });

    it('judges iat by its own clock and window', async function () {
      const sixMinutesAgo = Date.now() - 6 * 60_000;
      const lagging = await startDpopMcpServer({ as, now: () => sixMinutesAgo, iatWindowSeconds: 60 });
      try {
        const bound = (await signInTo(as, key, lagging.url)).access_token;
        const sendAt = async (iat: number) =>
          post(
            `DPoP ${bound}`,
            [await signDpopProof(key, { htm: 'POST', htu: lagging.url, accessToken: bound }, { payload: { iat } })],
            INITIALIZE,
            lagging.url,
          );
        assert.equal((await sendAt(Math.floor(Date.now() / 1000))).status, 401);
        const onItsClock = await sendAt(Math.floor(sixMinutesAgo / 1000) + 30);
        assert.equal(onItsClock.status, 200);
        await onItsClock.body?.cancel();
        assert.equal((await sendAt(Math.floor(sixMinutesAgo / 1000) - 90)).status, 401);
      } finally {
        await lagging.close();
      }
    });

    it('runs next to a Bearer-only server of the same AS', async function () {
      const plain = await startSplitDomainServer({ as });
      try {
        const bearer = (await signInTo(as, undefined, plain.url)).access_token;
        const client = new Client({ name: 'fixture-test', version: '1.0.0' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(plain.url), {
            requestInit: { headers: { authorization: `Bearer ${bearer}` } },
          }),
        );
        assert.equal((await client.listTools()).tools.length, 2);
        await client.close();
        const prm = (await (await fetch(plain.resourceMetadataUrl!)).json()) as Record<string, unknown>;
        assert.equal(prm.dpop_bound_access_tokens_required, undefined);
        assert.equal(prm.dpop_signing_alg_values_supported, undefined);

        const bound = (await signInTo(as, key, server.url)).access_token;
        const dpopClient = new Client({ name: 'fixture-test', version: '1.0.0' });
        await dpopClient.connect(
          new StreamableHTTPClientTransport(new URL(server.url), { fetch: dpopFetch(bound, key) }),
        );
        assert.equal((await dpopClient.listTools()).tools.length, 2);
        await dpopClient.close();
      } finally {
        await plain.close();
      }
    });
  });
});
